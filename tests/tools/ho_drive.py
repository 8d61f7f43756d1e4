#!/usr/bin/env python3
"""ho_drive.py - drive many tandem-nasd handoffs fast, from ONE process.

Talks to the nodes' nasd control sockets (UNIX sockets: reachable from the
root namespace by path) and to lbd's control socket directly, keeping one
connection to each, so a handoff costs one control round trip and no
process start.

  ho_drive.py --sock n1=PATH --sock n2=PATH [--lbd SOCK] --ep CLIENT:PORT
              --from NODE --count N [--gap-ms MS] [--nodes n1,n2]
              [--ka-ep CLIENT:PORT --ka-every K] [--check-every C]
              [--times FILE] [--stop-file FILE] [--seconds S] [--svc-port P] [--nfs]
              --out FILE

Moves session --ep back and forth over --nodes (the holder sends it to the
next node of the list), N successful handoffs in all (at most N + 20 tries),
--gap-ms apart (+-50 % jitter).  With --ka-ep, every K-th round also moves
that keep-alive session to another node (its holder is found by asking the
nodes).  Every C handoffs and at the end: lbd's flow for the client port
must name the holder, and the holder's `sessions` must list the client
(--nfs: its `nfs-conns`; --svc-port: the flow's service port, 80).
--times: "START_NS END_NS" (CLOCK_MONOTONIC) per successful handoff of
--ep.  --stop-file is created when done.  Output JSON: done, failed
(replies), checks, mismatches, timings (arrays of timings_us fields,
and freeze_to_resume: the new node's last_in.resumed_at_ns minus the
reply's frozen_at_ns, one host's CLOCK_MONOTONIC), final holder.  Exit 0 if N handoffs succeeded with no mismatch.
"""
import argparse
import json
import os
import random
import socket
import sys
import time


