#!/usr/bin/env python3
"""udpsession.py - one UDP session through the VIP: a steady stream of DNS
queries from ONE socket (one source port: one flow in the switch's table),
each answered by whichever node the flow goes to.

Every query asks node.tandem.test TXT (the lab's dnsmasq answers with its
node's name, tests/integration/lib_dns.sh) with the DNS id = its sequence
number 1..N, sent at a fixed rate.  The socket is connect()ed to
SERVER:PORT, so only answers from there count.  An answer arriving later
than --late-ms after its query still counts (it was not lost), and is
listed as late.

Writes:
  --ready FILE  "LOCAL_PORT NODE" once the first answer is in;
  --log FILE    one line per query at the end: "ID SENT_MS ANSWER_MS NODE"
                (wall-clock ms; "-" "-" for a query never answered);
  stdout        one JSON object: {"sent", "answered", "lost", "late",
                "nodes": {NODE: answers}, "port", "max_gap_ms"} (max_gap_ms:
                the longest time without an answer while queries went out).

usage: udpsession.py --server ADDR [--port 53] [--rate 50] [--secs 20]
                     [--late-ms 1000] --ready FILE --log FILE
"""
import argparse
import json
import select
import socket
import struct
import time

QNAME = b"\x04node\x06tandem\x04test\x00"


def query(qid):
    # id, flags RD, 1 question; node.tandem.test TXT IN
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + QNAME + struct.pack(">HH", 16, 1)


def skip_name(b, i):
    while i < len(b):
        n = b[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n
    raise ValueError("name runs off the end")


def answer(b):
    """(id, first TXT string) of a reply; ValueError if it has none."""
    if len(b) < 12:
        raise ValueError("short")
    qid, flags, qd, an = struct.unpack(">HHHH", b[:8])
    if not flags & 0x8000 or qd != 1 or an < 1:
        raise ValueError("no answer")
    i = skip_name(b, 12) + 4
    i = skip_name(b, i)
    rtype, _, _, rdlen = struct.unpack(">HHIH", b[i:i + 10])
    rd = b[i + 10:i + 10 + rdlen]
    if rtype != 16 or not rd or rd[0] + 1 > len(rd):
        raise ValueError("not TXT")
    return qid, rd[1:1 + rd[0]].decode("ascii", "replace")


def now_ms():
    return time.time() * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--secs", type=float, default=20)
    ap.add_argument("--late-ms", type=float, default=1000)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET6 if ":" in a.server else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.server, a.port))
    s.setblocking(False)
    port = s.getsockname()[1]
    total = int(a.rate * a.secs)
    sent_at, got = {}, {}
    t0 = time.monotonic()
    seq, last_answer, max_gap, ready = 0, None, 0.0, False
    end = None
    while True:
        mono = time.monotonic()
        if seq < total and mono >= t0 + seq / a.rate:
            seq += 1
            sent_at[seq] = now_ms()
            try:
                s.send(query(seq))
            except OSError:
                pass	# e.g. ECONNREFUSED from an ICMP error: the query is lost
            continue
        if seq >= total and end is None:
            end = mono + a.late_ms / 1000.0 + 1.0
        if end is not None and (mono >= end or len(got) == total):
            break
        wait = (t0 + seq / a.rate - mono) if seq < total else (end - mono)
        r, _, _ = select.select([s], [], [], max(0.0, min(wait, 0.05)))
        if not r:
            continue
        try:
            b = s.recv(4096)
            qid, node = answer(b)
        except (OSError, ValueError):
            continue
        if qid not in sent_at or qid in got:
            continue
        t = now_ms()
        got[qid] = (t, node)
        if last_answer is not None:
            max_gap = max(max_gap, t - last_answer)
        last_answer = t
        if not ready:
            with open(a.ready, "w") as f:
                f.write("%d %s\n" % (port, node))
            ready = True

    nodes, late = {}, 0
    with open(a.log, "w") as f:
        for qid in range(1, seq + 1):
            if qid in got:
                t, node = got[qid]
                nodes[node] = nodes.get(node, 0) + 1
                late += t - sent_at[qid] > a.late_ms
                f.write("%d %d %d %s\n" % (qid, sent_at[qid], t, node))
            else:
                f.write("%d %d - -\n" % (qid, sent_at[qid]))
    print(json.dumps({"sent": seq, "answered": len(got), "lost": seq - len(got), "late": late,
                      "nodes": nodes, "port": port, "max_gap_ms": round(max_gap)}))


if __name__ == "__main__":
    main()
