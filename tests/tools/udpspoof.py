#!/usr/bin/env python3
"""udpspoof.py - answers every datagram it receives with the right bytes from
the wrong place: the forged "ok" that a UDP health check must not take.

Listens on LISTEN (addr:port, e.g. the node's address and the service port,
so the checker's probes reach it) and answers each datagram with REPLY_HEX,
once from every --from addr:port (a socket bound there: another port of the
node's address, or another address of the host), never from LISTEN itself.
Appends one line per datagram to --log: "T_MS SRC_ADDR SRC_PORT SENT" (SENT:
how many forged replies went out).  Runs until killed.

usage: udpspoof.py --listen ADDR:PORT --reply-hex HEX --from ADDR:PORT
                   [--from ADDR:PORT ...] --log FILE
"""
import argparse
import socket
import time


def addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--reply-hex", required=True)
    ap.add_argument("--from", dest="froms", type=addr, action="append", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    reply = bytes.fromhex(a.reply_hex.replace(" ", ""))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(a.listen)
    senders = []
    for f in a.froms:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(f)
        senders.append(s)
    with open(a.log, "a", buffering=1) as log:
        while True:
            data, src = rx.recvfrom(65536)
            sent = 0
            for s in senders:
                try:
                    s.sendto(reply, src)
                    sent += 1
                except OSError:
                    pass
            log.write("%d %s %d %d\n" % (time.time() * 1000, src[0], src[1], sent))


if __name__ == "__main__":
    main()
