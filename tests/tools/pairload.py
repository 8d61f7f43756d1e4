#!/usr/bin/env python3
"""pairload.py - long-lived client sessions and probes for the pair-mode
integration tests (tests/integration/t_pair_*.sh).  Python 3 standard library
only.  Subcommands:

  server PORT NAME
      On a storage node: TCP server on 0.0.0.0:PORT (the VIP sits on lo).
      Every connection is greeted "HI NAME\\n"; the client's first line picks
      the mode:
        "UP SIZE\\n" then SIZE bytes  -> "OK SHA256\\n" (sha256 of the bytes read)
        "RR\\n", then any number of "Q SEQ SIZE\\n" -> "A SEQ SIZE\\n" + SIZE
            bytes of payload(SEQ, SIZE) (deterministic, see payload())
      A connection that closes early (lbd's health checks) is simply dropped.

  client --host IP --port P [--up N] [--rr N] [--secs S] [--rate BPS]
         [--first ID] --ready FILE --out FILE
      N upload and N request/response sessions at once, each on ONE TCP
      connection, paced so each lasts about S seconds:
        up: sends SIZE = rate * secs random bytes in 2 KiB chunks spread
            evenly, then compares the server's sha256 with its own;
        rr: one request every 0.25 s (random request and answer sizes) and
            checks every answer byte.
      When a session has its greeting it appends "ID KIND LPORT NODE" to the
      ready file.  When it ends it appends one JSON line to the out file:
      {id, kind, lport, node, ok, err, bytes, ops, max_gap_ms, secs}.
      max_gap_ms: longest wait for the network within the session (a failover
      shows up here).  Exit 0 when every session is ok, else 1.

  burst --host IP [--port 80] [--count N] [--conc C]
      N short HTTP/1.0 GETs of /node, each on a new TCP connection, C at a
      time; prints {"ok": N, "fail": N, "errors": [...]}; exit 1 on any failure.

  poll --lbd SOCK --syncd SOCK --out FILE [--ms 50] [--secs 120]
      Every MS ms: ask lbd and syncd for their status (control sockets, one
      JSON line each) and append "T_MS ROLE SYNCED READY RX_FLOWS PEER_ALIVE
      NODES_UP/NODES_TOTAL" (ROLE and NODES from lbd, the rest from syncd; "-"
      for a daemon that does not answer).  Ends after SECS or on SIGTERM.

  sniff --dev DEV --out FILE [--secs 60]
      ARP packets seen on DEV (AF_PACKET), one line each:
      "T_MS OP SENDER_MAC SENDER_IP TARGET_MAC TARGET_IP" (OP 1 request, 2 reply).
      Writes "ready" as its first line once the socket is bound.
"""
import argparse
import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import time


def now_ms():
    return int(time.time() * 1000)


def payload(seq, size):
    """size bytes derived from seq (the server's answer to request seq)."""
    block = hashlib.sha256(b"pairload %d" % seq).digest() * 64  # 2 KiB
    reps = size // len(block) + 1
    return (block * reps)[:size]


# ---------------------------------------------------------------- server --

async def serve_conn(reader, writer, name):
    try:
        writer.write(b"HI %s\n" % name.encode())
        await writer.drain()
        line = await reader.readline()
        parts = line.split()
        if len(parts) == 2 and parts[0] == b"UP":
            left = int(parts[1])
            h = hashlib.sha256()
            while left > 0:
                chunk = await reader.read(min(left, 65536))
                if not chunk:
                    return
                h.update(chunk)
                left -= len(chunk)
            writer.write(b"OK %s\n" % h.hexdigest().encode())
            await writer.drain()
            await reader.read(1)  # wait for the client's close
        elif parts == [b"RR"]:
            while True:
                line = await reader.readline()
                q = line.split()
                if len(q) != 3 or q[0] != b"Q":
                    return
                seq, size = int(q[1]), int(q[2])
                writer.write(b"A %d %d\n" % (seq, size) + payload(seq, size))
                await writer.drain()
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


def cmd_server(a):
    async def main():
        srv = await asyncio.start_server(lambda r, w: serve_conn(r, w, a.name),
                                         None, a.port, reuse_address=True, backlog=1024)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


