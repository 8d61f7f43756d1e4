#!/usr/bin/env python3
"""ho_chan.py - record, replay and forge tandem-nasd handoff traffic
(t_nasd_handoff_edge: forged and replayed handoff messages).

  sniff --dev DEV --out FILE --stop FILE
        AF_PACKET capture (run it in a node's namespace on eth0, before its
        nasd starts, to see the channels from their first byte): every IPv4
        TCP segment from/to port 7407 and UDP datagram to port 7406, as JSON
        lines {p, src, sp, dst, dp, seq, syn, data(hex)}, until FILE exists.
  replay-chan --cap FILE --to ADDR [--from ADDR] [--flip N]
        Reassemble the byte stream of the longest recorded connection to
        ADDR:7407 (a peer's channel, HELLO first) and send it on a NEW
        connection from --from (the same node's address); --flip N inverts
        byte N first (a forged frame).  Prints JSON {sent, got, closed}:
        closed = the peer closed the connection within 3 s.
  forge --to ADDR --from ADDR --name NODE --keyfile F [--bad-key] [--case C]
        Speak the channel protocol: HELLO as NODE (under a wrong key with
        --bad-key), then case "badmac" (a FAIL frame whose MAC is wrong) or
        "replay" (a valid FAIL frame, seq 2, sent twice).  Prints {closed,
        hello_answered, ...}.
  replay-udp --cap FILE --to ADDR --from ADDR [--op 2]
        Send again, from --from, every recorded datagram to ADDR:7406 with
        report operation --op (2 = redirect); prints {sent, answers}.
"""
import argparse
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

CHAN = 7407
REPORT = 7406


