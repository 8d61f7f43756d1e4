#!/usr/bin/env python3
"""ho_client.py - plain HTTP/1.1 clients for the handoff tests and bench.

Ordinary sockets, no knowledge of Tandem: what a client sees while its
session moves between storage nodes.  Every mode writes a JSON result to
--out (and "ADDR:PORT" of its connection to --port-file as soon as it is
connected); exit 0 when everything it checked was right, 1 otherwise.

  stream  GET PATH again and again on ONE keep-alive connection until
          --stop-file exists (checked between responses) or --count
          responses; each body's sha256 must be --want.  --times FILE:
          "MONOTONIC_NS BYTES" per recv (for stall figures).
  ka      keep-alive requests on one connection until --stop-file (or
          --count): GET /node and GET /small.bin alternately, --gap-ms apart;
          /node's body must equal its X-Tandem-Node header and small.bin's
          sha256 --want.
  zw      zero window: small SO_RCVBUF (--rcvbuf), GET PATH, read --first
          bytes, then stop reading (touch --paused-file) until --resume-file
          exists, then read the rest; sha256 must be --want.
  pipe    GET PATH (slow) with pipelined requests written right behind it:
          GET /small.bin, PUT /shared/NAME (--put-size random bytes, sha256
          in the result), GET /node.  Responses are read in order.
  halfpipe  GET --path with --count small GETs (/small.bin, /node
          alternately) pipelined behind it; per response its node
          (X-Tandem-Node), sha256, length and end_ns (time.monotonic_ns()
          when its last byte was read).
  upload  PUT --put-path with --put-size random bytes sent at --rate B/s,
          then GET --put-path back on the same connection (sha256 must
          match what was sent); with --stop-file, again (new random bytes)
          until it exists.  max_send_ms: the longest one send() of a
          --rate/50 chunk took (the client's wait for its window).
  many    --count keep-alive connections, each does GET /small.bin (sha256
          --want); their "ADDR:PORT"s go to --port-file (one a line) once
          all are open; when --stop-file exists, each does GET /node and GET
          /small.bin again: the result has the node that answered each
          ("after": {ep: node}).

A PUT carries "Authorization: Bearer --token" (default: the environment's
NASD_WRITE_TOKEN, which tests/integration/lib_nasd.sh sets) when one is given.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, host, port=80, rcvbuf=0, timeout=30, times=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.buf = b""
        self.times = times
        self.nrecv = 0

    def ep(self):
        a = self.s.getsockname()
        return ("[%s]:%d" if ":" in a[0] else "%s:%d") % (a[0], a[1])

    def fill(self, n=262144):
        c = self.s.recv(n)
        if not c:
            raise EOFError("connection closed by the server")
        if self.times is not None:
            self.times.write("%d %d\n" % (time.monotonic_ns(), len(c)))
        self.nrecv += len(c)
        self.buf += c

    def response(self, body_cb=None):
        """Read one response: (status, headers, body or sha256 hexdigest, length)."""
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        st = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        if st < 200:  # 100 Continue: the final response follows
            return self.response(body_cb)
        ln = int(hdrs.get("content-length", "0"))
        h = hashlib.sha256()
        got = 0
        keep = bytearray() if ln <= 1 << 20 else None
        while got < ln:
            if not self.buf:
                self.fill()
            take = self.buf[: ln - got]
            self.buf = self.buf[len(take):]
            h.update(take)
            if keep is not None:
                keep += take
            got += len(take)
        return st, hdrs, (bytes(keep) if keep is not None else b""), h.hexdigest(), ln


def get_req(path, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: vip\r\n%s\r\n" % (path, extra)).encode()


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def mode_stream(a):
    times = open(a.times, "w", buffering=1 << 20) if a.times else None
    c = Conn(a.host, times=times)
    open(a.port_file, "w").write(c.ep() + "\n")
    res = {"ep": c.ep(), "responses": 0, "bad": [], "bytes": 0, "nodes": {}}
    t0 = time.monotonic()
    err = None
    try:
        while True:
            c.s.sendall(get_req(a.path))
            st, hd, _, sha, ln = c.response()
            res["responses"] += 1
            res["bytes"] += ln
            nd = hd.get("x-tandem-node", "?")
            res["nodes"][nd] = res["nodes"].get(nd, 0) + 1
            if st != 200 or sha != a.want:
                res["bad"].append({"i": res["responses"], "status": st, "len": ln, "sha": sha})
            if a.progress:
                open(a.progress, "w").write("%d\n" % res["responses"])
            if a.count and res["responses"] >= a.count:
                break
            if a.stop_file and os.path.exists(a.stop_file):
                break
    except Exception as e:  # a reset, a timeout, a close
        err = "%s: %s" % (type(e).__name__, e)
    res["seconds"] = time.monotonic() - t0
    res["socket_bytes"] = c.nrecv
    res["error"] = err
    res["ok"] = err is None and not res["bad"] and res["responses"] > 0
    if times:
        times.close()
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def mode_ka(a):
    c = Conn(a.host)
    open(a.port_file, "w").write(c.ep() + "\n")
    res = {"ep": c.ep(), "requests": 0, "bad": [], "nodes": {}}
    err = None
    try:
        i = 0
        while True:
            path = "/node" if i % 2 == 0 else "/small.bin"
            c.s.sendall(get_req(path))
            st, hd, body, sha, ln = c.response()
            nd = hd.get("x-tandem-node", "?")
            res["nodes"][nd] = res["nodes"].get(nd, 0) + 1
            ok = st == 200 and (body.decode(errors="replace").strip() == nd if path == "/node" else sha == a.want)
            if not ok:
                res["bad"].append({"i": i, "path": path, "status": st, "node": nd})
            i += 1
            res["requests"] = i
            if a.count and i >= a.count:
                break
            if a.stop_file and os.path.exists(a.stop_file):
                break
            time.sleep(a.gap_ms / 1000.0)
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    res["error"] = err
    res["ok"] = err is None and not res["bad"] and res["requests"] > 0
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def mode_zw(a):
    c = Conn(a.host, rcvbuf=a.rcvbuf, timeout=60)
    open(a.port_file, "w").write(c.ep() + "\n")
    res = {"ep": c.ep()}
    err = None
    try:
        c.s.sendall(get_req(a.path))
        while c.nrecv < a.first:
            c.fill(4096)
        res["read_before_pause"] = c.nrecv
        open(a.paused_file, "w").write("%d\n" % c.nrecv)
        while not os.path.exists(a.resume_file):
            time.sleep(0.02)
        st, hd, _, sha, ln = c.response()
        res.update({"status": st, "len": ln, "sha": sha, "node": hd.get("x-tandem-node", "?")})
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    res["error"] = err
    res["ok"] = err is None and res.get("status") == 200 and res.get("sha") == a.want
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def put_head(a, path, length):
    auth = "Authorization: Bearer %s\r\n" % a.token if a.token else ""
    return ("PUT %s HTTP/1.1\r\nHost: vip\r\n%sContent-Length: %d\r\n\r\n" % (path, auth, length)).encode()


def mode_pipe(a):
    c = Conn(a.host, timeout=60)
    open(a.port_file, "w").write(c.ep() + "\n")
    body = os.urandom(a.put_size)
    put_sha = hashlib.sha256(body).hexdigest()
    req = (get_req(a.path) + get_req("/small.bin") +
           put_head(a, a.put_path, len(body)) + body + get_req("/node"))
    res = {"ep": c.ep(), "put_sha": put_sha, "put_size": len(body), "pipelined_bytes": len(req)}
    sent = {"err": None}

    def sender():
        try:
            c.s.sendall(req)
        except Exception as e:
            sent["err"] = str(e)
    th = threading.Thread(target=sender)
    th.start()
    err = None
    out = []
    try:
        for _ in range(4):
            st, hd, b, sha, ln = c.response()
            out.append({"status": st, "node": hd.get("x-tandem-node", "?"), "sha": sha, "len": ln,
                        "body": b.decode(errors="replace").strip() if ln < 64 else ""})
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    th.join(5)
    res["responses"] = out
    res["error"] = err or sent["err"]
    res["ok"] = res["error"] is None and len(out) == 4
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def mode_halfpipe(a):
    """GET --path with --count small GETs (/small.bin, /node alternately)
    pipelined right behind it on the same connection; each response's end
    (CLOCK_MONOTONIC ns, as the nodes' own times on this host) recorded."""
    c = Conn(a.host, timeout=60)
    open(a.port_file, "w").write(c.ep() + "\n")
    small = ["/small.bin" if i % 2 == 0 else "/node" for i in range(a.count)]
    c.s.sendall(get_req(a.path) + b"".join(get_req(p) for p in small))
    out, err = [], None
    try:
        for p in [a.path] + small:
            st, hd, b, sha, ln = c.response()
            out.append({"path": p, "status": st, "node": hd.get("x-tandem-node", "?"), "sha": sha,
                        "len": ln, "end_ns": time.monotonic_ns(),
                        "body": b.decode(errors="replace").strip() if ln < 64 else ""})
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    res = {"ep": c.ep(), "responses": out, "error": err, "ok": err is None and len(out) == a.count + 1}
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def upload_one(a, c, res):
    """One PUT of --put-size random bytes at --rate, then its GET back."""
    body = os.urandom(a.put_size)
    want = hashlib.sha256(body).hexdigest()
    res.update({"put_sha": want, "put_size": len(body)})
    c.s.sendall(put_head(a, a.put_path, len(body)))
    t0 = time.monotonic()
    off = 0
    chunk = max(1024, a.rate // 50)
    while off < len(body):
        t = time.monotonic()
        c.s.sendall(body[off:off + chunk])
        res["max_send_ms"] = max(res.get("max_send_ms", 0), round((time.monotonic() - t) * 1000, 3))
        off += chunk
        if a.progress:
            open(a.progress, "w").write("%d\n" % min(off, len(body)))
        ahead = off / a.rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    st, hd, _, _, _ = c.response()
    res["put_status"] = st
    res["put_node"] = hd.get("x-tandem-node", "?")
    c.s.sendall(get_req(a.put_path))
    st, hd, _, sha, ln = c.response()
    res.update({"get_status": st, "get_sha": sha, "get_len": ln, "get_node": hd.get("x-tandem-node", "?")})
    return res["put_status"] in (201, 204) and st == 200 and sha == want


def mode_upload(a):
    c = Conn(a.host, timeout=60)
    open(a.port_file, "w").write(c.ep() + "\n")
    res = {"ep": c.ep(), "puts": 0, "bad": []}
    err = None
    try:
        while True:	# with --stop-file: PUT + GET again until it exists
            if not upload_one(a, c, res):
                res["bad"].append({k: res.get(k) for k in ("put_status", "get_status", "get_len", "put_node")})
            res["puts"] += 1
            if not a.stop_file or os.path.exists(a.stop_file):
                break
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    res["error"] = err
    res["ok"] = err is None and not res["bad"] and res["puts"] > 0
    c.s.close()
    write_json(a.out, res)
    return res["ok"]


def mode_many(a):
    res = {"n": 0, "bad": [], "after": {}, "nodes": {}}
    conns = []
    err = None
    try:
        for i in range(a.count):
            c = Conn(a.host)
            c.s.sendall(get_req("/small.bin"))
            st, hd, body, sha, ln = c.response()
            if st != 200 or sha != a.want:
                res["bad"].append({"ep": c.ep(), "when": "before", "status": st})
            conns.append(c)
        res["n"] = len(conns)
        with open(a.port_file + ".tmp", "w") as f:
            f.write("".join(c.ep() + "\n" for c in conns))
        os.rename(a.port_file + ".tmp", a.port_file)
        while not os.path.exists(a.stop_file):
            time.sleep(0.05)
        for c in conns:
            c.s.sendall(get_req("/node") + get_req("/small.bin"))
            st, hd, body, sha, ln = c.response()
            nd = hd.get("x-tandem-node", "?")
            st2, _, _, sha2, _ = c.response()
            res["after"][c.ep()] = nd
            res["nodes"][nd] = res["nodes"].get(nd, 0) + 1
            if st != 200 or body.decode(errors="replace").strip() != nd or st2 != 200 or sha2 != a.want:
                res["bad"].append({"ep": c.ep(), "when": "after", "status": [st, st2], "node": nd})
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
    res["error"] = err
    res["ok"] = err is None and not res["bad"] and res["n"] == a.count
    for c in conns:
        c.s.close()
    write_json(a.out, res)
    return res["ok"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["stream", "ka", "zw", "pipe", "upload", "halfpipe", "many"])
    p.add_argument("--host", required=True)
    p.add_argument("--path", default="/10m.bin")
    p.add_argument("--want", default="")
    p.add_argument("--out", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stop-file")
    p.add_argument("--progress")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--gap-ms", type=float, default=20)
    p.add_argument("--times")
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--first", type=int, default=65536)
    p.add_argument("--paused-file")
    p.add_argument("--resume-file")
    p.add_argument("--put-path", default="/shared/up.bin")
    p.add_argument("--put-size", type=int, default=262144)
    p.add_argument("--rate", type=int, default=262144)
    p.add_argument("--token", default=os.environ.get("NASD_WRITE_TOKEN", ""))
    a = p.parse_args()
    ok = {"stream": mode_stream, "ka": mode_ka, "zw": mode_zw, "pipe": mode_pipe, "upload": mode_upload,
          "halfpipe": mode_halfpipe, "many": mode_many}[a.mode](a)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