# ---------------------------------------------------------------- client --

class Gap:
    """Longest time spent waiting on the network."""

    def __init__(self):
        self.max = 0.0

    async def io(self, aw, limit):
        t = time.monotonic()
        r = await asyncio.wait_for(aw, limit)
        self.max = max(self.max, time.monotonic() - t)
        return r


async def session(a, sid, kind, ready, out):
    res = {"id": sid, "kind": kind, "lport": 0, "node": "", "ok": False, "err": "",
           "bytes": 0, "ops": 0, "max_gap_ms": 0, "secs": 0}
    t0 = time.monotonic()
    gap = Gap()
    writer = None
    stall = a.stall
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 10)
        res["lport"] = writer.get_extra_info("sockname")[1]
        hi = (await gap.io(reader.readline(), 10)).split()
        if len(hi) != 2 or hi[0] != b"HI":
            raise RuntimeError("bad greeting %r" % hi)
        res["node"] = hi[1].decode()
        with open(ready, "a") as f:
            f.write("%d %s %d %s\n" % (sid, kind, res["lport"], res["node"]))
        rnd = random.Random(sid * 7919 + 17)
        if kind == "up":
            size = int(a.rate * a.secs)
            writer.write(b"UP %d\n" % size)
            h = hashlib.sha256()
            chunk = 2048
            n = (size + chunk - 1) // chunk
            start = time.monotonic()
            for i in range(n):
                data = rnd.randbytes(min(chunk, size - i * chunk))
                h.update(data)
                writer.write(data)
                await gap.io(writer.drain(), stall)
                res["bytes"] += len(data)
                res["ops"] += 1
                delay = start + (i + 1) * a.secs / n - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            ans = (await gap.io(reader.readline(), stall)).split()
            if len(ans) != 2 or ans[0] != b"OK":
                raise RuntimeError("bad answer %r" % ans)
            if ans[1].decode() != h.hexdigest():
                raise RuntimeError("sha256 mismatch: server %s, sent %s" %
                                   (ans[1].decode(), h.hexdigest()))
        else:
            writer.write(b"RR\n")
            n = max(1, int(a.secs / 0.25))
            start = time.monotonic()
            for seq in range(1, n + 1):
                size = rnd.randint(100, 30000)
                writer.write(b"Q %d %d\n" % (seq, size))
                await gap.io(writer.drain(), stall)
                head = (await gap.io(reader.readline(), stall)).split()
                if head != [b"A", b"%d" % seq, b"%d" % size]:
                    raise RuntimeError("request %d: bad answer head %r" % (seq, head))
                body = await gap.io(reader.readexactly(size), stall)
                if body != payload(seq, size):
                    raise RuntimeError("request %d: answer bytes differ" % seq)
                res["bytes"] += size
                res["ops"] += 1
                delay = start + seq * 0.25 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        res["ok"] = True
    except asyncio.TimeoutError:
        res["err"] = "stalled %ds" % stall
    except asyncio.IncompleteReadError as e:
        res["err"] = "connection closed early (%d of %s bytes)" % (len(e.partial), e.expected)
    except (ConnectionError, OSError, RuntimeError, ValueError) as e:
        res["err"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if writer:
            try:
                writer.close()
            except OSError:
                pass
    res["max_gap_ms"] = int(gap.max * 1000)
    res["secs"] = round(time.monotonic() - t0, 2)
    with open(out, "a") as f:
        f.write(json.dumps(res) + "\n")
    return res["ok"]


def cmd_client(a):
    async def main():
        jobs = []
        sid = a.first
        for kind, n in (("up", a.up), ("rr", a.rr)):
            for _ in range(n):
                jobs.append(session(a, sid, kind, a.ready, a.out))
                sid += 1
        return await asyncio.gather(*jobs)
    oks = asyncio.run(main())
    sys.exit(0 if all(oks) else 1)


# ----------------------------------------------------------------- burst --

def cmd_burst(a):
    """COUNT short HTTP/1.0 GETs of /node, CONC at a time, each a new TCP
    connection; prints {"ok": N, "fail": N, "errors": [first few]}."""
    res = {"ok": 0, "fail": 0, "errors": []}

    async def one(sem):
        async with sem:
            w = None
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(a.host, a.port), 10)
                w.write(b"GET /node HTTP/1.0\r\nHost: vip\r\n\r\n")
                data = await asyncio.wait_for(r.read(), 10)
                if not data.startswith(b"HTTP/1.1 200") or not data.rstrip().endswith(
                        (b"n1", b"n2", b"n3")):
                    raise RuntimeError("bad answer %r" % data[:40])
                res["ok"] += 1
            except (OSError, RuntimeError, asyncio.TimeoutError) as e:
                res["fail"] += 1
                if len(res["errors"]) < 5:
                    res["errors"].append("%s: %s" % (type(e).__name__, e))
            finally:
                if w:
                    w.close()

    async def main():
        sem = asyncio.Semaphore(a.conc)
        await asyncio.gather(*(one(sem) for _ in range(a.count)))
    asyncio.run(main())
    print(json.dumps(res))
    sys.exit(0 if res["fail"] == 0 else 1)