def sniff(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((a.dev, 0))
    s.settimeout(0.2)
    out = open(a.out, "w", buffering=1)
    while not os.path.exists(a.stop):
        try:
            pkt = s.recv(262144)
        except socket.timeout:
            continue
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        proto = ip[9]
        tot = struct.unpack("!H", ip[2:4])[0]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        l4 = ip[ihl:tot if tot else len(ip)]
        if proto == 6 and len(l4) >= 20:
            sp, dp, seq = struct.unpack("!HHI", l4[:8])
            if CHAN not in (sp, dp):
                continue
            doff = (l4[12] >> 4) * 4
            out.write(json.dumps({"p": "tcp", "src": src, "sp": sp, "dst": dst, "dp": dp, "seq": seq,
                                  "syn": bool(l4[13] & 2), "data": l4[doff:].hex()}) + "\n")
        elif proto == 17 and len(l4) >= 8:
            sp, dp = struct.unpack("!HH", l4[:4])
            if dp != REPORT:
                continue
            out.write(json.dumps({"p": "udp", "src": src, "sp": sp, "dst": dst, "dp": dp,
                                  "data": l4[8:].hex()}) + "\n")


def load(cap):
    return [json.loads(l) for l in open(cap) if l.strip()]


def stream_of(recs, to):
    conns = {}
    for r in recs:
        if r["p"] != "tcp" or r["dst"] != to or r["dp"] != CHAN:
            continue
        c = conns.setdefault((r["src"], r["sp"]), {"isn": None, "seg": {}})
        if r["syn"]:
            c["isn"] = (r["seq"] + 1) & 0xffffffff
        elif r["data"]:
            c["seg"][r["seq"]] = bytes.fromhex(r["data"])
    best = b""
    for c in conns.values():
        if c["isn"] is None:
            continue  # not seen from its first byte
        data = bytearray()
        nxt = c["isn"]
        while True:
            # the segment covering nxt (retransmissions may start earlier)
            hit = None
            for sq, d in c["seg"].items():
                o = (nxt - sq) & 0xffffffff
                if o < len(d):
                    hit = d[o:]
                    break
            if hit is None:
                break
            data += hit
            nxt = (nxt + len(hit)) & 0xffffffff
        if len(data) > len(best):
            best = bytes(data)
    return best


def frames(b):
    out = []
    while len(b) >= 24:
        n = struct.unpack("!I", b[:4])[0]
        out.append(b[4 + 3])
        b = b[4 + n:]
    return out


def connect(to, frm):
    s = socket.socket()
    if frm:
        s.bind((frm, 0))
    s.settimeout(3)
    s.connect((to, CHAN))
    return s


def drain(s, secs=3.0):
    """Read until the peer closes (True) or secs pass (False)."""
    got = b""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return True, got
        if not c:
            return True, got
        got += c
    return False, got


def replay_chan(a):
    data = stream_of(load(a.cap), a.to)
    if not data:
        print(json.dumps({"error": "no recorded channel to %s from its first byte" % a.to}))
        return 1
    types = frames(data)
    if a.flip is not None:
        data = bytearray(data)
        data[a.flip] ^= 0xff
        data = bytes(data)
    s = connect(a.to, a.frm)
    try:
        s.sendall(data)
    except OSError:
        pass
    closed, got = drain(s)
    print(json.dumps({"sent": len(data), "frame_types": types, "got": len(got), "closed": closed}))
    return 0


def seal(key, ftype, txid, seq, body=b""):
    hdr = struct.pack("!HBBIQI", 0x5448, 1, ftype, txid, seq, len(body))
    mac = hmac.new(key, hdr + body, hashlib.sha256).digest()
    return struct.pack("!I", len(hdr) + len(body) + 32) + hdr + body + mac


def tlv(t, v):
    return struct.pack("!HH", t, len(v)) + v


def forge(a):
    key = bytes.fromhex(open(a.keyfile).read().strip())
    if a.bad_key:
        key = hashlib.sha256(b"not the key" + key).digest()
    nonce = os.urandom(16)
    s = connect(a.to, a.frm)
    s.sendall(seal(key, 1, 0, 1, tlv(1, a.name.encode()) + tlv(2, nonce)))
    res = {"case": a.case, "bad_key": a.bad_key}
    # the peer's HELLO
    buf = b""
    s.settimeout(3)
    try:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack("!I", buf[:4])[0]:
            c = s.recv(65536)
            if not c:
                break
            buf += c
    except (socket.timeout, ConnectionResetError):
        pass
    res["hello_answered"] = len(buf) >= 24 and buf[7] == 1
    if not res["hello_answered"]:
        closed, _ = drain(s, 3)
        res["closed"] = closed or len(buf) == 0
        print(json.dumps(res))
        return 0
    body = buf[24:4 + struct.unpack("!I", buf[:4])[0] - 32]
    peer_nonce = None
    while body:
        t, l = struct.unpack("!HH", body[:4])
        if t == 2:
            peer_nonce = body[4:4 + l]
        body = body[4 + l:]
    ck = hmac.new(key, b"tandem-ho" + nonce + peer_nonce, hashlib.sha256).digest()
    fail = tlv(6, struct.pack("!H", 1) + b"forged")
    if a.case == "badmac":
        f = bytearray(seal(ck, 8, 4242, 2, fail))
        f[-1] ^= 0xff
        s.sendall(bytes(f))
    else:  # replay: the same valid frame twice
        f = seal(ck, 8, 4242, 2, fail)
        s.sendall(f)
        time.sleep(0.2)
        closed, _ = drain(s, 0.3)
        res["open_after_first"] = not closed
        s.sendall(f)
    closed, _ = drain(s, 3)
    res["closed"] = closed
    print(json.dumps(res))
    return 0


def replay_udp(a):
    recs = [r for r in load(a.cap) if r["p"] == "udp" and r["dst"] == a.to and r["dp"] == REPORT
            and (bytes.fromhex(r["data"])[0] & 15) == a.op]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.frm, 0))
    s.settimeout(1)
    answers = 0
    for r in recs:
        s.sendto(bytes.fromhex(r["data"]), (a.to, REPORT))
        try:
            s.recv(2048)
            answers += 1
        except socket.timeout:
            pass
    print(json.dumps({"sent": len(recs), "answers": answers}))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["sniff", "replay-chan", "forge", "replay-udp"])
    p.add_argument("--dev", default="eth0")
    p.add_argument("--out")
    p.add_argument("--stop")
    p.add_argument("--cap")
    p.add_argument("--to")
    p.add_argument("--from", dest="frm")
    p.add_argument("--flip", type=int)
    p.add_argument("--name", default="n1")
    p.add_argument("--keyfile")
    p.add_argument("--bad-key", action="store_true")
    p.add_argument("--case", default="badmac")
    p.add_argument("--op", type=int, default=2)
    a = p.parse_args()
    if a.cmd == "sniff":
        sniff(a)
        return 0
    return {"replay-chan": replay_chan, "forge": forge, "replay-udp": replay_udp}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
