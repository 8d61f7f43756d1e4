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
  forge --to ADDR --from ADDR --name NODE --keyfile F [--peer NODE] [--bad-key] [--case C]
        Speak the channel protocol (version 2) as NODE to node --peer at ADDR
        (default: nX for 10.77.2.1X): HELLO under the pair key (from F, the
        master key or NODE's key file; a wrong key with --bad-key), the key
        confirmation, then case "badmac" (a FAIL frame whose MAC is wrong) or
        "replay" (a valid FAIL frame, seq 3, sent twice).  Prints {closed,
        hello_answered, ...}.
  replay-udp --cap FILE --to ADDR --from ADDR [--op 2]
        Send again, from --from, every recorded datagram to ADDR:7406 with
        report operation --op (2 = redirect); prints {sent, answers,
        statuses} (statuses: the answers' status bytes, unauthenticated).
  flood --to ADDR --from ADDR --count N [--announce BYTES] [--send BYTES] [--wait S]
        Open N channel connections from --from; on each announce a frame of
        BYTES (a u32 length; none: 0) and send up to --send bytes of it (as
        long as the node reads).  Prints {count, connected, closed, sent}:
        closed = how many the node closed within S (1.5) seconds of the
        last connect; then keeps the open ones open --hold seconds (0).
  idle --to ADDR --from ADDR [--secs S]
        Connect and send nothing; prints {closed, after} (seconds until the
        node closed it, at most S).
  forge-move --to ADDR --keyfile F --name NODE --flow CLIENT:PORT,VIP:PORT --target NODE
        A MOVE (the switch's request, sender 0) for that flow to --target,
        sealed with NODE's own key from F (a node key file): a node
        speaking as the switch.  Prints {answers, statuses}.
  forge-map --to ADDR --keyfile F --name NODE
        A cluster map sealed with NODE's own key from F, sent to ADDR:7406:
        a node speaking as the switch.  Prints {answers}.
  forge-states --to ADDR --keyfile F --name NODE --target NODE2
        Node states (lib/cluster_wire.h NODES) saying NODE2 drains, sealed
        with NODE's own key from F, sent to ADDR:7406: a node speaking as
        the switch to stop the others' moves to NODE2.  Prints {answers}.
"""
import argparse
import hashlib
import hmac
import ipaddress
import json
import os
import select
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
    hdr = struct.pack("!HBBIQI", 0x5448, 2, ftype, txid, seq, len(body))
    mac = hmac.new(key, hdr + body, hashlib.sha256).digest()
    return struct.pack("!I", len(hdr) + len(body) + 32) + hdr + body + mac


def tlv(t, v):
    return struct.pack("!HH", t, len(v)) + v


def read_keys(path, name):
    """(node key, {peer: pair key}, master or None) of node name from a key
    file: the master key (one hex line: everything derived) or a node key
    file (lib/handoff_key.h)."""
    text = open(path).read()
    try:
        m = bytes.fromhex(text.strip())
        node = hmac.new(m, b"tandem-handoff-node:" + name.encode(), hashlib.sha256).digest()
        return node, None, m
    except ValueError:
        pass
    node, pairs = None, {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "node":
            node = bytes.fromhex(f[2])
        elif len(f) == 3 and f[0] == "peer":
            pairs[f[1]] = bytes.fromhex(f[2])
    return node, pairs, None


def pair_key(path, name, peer):
    node, pairs, m = read_keys(path, name)
    if m is None:
        return pairs[peer]
    a, b = sorted([name, peer])
    return hmac.new(m, ("tandem-handoff-pair:%s\n%s" % (a, b)).encode(), hashlib.sha256).digest()


def body_records(body):
    out = {}
    while len(body) >= 4:
        t, l = struct.unpack("!HH", body[:4])
        out.setdefault(t, body[4:4 + l])
        body = body[4 + l:]
    return out


def forge(a):
    peer = a.peer or "n" + a.to.rsplit(".", 1)[1][-1]
    key = pair_key(a.keyfile, a.name, peer)
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
    rec = body_records(buf[24:4 + struct.unpack("!I", buf[:4])[0] - 32])
    peer_nonce = rec.get(2)
    res["echo_ok"] = rec.get(9) == nonce
    ck = hmac.new(key, b"tandem-ho2" + nonce + peer_nonce, hashlib.sha256).digest()
    s.sendall(seal(ck, 1, 0, 2, tlv(9, peer_nonce)))  # the key confirmation
    fail = tlv(6, struct.pack("!H", 1) + b"forged")
    if a.case == "badmac":
        f = bytearray(seal(ck, 8, 4242, 3, fail))
        f[-1] ^= 0xff
        s.sendall(bytes(f))
    else:  # replay: the same valid frame twice
        f = seal(ck, 8, 4242, 3, fail)
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
    answers, statuses = 0, []
    for r in recs:
        s.sendto(bytes.fromhex(r["data"]), (a.to, REPORT))
        try:
            statuses.append(report_status(s.recv(2048)))
            answers += 1
        except socket.timeout:
            pass
    print(json.dumps({"sent": len(recs), "answers": answers, "statuses": statuses}))
    return 0


def report_status(d):
    """The status byte of a report datagram (not authenticated)."""
    alen = 16 if len(d) > 15 and d[15] == 6 else 4
    return d[16 + 2 * alen + 4] if len(d) > 16 + 2 * alen + 4 else None


def flood(a):
    socks, connected, sent = [], 0, 0
    for _ in range(a.count):
        s = socket.socket()
        s.bind((a.frm, 0))
        s.settimeout(2)
        try:
            s.connect((a.to, CHAN))
            connected += 1
        except OSError:
            pass
        socks.append(s)
    t0 = time.monotonic()
    for s in socks:
        s.settimeout(0.5)  # a node that reads nothing more: go on with the next
        chunk = struct.pack("!I", a.announce) if a.announce else b""
        left = a.send
        try:
            while chunk or left > 0:
                n = min(65536, left)
                chunk += b"\0" * n
                left -= n
                s.sendall(chunk)
                sent += len(chunk)
                chunk = b""
        except OSError:
            pass
    end, closed = t0 + a.wait, set()
    while time.monotonic() < end and len(closed) < len(socks):
        r, _, _ = select.select([s for s in socks if s.fileno() not in closed], [], [], 0.05)
        for s in r:
            try:
                if not s.recv(65536):
                    closed.add(s.fileno())
            except OSError:
                closed.add(s.fileno())
    print(json.dumps({"count": a.count, "connected": connected, "closed": len(closed), "sent": sent,
                      "secs": round(time.monotonic() - t0, 2)}), flush=True)
    time.sleep(a.hold)  # the connections stay open meanwhile (the node's memory is measured)
    for s in socks:
        s.close()
    return 0


def idle(a):
    s = connect(a.to, a.frm)
    t0 = time.monotonic()
    closed, _ = drain(s, a.secs)
    print(json.dumps({"closed": closed, "after": round(time.monotonic() - t0, 2)}))
    return 0


def forge_move(a):
    key, _, _ = read_keys(a.keyfile, a.name)
    cl, vip = a.flow.split(",")
    (ca, cp), (va, vp) = [(x.rsplit(":", 1)[0], int(x.rsplit(":", 1)[1])) for x in (cl, vip)]
    tk = node_key32(a.target)
    now = time.time_ns()
    d = bytes([(2 << 4) | 5]) + os.urandom(3) + bytes([6]) + struct.pack("!HHHI", cp, vp, 0, 1)
    d += bytes([4]) + ipaddress.ip_address(ca).packed + ipaddress.ip_address(va).packed
    d += struct.pack("!IBIIQQQQ", tk, 0, 0, 0, now, 1, 0, 0)
    d += hmac.new(key, d, hashlib.sha256).digest()
    return send_udp(a.to, d)


def node_key32(name):
    """maglev_node_key32 (lib/maglev.c): FNV-1a, the splitmix64 finaliser,
    the low 32 bits (never 0)."""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & m
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & m
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & m
    h ^= h >> 31
    return (h & 0xffffffff) or 1


def forge_map(a):
    key, _, _ = read_keys(a.keyfile, a.name)
    def s8(x):
        x = x.encode()
        return bytes([len(x)]) + x
    b = struct.pack(">Q", 1 << 20) + s8("/export") + bytes([0])
    b += bytes([1, 1, 4]) + ipaddress.ip_address(a.to).packed + s8(a.name)
    b += bytes([1, 1]) + s8("evil")
    m = struct.pack(">HBBIIQQQHH", 0x5443, 2, 1, 1, 0, time.time_ns() // 1000, time.time_ns(), 0, len(b), 0) + b
    m += hmac.new(key, m, hashlib.sha256).digest()
    return send_udp(a.to, m)


def forge_states(a):
    key, _, _ = read_keys(a.keyfile, a.name)
    b = bytes([1, len(a.target)]) + a.target.encode() + bytes([1])	# one node: draining
    m = struct.pack(">HBBIIQQQHH", 0x5443, 2, 3, 1, 0, time.time_ns() // 1000, time.time_ns(), 0, len(b), 0) + b
    m += hmac.new(key, m, hashlib.sha256).digest()
    return send_udp(a.to, m)


def send_udp(to, d):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(d, (to, REPORT))
    statuses = []
    try:
        statuses.append(report_status(s.recv(2048)))
    except socket.timeout:
        pass
    print(json.dumps({"answers": len(statuses), "statuses": statuses}))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["sniff", "replay-chan", "forge", "replay-udp", "flood", "idle",
                                   "forge-move", "forge-map", "forge-states"])
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
    p.add_argument("--peer")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--announce", type=int, default=0)
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--secs", type=float, default=5)
    p.add_argument("--wait", type=float, default=1.5)
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--flow")
    p.add_argument("--target")
    a = p.parse_args()
    if a.cmd == "sniff":
        sniff(a)
        return 0
    return {"replay-chan": replay_chan, "forge": forge, "replay-udp": replay_udp, "flood": flood,
            "idle": idle, "forge-move": forge_move, "forge-map": forge_map,
            "forge-states": forge_states}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