class Ctl:
    def __init__(self, path):
        self.path = path
        self.s = None
        self.buf = b""

    def req(self, obj, timeout=20):
        for attempt in (0, 1):
            try:
                if self.s is None:
                    self.s = socket.socket(socket.AF_UNIX)
                    self.s.settimeout(timeout)
                    self.s.connect(self.path)
                    self.buf = b""
                self.s.sendall(json.dumps(obj).encode() + b"\n")
                while b"\n" not in self.buf:
                    c = self.s.recv(1 << 20)
                    if not c:
                        raise EOFError("closed")
                    self.buf += c
                line, self.buf = self.buf.split(b"\n", 1)
                return json.loads(line)
            except (OSError, EOFError, ValueError):
                try:
                    self.s.close()
                except Exception:
                    pass
                self.s = None
                if attempt:
                    raise


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sock", action="append", required=True, help="NODE=PATH")
    p.add_argument("--lbd")
    p.add_argument("--ep", required=True)
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--nodes", default="n1,n2")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--gap-ms", type=float, default=5)
    p.add_argument("--ka-ep")
    p.add_argument("--ka-every", type=int, default=10)
    p.add_argument("--check-every", type=int, default=50)
    p.add_argument("--svc-port", type=int, default=80, help="the service port of lbd's flow (2049: NFS)")
    p.add_argument("--nfs", action="store_true", help="--ep is an NFS connection (nasd's nfs-conns)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    p.add_argument("--times")
    p.add_argument("--stop-file")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    ctl = {}
    for s in a.sock:
        n, path = s.split("=", 1)
        ctl[n] = Ctl(path)
    lbd = Ctl(a.lbd) if a.lbd else None
    ring = a.nodes.split(",")
    cip, cport = a.ep.rsplit(":", 1)
    cport = int(cport)
    times = open(a.times, "w") if a.times else None

    res = {"done": 0, "tries": 0, "failed": [], "checks": 0, "mismatches": [], "ka_moves": 0,
           "ka_failed": [], "timings": {}}
    tim = res["timings"]

    def listed(c, ep):	# the node's live (not paused) session or NFS connection of ep
        if a.nfs:
            j = c.req({"cmd": "nfs-conns"})
            return any(s.get("client") == ep and not s.get("paused") for s in j.get("conns", []))
        j = c.req({"cmd": "sessions"})
        return any(s.get("client") == ep and s.get("state") != "paused" for s in j.get("sessions", []))

    def holder_of(ep):
        for n, c in ctl.items():
            try:
                if listed(c, ep):
                    return n
            except Exception:
                continue
        return None

    def check(holder, why, ep=a.ep):
        res["checks"] += 1
        ip, port = ep.rsplit(":", 1)
        if lbd:
            flows, cursor = [], None
            while True:	# lbd pages its flow table (doc/control.md "flows")
                q = {"cmd": "flows", "limit": 10000}
                if cursor:
                    q["cursor"] = cursor
                j = lbd.req(q)
                flows += j.get("flows", [])
                cursor = j.get("cursor")
                if not cursor:
                    break
            nodes = [f["node"] for f in flows
                     if f.get("client") == ip and f.get("client_port") == int(port) and f.get("port") == a.svc_port]
            if nodes != [holder]:
                res["mismatches"].append({"at": why, "ep": ep, "holder": holder, "lbd": nodes})
        if not listed(ctl[holder], ep):
            res["mismatches"].append({"at": why, "ep": ep, "holder": holder, "sessions": "client not listed"})

    holder = a.start
    t_begin = time.monotonic()
    while res["done"] < a.count and res["tries"] < a.count + 20:
        if a.seconds and time.monotonic() - t_begin >= a.seconds:
            break
        res["tries"] += 1
        to = ring[(ring.index(holder) + 1) % len(ring)] if holder in ring else ring[0]
        t0 = time.monotonic_ns()
        frm = holder
        r = ctl[holder].req({"cmd": "handoff", "session": a.ep, "to": to})
        t1 = time.monotonic_ns()
        if r.get("ok") and r.get("outcome") == "done":
            res["done"] += 1
            holder = to
            if times:
                times.write("%d %d\n" % (t0, t1))
            for k, v in r.get("timings_us", {}).items():
                tim.setdefault(k, []).append(v)
            # freeze->resume: the old node's freeze and the new node's resume,
            # both CLOCK_MONOTONIC of this one host (the lab's namespaces)
            try:
                li = ctl[to].req({"cmd": "status"}).get("handoff", {}).get("last_in", {})
                if li.get("txid") == r.get("txid") and li.get("from") == frm and r.get("frozen_at_ns"):
                    tim.setdefault("freeze_to_resume", []).append((li["resumed_at_ns"] - r["frozen_at_ns"]) // 1000)
                else:
                    res.setdefault("resume_unmatched", 0)
                    res["resume_unmatched"] += 1
            except Exception:
                pass
            tim.setdefault("state_bytes", []).append(r.get("state_bytes", 0))
            tim.setdefault("client_rtt_us", []).append((t1 - t0) // 1000)
        else:
            res["failed"].append({k: r.get(k) for k in ("outcome", "stage", "error", "rolled_back", "from", "to")})
            if r.get("outcome") == "committed" or r.get("error") == "no such session":
                holder = holder_of(a.ep) or holder
            if len(res["failed"]) > 10:
                break
        if a.check_every and res["done"] and res["done"] % a.check_every == 0 and r.get("ok"):
            check(holder, "handoff %d" % res["done"])
        if a.ka_ep and res["tries"] % a.ka_every == 0:
            kh = holder_of(a.ka_ep)
            if kh:
                kto = [n for n in ctl if n != kh][res["ka_moves"] % (len(ctl) - 1)]
                kr = ctl[kh].req({"cmd": "handoff", "session": a.ka_ep, "to": kto})
                if kr.get("ok"):
                    res["ka_moves"] += 1
                else:
                    res["ka_failed"].append({k: kr.get(k) for k in ("outcome", "stage", "error")})
        if a.gap_ms > 0:
            time.sleep(a.gap_ms * random.uniform(0.5, 1.5) / 1000.0)
    res["seconds"] = time.monotonic() - t_begin
    res["holder"] = holder
    try:
        check(holder, "end")
        if a.ka_ep:
            kh = holder_of(a.ka_ep)
            res["ka_holder"] = kh
            if kh:
                check(kh, "end (keep-alive)", a.ka_ep)
            else:
                res["mismatches"].append({"at": "end", "ep": a.ka_ep, "holder": None})
    except Exception as e:
        res["mismatches"].append({"at": "end", "error": str(e)})
    if times:
        times.close()
    if a.stop_file:
        open(a.stop_file, "w").close()
    with open(a.out, "w") as f:
        json.dump(res, f)
    sys.exit(0 if (res["done"] >= a.count or a.seconds) and not res["failed"] and not res["mismatches"] else 1)


if __name__ == "__main__":
    main()