# ------------------------------------------------------------------ poll --

def ctl(path, timeout=1.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(b'{"cmd":"status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(65536)
            if not c:
                break
            buf += c
        return json.loads(buf)
    finally:
        s.close()


def cmd_poll(a):
    end = time.monotonic() + a.secs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.out, "a", buffering=1) as f:
        while time.monotonic() < end:
            t = now_ms()
            try:
                lst = ctl(a.lbd)
                role = lst.get("role", "-")
                nodes = "%s/%s" % (lst.get("nodes_up", "-"), lst.get("nodes_total", "-"))
            except (OSError, ValueError):
                role, nodes = "-", "-"
            try:
                st = ctl(a.syncd)
                sy = "%d %d %d %d" % (st["synced"], st["ready"], st["rx"]["flows"],
                                      st["peer"]["alive"])
            except (OSError, ValueError, KeyError):
                sy = "- - - -"
            f.write("%d %s %s %s\n" % (t, role, sy, nodes))
            time.sleep(max(0, a.ms / 1000 - (now_ms() - t) / 1000))


# ----------------------------------------------------------------- sniff --

def mac(b):
    return ":".join("%02x" % x for x in b)


def cmd_sniff(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((a.dev, 0))
    s.settimeout(0.2)
    end = time.monotonic() + a.secs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.out, "a", buffering=1) as f:
        f.write("ready\n")
        while time.monotonic() < end:
            try:
                pkt = s.recv(2048)
            except socket.timeout:
                continue
            if len(pkt) < 42:
                continue
            op = struct.unpack("!H", pkt[20:22])[0]
            f.write("%d %d %s %s %s %s\n" % (now_ms(), op, mac(pkt[22:28]),
                                             socket.inet_ntoa(pkt[28:32]), mac(pkt[32:38]),
                                             socket.inet_ntoa(pkt[38:42])))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("name")
    c = sub.add_parser("client")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--up", type=int, default=0)
    c.add_argument("--rr", type=int, default=0)
    c.add_argument("--secs", type=float, default=30)
    c.add_argument("--rate", type=float, default=32768, help="upload bytes/s")
    c.add_argument("--stall", type=int, default=30, help="max seconds without progress")
    c.add_argument("--first", type=int, default=0)
    c.add_argument("--ready", required=True)
    c.add_argument("--out", required=True)
    b = sub.add_parser("burst")
    b.add_argument("--host", required=True)
    b.add_argument("--port", type=int, default=80)
    b.add_argument("--count", type=int, default=100)
    b.add_argument("--conc", type=int, default=20)
    q = sub.add_parser("poll")
    q.add_argument("--lbd", required=True)
    q.add_argument("--syncd", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--ms", type=int, default=50)
    q.add_argument("--secs", type=float, default=120)
    n = sub.add_parser("sniff")
    n.add_argument("--dev", required=True)
    n.add_argument("--out", required=True)
    n.add_argument("--secs", type=float, default=60)
    a = p.parse_args()
    {"server": cmd_server, "client": cmd_client, "burst": cmd_burst, "poll": cmd_poll,
     "sniff": cmd_sniff}[a.cmd](a)


if __name__ == "__main__":
    main()
