# nfs_rpc.py: a raw ONC RPC client over TCP for t_nfs.sh and t_nfs_ns.sh (no
# NFS library: it must be able to send what a real client never would).
#   nfs_rpc.py procs HOST DIR           every NFSv3 procedure, in DIR (created, removed)
#   nfs_rpc.py ns HOST                  the namespace: virtual root, homes, RENAME
#                                       across homes
#   nfs_rpc.py forge HOST FILE          handle forgery: every byte of a valid handle altered
#   nfs_rpc.py malformed HOST          malformed / unknown calls -> their RPC errors
#   nfs_rpc.py mnt HOST PATH           MNT status (and the handle, hex)
#   nfs_rpc.py getattr HOST FH_HEX     GETATTR status
#   nfs_rpc.py rebuild HOST SOCK,...    connections frozen into their blob and
#                                   rebuilt (nfs-rebuild) with half a call
#                                   and pipelined calls buffered
#   nfs_rpc.py slowread HOST PATH OUT S  READ PATH (below /export) into OUT over
#                                   about S seconds on one connection
#   nfs_rpc.py awayread HOST LBDSOCK FILE OUT S  the same for DIR/FILE where DIR
#                                   is the namespace directory (alpha beta gamma,
#                                   homed n1 n2 n3) NOT homed on the node this
#                                   connection landed on (asked of lbd's control
#                                   socket); prints {landed, home, dir, port, bytes}
#   nfs_rpc.py placedread HOST LBDSOCK WHERE FILE OUT S READY  as awayread, where the
#                                   connection lands chosen: WHERE "home" (DIR homed on
#                                   the node it landed on), "home:nX" (landed on nX, its
#                                   DIR), "away:nX" (nX's DIR, landed elsewhere); a new
#                                   connection until it lands so (at most 40); writes
#                                   {landed, home, dir, port} to READY before reading
#   nfs_rpc.py burstwrite HOST LBDSOCK IN  writes the local file IN (over 1 MiB)
#                                   to DIR/bw.bin, DIR homed on another node than the
#                                   connection's, in 256 KiB WRITEs: 3 one at a time,
#                                   then in one send a READ of 300 KiB of it (past the
#                                   data-location threshold) and the first 200 KiB of
#                                   the next WRITE, the rest of it once the READ is
#                                   answered (the node has the start of a call when
#                                   its move is due), then the rest one at a time,
#                                   COMMIT; {landed, home, dir, port, bytes, read_ok}
#   nfs_rpc.py readas HOST PATH UID GID GIDS OUT  READ PATH (below /export) into OUT
#                                   with AUTH_SYS uid UID, gid GID and the groups GIDS
#                                   (comma-separated, at most 16: AUTH_SYS's limit);
#                                   {status, bytes} (status 0, or the NFS3 status of
#                                   the first LOOKUP or READ refused)
#   nfs_rpc.py writeloop HOST NAME S EPFILE LOG  4 KiB WRITEs to NAME (below /export)
#                                   every 100 ms on one connection for S s: each
#                                   one's "epoch_ms status" appended to LOG
#   nfs_rpc.py meta HOST S             LOOKUP big.bin + GETATTR back to back for S s
#                                   (as NFS_RPC_UID, gid NFS_RPC_GID or the uid):
#                                   {ops, seconds, ops_per_s} (bench; as uid and gid
#                                   NFS_RPC_UID if set, else root)
#   nfs_rpc.py inflight HOST FILE DEPTH EPFILE STOP  READs of FILE (below /export),
#                                   32 KiB each, round and round, DEPTH of them always
#                                   outstanding on one connection (a new one is sent as
#                                   each reply arrives) until the file STOP exists;
#                                   writes the client endpoint to EPFILE first; every
#                                   byte checked against NFS_RPC_LOCAL (the file on
#                                   disk); {calls, bad, max_ms (slowest call), max_gap_ms
#                                   (longest time without a reply), p50_ms, p99_ms, ok}
#   nfs_rpc.py halfread HOST FILE N EPFILE PAUSED RESUME  a slow reader (SO_RCVBUF 4 KiB):
#                                   one READ of 1 MiB of FILE (below /export) and N READs
#                                   of 32 KiB behind it, sent at once; touches PAUSED,
#                                   reads nothing until RESUME exists, then every reply,
#                                   checked against NFS_RPC_LOCAL; {replies, bad,
#                                   big_end_ns (CLOCK_MONOTONIC: the 1 MiB reply's last
#                                   byte read), ok}
#   nfs_rpc.py latread HOST FILE S EPFILE  READ FILE (below /export) 64 KiB at a time,
#                                   round and round, for S s; writes the connection's
#                                   client endpoint to EPFILE first; checks every byte
#                                   against the export on disk (NFS_RPC_LOCAL, the same
#                                   file); {calls, p50_ms, p99_ms, max_ms, ok} (bench)
# For t_nfs_hardening.sh (PATH below /export, "" the root; UID the AUTH_SYS uid,
# gid = uid; "closed": the server closed the connection without an answer):
#   nfs_rpc.py mnt HOST PATH [UID]     (above) MNT as UID (PATH: Python escapes allowed)
#   nfs_rpc.py null HOST               NULL on a new connection: {null: accept_stat | "closed"}
#   nfs_rpc.py create HOST DIR NAME UID  CREATE UNCHECKED DIR/NAME: {create: status}
#   nfs_rpc.py fwdverf HOST DIR NAME   CREATE as root with the verifier only nodes
#                                   send each other: {auth_error: auth_stat, create}
#   nfs_rpc.py hold HOST N S BYTES READYFILE  N connections, each sends a record mark
#                                   of 1 MiB and BYTES of it, touches READYFILE, holds
#                                   them S s: {opened, closed_by_server, closed_ms}
#   nfs_rpc.py idle HOST S             one connection, NULL, then idle up to S s:
#                                   {null, closed_after_ms} (null: not closed)
#   nfs_rpc.py conns HOST N S          N connections with a NULL each, held S s:
#                                   {answered, closed}
#   nfs_rpc.py stale HOST DIR N        CREATE then REMOVE DIR/stale-PID, then N GETATTRs
#                                   of its handle: {statuses, ms}
#   nfs_rpc.py reuse HOST DIR N        N times: CREATE DIR/reuse-PID, REMOVE it, CREATE it
#                                   again, GETATTR of both handles: {old (statuses of
#                                   the removed file's handle), new (the new one's),
#                                   reused (times the new file got the old inode number)}
#   nfs_rpc.py fifo HOST DIR NAME      CREATE UNCHECKED of DIR/NAME (a FIFO) on one
#                                   connection, GETATTR of the root on another
#                                   meanwhile: {create, getattr} (status or "timeout")
#   nfs_rpc.py race HOST DIR NAME S OTHER LOCAL LOCAL_OTHER  READ and COMMIT DIR/NAME (a
#                                   regular file) for S s on one connection while its
#                                   name and DIR/OTHER (a FIFO) are swapped by rename
#                                   (renameat2 RENAME_EXCHANGE of the LOCAL paths, the
#                                   same files on this host); GETATTR of the root every
#                                   50 ms on another: {reads, statuses,
#                                   getattr_timeouts, getattr_max_ms}
#   nfs_rpc.py drc HOST DIR NAME       CREATE GUARDED DIR/NAME as uid 1000, the same xid
#                                   and arguments again on a new connection as uid 1000
#                                   and then as uid 1001: {statuses}
#   nfs_rpc.py rdplus HOST DIR UID     READDIRPLUS of DIR as UID: {status, names, with_fh,
#                                   with_attr}
#   nfs_rpc.py dots HOST DIR UID       LOOKUP "." and ".." in DIR as UID: {dot, dotdot}
#   nfs_rpc.py mntflood HOST PATH N    N MNTs of PATH on one connection: {statuses}
# Over UDP (one datagram a call, tandem-nasd's portmapper and MOUNT):
#   nfs_rpc.py nlmmsg HOST PATH        NLM _MSG forms (LOCK, TEST, UNLOCK, CANCEL) on PATH
#                                   (below /export) to port 2049, the _RES calls received
#                                   here (a portmapper on udp/111 of this host): {steps:
#                                   [{call, reply, res_proc, stat, holder, from}]}
#   nfs_rpc.py nlmshare HOST HOST2 PATH  SHARE/UNSHARE by owners A, C (via HOST) and B
#                                   (via HOST2), NM_LOCK, TEST, UNLOCK: {steps: [{step, stat}]}
#   nfs_rpc.py udpmnt HOST PATH N      N MNTs of PATH, each from a new socket (so
#                                   each may reach another node behind a VIP), to
#                                   port 2049: {statuses, handles (hex), node_ids
#                                   (the handles' issuing node), timeouts}
import json, os, socket, struct, sys

def xdr_opaque(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)

def auth_sys(machine=b"t_nfs", uid=0, gid=0, gids=()):
    body = struct.pack(">I", 0) + xdr_opaque(machine) + struct.pack(">II", uid, gid)
    body += struct.pack(">I", len(gids)) + b"".join(struct.pack(">I", g) for g in gids)
    return struct.pack(">I", 1) + xdr_opaque(body)

AUTH_NONE = struct.pack(">II", 0, 0)

class Conn:
    def __init__(self, host, port=2049):
        self.s = socket.create_connection((host, port), timeout=10)
        self.xid = 0x1000 + os.getpid() % 1000 * 64
    def send_record(self, payload):
        self.s.sendall(struct.pack(">I", 0x80000000 | len(payload)) + payload)
    def recv_record(self):
        out = b""
        while True:
            h = self.recvn(4)
            if h is None:
                return None
            m = struct.unpack(">I", h)[0]
            out += self.recvn(m & 0x7fffffff) or b""
            if m & 0x80000000:
                return out
    def recvn(self, n):
        b = b""
        while len(b) < n:
            try:
                c = self.s.recv(n - len(b))
            except (socket.timeout, ConnectionResetError):
                return None
            if not c:
                return None
            b += c
        return b
    def call(self, prog, vers, proc, args=b"", cred=None, rpcvers=2, raw=None):
        self.xid += 1
        cred = auth_sys() if cred is None else cred
        msg = raw if raw is not None else (
            struct.pack(">IIIIII", self.xid, 0, rpcvers, prog, vers, proc) + cred + AUTH_NONE + args)
        self.send_record(msg)
        return self.reply()
    def reply(self):
        r = self.recv_record()
        if r is None:
            return {"closed": True}
        xid, mtype, stat = struct.unpack(">III", r[:12])
        d = {"xid": xid, "reply_stat": stat}
        if stat == 1:      # MSG_DENIED
            rs = struct.unpack(">I", r[12:16])[0]
            d["reject"] = ["RPC_MISMATCH", "AUTH_ERROR"][rs]
            if rs == 0:
                d["low"], d["high"] = struct.unpack(">II", r[16:24])
            else:
                d["auth_stat"] = struct.unpack(">I", r[16:20])[0]
            return d
        vlen = struct.unpack(">I", r[16:20])[0]
        off = 20 + (vlen + 3) // 4 * 4
        d["accept_stat"] = struct.unpack(">I", r[off:off + 4])[0]
        if d["accept_stat"] == 2:
            d["low"], d["high"] = struct.unpack(">II", r[off + 4:off + 12])
        d["body"] = r[off + 4:]
        return d

class UdpConn(Conn):
    """The same calls, one datagram each (no record marking)."""
    def __init__(self, host, port=2049, timeout=3):
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.xid = 0x2000 + os.getpid() % 1000 * 64
    def send_record(self, payload):
        self.s.send(payload)
    def recv_record(self):
        try:
            return self.s.recv(65536)
        except (socket.timeout, ConnectionRefusedError):
            return None

def mnt(c, path, cred=None):
    r = c.call(100005, 3, 1, xdr_opaque(path.encode("latin-1") if isinstance(path, str) else path), cred=cred)
    if "body" not in r:
        return "closed", None
    st = struct.unpack(">I", r["body"][:4])[0]
    fh = None
    if st == 0:
        n = struct.unpack(">I", r["body"][4:8])[0]
        fh = r["body"][8:8 + n]
    return st, fh

def nfs_status(r):
    if "accept_stat" not in r or r["accept_stat"] != 0:
        return None
    return struct.unpack(">I", r["body"][:4])[0]

def lookup(c, dirfh, name):
    r = c.call(100003, 3, 3, xdr_opaque(dirfh) + xdr_opaque(name.encode()))
    st = nfs_status(r)
    if st != 0:
        return st, None
    n = struct.unpack(">I", r["body"][4:8])[0]
    return 0, r["body"][8:8 + n]

def getattr_st(c, fh):
    return nfs_status(c.call(100003, 3, 1, xdr_opaque(fh)))

def read3(c, fh, off, count):
    """One READ: (status, data, eof)."""
    r = c.call(100003, 3, 6, xdr_opaque(fh) + struct.pack(">QI", off, count))
    st = nfs_status(r)
    if st != 0:
        return st, b"", True
    b = r["body"]
    o = 8 + 84 if struct.unpack(">I", b[4:8])[0] else 8
    n, eof = struct.unpack(">II", b[o:o + 8])
    return 0, b[o + 12:o + 12 + n], bool(eof)

def send_read(c, fh, off, count):
    """Send one READ without waiting for its reply; returns its xid."""
    c.xid += 1
    c.send_record(struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 6) + auth_sys() + AUTH_NONE +
                  xdr_opaque(fh) + struct.pack(">QI", off, count))
    return c.xid

def read_data(r):
    """The data of a READ reply (c.reply()), or None if it failed."""
    if nfs_status(r) != 0:
        return None
    b = r["body"]
    o = 8 + 84 if struct.unpack(">I", b[4:8])[0] else 8
    return b[o + 12:o + 12 + struct.unpack(">I", b[o:o + 4])[0]]

def read_paced(c, fh, out_path, seconds):
    """The whole file, 256 KiB per READ, a pause of seconds/64 between READs;
    written to out_path.  Returns the bytes read."""
    import time
    off = 0
    with open(out_path, "wb") as f:
        while True:
            st, data, eof = read3(c, fh, off, 262144)
            assert st == 0, "READ failed"
            f.write(data)
            off += len(data)
            if eof or not data:
                return off
            time.sleep(seconds / 64)

mode, host = sys.argv[1], sys.argv[2]
def landed_node(c, lbdsock):
    """The node lbd's flow table names for connection c (to port 2049), and
    c's client port: asked of lbd's control socket lbdsock."""
    port = c.s.getsockname()[1]
    u = socket.socket(socket.AF_UNIX)
    u.connect(lbdsock)
    flows, cursor, b = [], None, b""
    while True:	# lbd pages its flow table (doc/control.md "flows")
        q = {"cmd": "flows", "limit": 10000}
        if cursor:
            q["cursor"] = cursor
        u.sendall(json.dumps(q).encode() + b"\n")
        while b"\n" not in b:
            b += u.recv(1 << 20)
        line, b = b.split(b"\n", 1)
        j = json.loads(line)
        flows += j["flows"]
        cursor = j.get("cursor")
        if not cursor:
            break
    u.close()
    return [f["node"] for f in flows if f["client_port"] == port and f["port"] == 2049][0], port

def user(uid):
    return auth_sys(uid=uid, gid=uid)

def walk(c, path, cred=None):
    """MNT /export, then LOOKUP each part of path: (status, handle)."""
    st, fh = mnt(c, "/export")
    for part in [p for p in path.split("/") if p]:
        if st != 0:
            break
        r = c.call(100003, 3, 3, xdr_opaque(fh) + xdr_opaque(part.encode()), cred=cred)
        st = nfs_status(r)
        fh = r["body"][8:8 + struct.unpack(">I", r["body"][4:8])[0]] if st == 0 else None
    return st, fh

SATTR_NONE = struct.pack(">IIIIII", 0, 0, 0, 0, 0, 0)

if mode == "mnt":
    cred = user(int(sys.argv[4])) if len(sys.argv) > 4 else None
    path = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
    st, fh = mnt(Conn(host), path, cred)
    print(json.dumps({"mnt": st, "fh": fh.hex() if fh else None}))
elif mode == "getattr":
    r = Conn(host).call(100003, 3, 1, xdr_opaque(bytes.fromhex(sys.argv[3])))
    print(json.dumps({"getattr": "closed" if r.get("closed") else nfs_status(r)}))
elif mode == "rebuild":
    import time
    socks = sys.argv[3].split(",")
    def ctl(sock, req):
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(10)
        u.connect(sock)
        u.sendall(json.dumps(req).encode() + b"\n")
        b = b""
        while not b.endswith(b"\n"):
            k = u.recv(1 << 20)
            if not k:
                break
            b += k
        return json.loads(b)
    def mine(c):   # (sock, conn) of our connection, wherever the VIP sent it
        port = c.s.getsockname()[1]
        for sk in socks:
            for cn in ctl(sk, {"cmd": "nfs-conns"}).get("conns", []):
                if cn["client"].endswith(":%d" % port):
                    return sk, cn
        return None, None
    out = []
    def case(name, want, got):
        out.append({"name": name, "want": want, "got": got})
    c = Conn(host)
    st, root = mnt(c, "/export")
    c.xid += 1
    msg = struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 1) + auth_sys() + AUTH_NONE + xdr_opaque(root)
    rec = struct.pack(">I", 0x80000000 | len(msg)) + msg
    c.s.sendall(rec[:30])
    time.sleep(0.3)
    sk, cn = mine(c)
    case("half a call is buffered in the connection", 30, cn and cn["in"])
    r = ctl(sk, {"cmd": "nfs-rebuild", "id": cn["id"]}) if cn else {}
    case("nfs-rebuild with half a call buffered", True, r.get("ok"))
    c.s.sendall(rec[30:])
    r = c.reply()
    case("the rest of the call is answered (GETATTR OK, same xid)", [0, True], [nfs_status(r), r.get("xid") == c.xid])
    # three whole calls and half of a fourth in one write, then a rebuild
    base = c.xid
    blob = b""
    for i in range(4):
        c.xid += 1
        m = struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 1) + auth_sys() + AUTH_NONE + xdr_opaque(root)
        blob += struct.pack(">I", 0x80000000 | len(m)) + m
    cut = len(blob) - 20
    c.s.sendall(blob[:cut])
    time.sleep(0.3)
    sk, cn = mine(c)
    r = ctl(sk, {"cmd": "nfs-rebuild", "id": cn["id"]}) if cn else {}
    case("nfs-rebuild with pipelined calls", True, r.get("ok"))
    c.s.sendall(blob[cut:])
    xids = []
    for i in range(4):
        r = c.reply()
        xids.append([r.get("xid", 0) - base, nfs_status(r)])
    case("four pipelined calls answered in order", [[1, 0], [2, 0], [3, 0], [4, 0]], xids)
    r = ctl(sk, {"cmd": "status"})["nfs"]
    case("status counts frozen and restored connections", True, r["frozen"] >= 2 and r["restored"] >= 2)
    # a retransmitted CREATE on a new connection: the cached reply (DRC)
    name = "drc-%d" % os.getpid()
    c2 = Conn(host)
    c2.xid = 777000 + os.getpid() % 1000
    args = xdr_opaque(root) + xdr_opaque(name.encode()) + struct.pack(">I", 1) + bytes(24)
    st1 = nfs_status(c2.call(100003, 3, 8, args))
    # the cache is per node: reconnect until the VIP sends us where c2 went
    sk2, _ = mine(c2)
    for t in range(40):
        c3 = Conn(host)
        if mine(c3)[0] == sk2:
            break
        c3.s.close()
    c3.xid = c2.xid - 1
    st2 = nfs_status(c3.call(100003, 3, 8, args))
    c3.xid += 5
    st3 = nfs_status(c3.call(100003, 3, 8, args))
    case("CREATE GUARDED, retransmitted on a new connection to the same node: OK twice (DRC), a new xid: EXIST", [0, 0, 17], [st1, st2, st3])
    nfs_status(c3.call(100003, 3, 12, xdr_opaque(root) + xdr_opaque(name.encode())))
    for o in out:
        print(json.dumps(o))
elif mode == "readas":
    gids = [int(g) for g in sys.argv[6].split(",") if g]
    cred = auth_sys(uid=int(sys.argv[4]), gid=int(sys.argv[5]), gids=gids)
    c = Conn(host)
    st, fh = walk(c, sys.argv[3], cred)
    off = 0
    with open(sys.argv[7], "wb") as f:
        while st == 0:
            r = c.call(100003, 3, 6, xdr_opaque(fh) + struct.pack(">QI", off, 262144), cred=cred)
            st = nfs_status(r)
            if st != 0:
                break
            b = r["body"]
            o = 8 + 84 if struct.unpack(">I", b[4:8])[0] else 8
            n, eof = struct.unpack(">II", b[o:o + 8])
            f.write(b[o + 12:o + 12 + n])
            off += n
            if eof or not n:
                break
    print(json.dumps({"status": st, "bytes": off}))
elif mode == "slowread":
    import time
    c = Conn(host)
    st, fh = mnt(c, "/export")
    for part in sys.argv[3].split("/"):
        st, fh = lookup(c, fh, part)
    t0 = time.time()
    off = read_paced(c, fh, sys.argv[4], float(sys.argv[5]))
    print(json.dumps({"bytes": off, "seconds": round(time.time() - t0, 2)}))
elif mode == "awayread":
    import time
    c = Conn(host)
    st, root = mnt(c, "/export")	# the flow exists once a packet went through
    landed, port = landed_node(c, sys.argv[3])
    homes = {"n1": "alpha", "n2": "beta", "n3": "gamma"}
    nxt = {"n1": "n2", "n2": "n3", "n3": "n1"}[landed]
    d = homes[nxt]
    st, fh = lookup(c, root, d)
    st, fh = lookup(c, fh, sys.argv[4])
    t0 = time.time()
    off = read_paced(c, fh, sys.argv[5], float(sys.argv[6]))
    print(json.dumps({"landed": landed, "home": nxt, "dir": d, "port": port, "bytes": off,
                      "seconds": round(time.time() - t0, 2)}))
elif mode == "placedread":
    import time
    homes = {"n1": "alpha", "n2": "beta", "n3": "gamma"}
    where = sys.argv[4]
    for attempt in range(40):
        c = Conn(host)
        st, root = mnt(c, "/export")	# the flow exists once a packet went through
        landed, port = landed_node(c, sys.argv[3])
        want = where.split(":")[1] if ":" in where else landed
        if (where.startswith("away:") and landed != want) or (not where.startswith("away:") and landed == want):
            break
        c.s.close()
    else:
        sys.exit("placedread: no connection landed as wanted")
    d = homes[want]
    st, fh = lookup(c, root, d)
    st, fh = lookup(c, fh, sys.argv[5])
    with open(sys.argv[8], "w") as f:
        f.write(json.dumps({"landed": landed, "home": want, "dir": d, "port": port}) + "\n")
    t0 = time.time()
    off = read_paced(c, fh, sys.argv[6], float(sys.argv[7]))
    print(json.dumps({"landed": landed, "home": want, "dir": d, "port": port, "bytes": off,
                      "seconds": round(time.time() - t0, 2)}))
elif mode == "burstwrite":
    c = Conn(host)
    st, root = mnt(c, "/export")	# the flow exists once a packet went through
    landed, port = landed_node(c, sys.argv[3])
    home = {"n1": "n2", "n2": "n3", "n3": "n1"}[landed]
    d = {"n1": "alpha", "n2": "beta", "n3": "gamma"}[home]
    st, dfh = lookup(c, root, d)
    r = c.call(100003, 3, 8, xdr_opaque(dfh) + xdr_opaque(b"bw.bin") + struct.pack(">I", 0) + SATTR_NONE)
    assert nfs_status(r) == 0, "CREATE"
    fh = r["body"][12:12 + struct.unpack(">I", r["body"][8:12])[0]]
    data = open(sys.argv[4], "rb").read()
    K = 262144
    def wmsg(off, n):
        c.xid += 1
        args = xdr_opaque(fh) + struct.pack(">QII", off, n, 0) + xdr_opaque(data[off:off + n])
        m = struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 7) + auth_sys() + AUTH_NONE + args
        return struct.pack(">I", 0x80000000 | len(m)) + m
    def answered(n):
        for i in range(n):
            assert nfs_status(c.reply()) == 0, "WRITE"
    off = 0
    for i in range(3):
        c.s.sendall(wmsg(off, K))
        answered(1)
        off += K
    # one send: the READ that passes the threshold, and the start of the next
    # WRITE right behind it (one large segment on a warm connection)
    c.xid += 1
    rd = struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 6) + auth_sys() + AUTH_NONE + \
        xdr_opaque(fh) + struct.pack(">QI", 0, 300 * 1024)
    nxt = wmsg(off, K)
    c.s.sendall(struct.pack(">I", 0x80000000 | len(rd)) + rd + nxt[:200 * 1024])
    r = c.reply()
    read_ok = nfs_status(r) == 0 and data[:300 * 1024] in r["body"]
    c.s.sendall(nxt[200 * 1024:])
    answered(1)
    off += K
    while off < len(data):
        n = min(K, len(data) - off)
        c.s.sendall(wmsg(off, n))
        answered(1)
        off += n
    assert nfs_status(c.call(100003, 3, 21, xdr_opaque(fh) + struct.pack(">QI", 0, 0))) == 0, "COMMIT"
    print(json.dumps({"landed": landed, "home": home, "dir": d, "port": port, "bytes": off,
                      "read_ok": read_ok}))
elif mode == "meta":
    import time
    c = Conn(host)
    # NFS_RPC_MOUNT_PORT: MOUNT on its own connection to that port (a
    # server such as nfs-ganesha serves MOUNT apart from NFS);
    # NFS_RPC_EXPORT: the export's path there (default /export)
    mport = os.environ.get("NFS_RPC_MOUNT_PORT")
    st, root = mnt(Conn(host, int(mport)) if mport else c, os.environ.get("NFS_RPC_EXPORT", "/export"))
    assert st == 0, "MNT failed: %s" % st
    cred = user(int(os.environ["NFS_RPC_UID"])) if os.environ.get("NFS_RPC_UID") else None
    if cred and os.environ.get("NFS_RPC_GID"):   # another gid than the uid
        cred = auth_sys(uid=int(os.environ["NFS_RPC_UID"]), gid=int(os.environ["NFS_RPC_GID"]))
    n, t0, end = 0, time.time(), time.time() + float(sys.argv[3])
    while time.time() < end:
        r = c.call(100003, 3, 3, xdr_opaque(root) + xdr_opaque(b"big.bin"), cred=cred)
        st = nfs_status(r)
        assert st == 0, "LOOKUP failed: %s" % st
        fh = r["body"][8:8 + struct.unpack(">I", r["body"][4:8])[0]]
        assert nfs_status(c.call(100003, 3, 1, xdr_opaque(fh), cred=cred)) == 0, "GETATTR failed"
        n += 2
    dt = time.time() - t0
    print(json.dumps({"ops": n, "seconds": round(dt, 3), "ops_per_s": round(n / dt)}))
elif mode == "latread":
    import time
    c = Conn(host)
    a = c.s.getsockname()
    open(sys.argv[5], "w").write("%s:%d" % (a[0], a[1]))
    local = open(os.environ["NFS_RPC_LOCAL"], "rb").read() if os.environ.get("NFS_RPC_LOCAL") else None
    st, root = mnt(c, "/export")
    st, fh = lookup(c, root, sys.argv[3])
    lat, off, ok, end = [], 0, True, time.time() + float(sys.argv[4])
    while time.time() < end:
        t = time.perf_counter()
        st, data, eof = read3(c, fh, off, 65536)
        lat.append((time.perf_counter() - t) * 1000)
        assert st == 0, "READ failed"
        if local is not None and data != local[off:off + len(data)]:
            ok = False
        off = 0 if eof or not data else off + len(data)
    lat.sort()
    print(json.dumps({"calls": len(lat), "p50_ms": round(lat[len(lat) // 2], 3),
                      "p99_ms": round(lat[len(lat) * 99 // 100], 3), "max_ms": round(lat[-1], 3), "ok": ok}))
elif mode == "inflight":
    import time
    c = Conn(host)
    a = c.s.getsockname()
    open(sys.argv[5], "w").write("%s:%d" % (a[0], a[1]))
    local = open(os.environ["NFS_RPC_LOCAL"], "rb").read()
    depth, stop = int(sys.argv[4]), sys.argv[6]
    st, root = mnt(c, "/export")
    st, fh = lookup(c, root, sys.argv[3])
    assert st == 0, "LOOKUP failed: %s" % st
    c.s.settimeout(30)
    pend, lat, res = {}, [], {"calls": 0, "bad": 0, "max_gap_ms": 0.0, "error": None}
    nxt = [0]

    def next_read():
        off = nxt[0]
        nxt[0] = 0 if off + 32768 >= len(local) else off + 32768
        pend[send_read(c, fh, off, 32768)] = (off, time.perf_counter())
    for _ in range(depth):
        next_read()
    last = time.perf_counter()
    stopping = False
    while pend:
        r = c.reply()
        now = time.perf_counter()
        if r.get("closed") or r.get("xid") not in pend:
            res["error"] = "closed" if r.get("closed") else "unexpected xid %s" % r.get("xid")
            break
        off, t = pend.pop(r["xid"])
        lat.append((now - t) * 1000)
        res["max_gap_ms"] = max(res["max_gap_ms"], (now - last) * 1000)
        last = now
        res["calls"] += 1
        if read_data(r) != local[off:off + 32768]:
            res["bad"] += 1
        if not stopping and res["calls"] % 16 == 0 and os.path.exists(stop):
            stopping = True
        if not stopping:
            next_read()
    lat.sort()
    res.update({"max_ms": round(lat[-1], 3) if lat else None, "p50_ms": round(lat[len(lat) // 2], 3) if lat else None,
                "p99_ms": round(lat[len(lat) * 99 // 100], 3) if lat else None, "max_gap_ms": round(res["max_gap_ms"], 3)})
    res["ok"] = res["error"] is None and res["bad"] == 0 and res["calls"] > depth
    print(json.dumps(res))
    sys.exit(0 if res["ok"] else 1)
elif mode == "halfread":
    import time
    c = Conn(host)
    st, root = mnt(c, "/export")
    st, fh = lookup(c, root, sys.argv[3])
    assert st == 0, "LOOKUP failed: %s" % st
    c.s.close()
    # the slow reader: a small receive buffer from the start (the window)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    c.s = socket.socket(fam, socket.SOCK_STREAM)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.s.settimeout(60)
    c.s.connect((host, 2049))
    a = c.s.getsockname()
    open(sys.argv[5], "w").write("%s:%d" % (a[0], a[1]))
    local = open(os.environ["NFS_RPC_LOCAL"], "rb").read()
    reads = [(0, 1 << 20)] + [((1 << 20) + i * 32768, 32768) for i in range(int(sys.argv[4]))]
    want = {}
    for off, cnt in reads:
        want[send_read(c, fh, off, cnt)] = (off, cnt)
    open(sys.argv[6], "w").close()
    while not os.path.exists(sys.argv[7]):
        time.sleep(0.02)
    res = {"replies": 0, "bad": 0, "big_end_ns": None, "error": None}
    for _ in reads:
        r = c.reply()
        if r.get("closed") or r.get("xid") not in want:
            res["error"] = "closed" if r.get("closed") else "unexpected xid"
            break
        off, cnt = want.pop(r["xid"])
        if cnt == 1 << 20:
            res["big_end_ns"] = time.monotonic_ns()
        res["replies"] += 1
        res["bad"] += 0 if read_data(r) == local[off:off + cnt] else 1
    res["ok"] = res["error"] is None and res["bad"] == 0 and res["replies"] == len(reads)
    print(json.dumps(res))
    sys.exit(0 if res["ok"] else 1)
elif mode == "forge":
    c = Conn(host)
    st, root = mnt(c, "/export")
    st, fh = lookup(c, root, sys.argv[3])
    res = {"mnt": st, "lookup": st, "valid": getattr_st(c, fh), "altered": {}, "accepted": []}
    for i in range(len(fh)):
        for bit in (0x01, 0x80):
            f = bytearray(fh)
            f[i] ^= bit
            s = getattr_st(c, bytes(f))
            res["altered"][str(s)] = res["altered"].get(str(s), 0) + 1
            if s not in (10001, 70):
                res["accepted"].append([i, bit, s])
    # a handle for another inode with the old MAC: the classic forgery
    f = bytearray(fh); f[15] ^= 0x02
    res["other_inode"] = getattr_st(c, bytes(f))
    for name, f in (("short", fh[:-1]), ("long", fh + b"\0"), ("empty", b""), ("zeros", bytes(36))):
        res[name] = getattr_st(c, f)
    res["valid_after"] = getattr_st(c, fh)
    print(json.dumps(res))
elif mode == "malformed":
    out = []
    def case(name, want, got):
        out.append({"name": name, "want": want, "got": got})
    c = Conn(host)
    st, root = mnt(c, "/export")
    r = c.call(100003, 3, 1, xdr_opaque(root), rpcvers=3)
    case("rpcvers 3: RPC_MISMATCH 2..2", "RPC_MISMATCH 2 2", "%s %s %s" % (r.get("reject"), r.get("low"), r.get("high")))
    r = c.call(100099, 1, 0)
    case("unknown program: PROG_UNAVAIL", 1, r.get("accept_stat"))
    r = c.call(100003, 4, 0)
    case("NFS v4: PROG_MISMATCH 3..3", "2 3 3", "%s %s %s" % (r.get("accept_stat"), r.get("low"), r.get("high")))
    r = c.call(100005, 1, 0)
    case("MOUNT v1: PROG_MISMATCH 3..3", "2 3 3", "%s %s %s" % (r.get("accept_stat"), r.get("low"), r.get("high")))
    r = c.call(100003, 3, 99, xdr_opaque(root))
    case("NFS proc 99: PROC_UNAVAIL", 3, r.get("accept_stat"))
    r = c.call(100003, 3, 1, xdr_opaque(root)[:-3])
    case("GETATTR truncated: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c.call(100003, 3, 1, xdr_opaque(root) + b"\0\0\0\0")
    case("GETATTR trailing bytes: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c.call(100003, 3, 1, struct.pack(">I", 65) + bytes(68))
    case("handle of 65 bytes: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c.call(100003, 3, 6, xdr_opaque(root) + struct.pack(">QI", 0, 4096) + b"x")
    case("READ with a stray byte: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c.call(100003, 3, 7, xdr_opaque(root) + struct.pack(">QII", 0, 100, 0) + struct.pack(">I", 50) + bytes(52))
    case("WRITE count != data length: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c.call(100003, 3, 1, xdr_opaque(root), cred=auth_sys(machine=b"m" * 300))
    case("AUTH_SYS machinename 300 bytes: AUTH_BADCRED", "AUTH_ERROR 1", "%s %s" % (r.get("reject"), r.get("auth_stat")))
    r = c.call(100003, 3, 1, xdr_opaque(root), cred=auth_sys(gids=range(17)))
    case("AUTH_SYS 17 gids: AUTH_BADCRED", "AUTH_ERROR 1", "%s %s" % (r.get("reject"), r.get("auth_stat")))
    r = c.call(100003, 3, 1, xdr_opaque(root), cred=struct.pack(">I", 1) + xdr_opaque(b"\0" * 8))
    case("AUTH_SYS body truncated: AUTH_BADCRED", "AUTH_ERROR 1", "%s %s" % (r.get("reject"), r.get("auth_stat")))
    r = c.call(100003, 3, 1, xdr_opaque(root), cred=struct.pack(">I", 6) + xdr_opaque(b"gss!"))
    case("RPCSEC_GSS credential: AUTH_TOOWEAK", "AUTH_ERROR 5", "%s %s" % (r.get("reject"), r.get("auth_stat")))
    r = c.call(100003, 3, 1, xdr_opaque(root), cred=AUTH_NONE)
    case("GETATTR with AUTH_NONE: AUTH_TOOWEAK", "AUTH_ERROR 5", "%s %s" % (r.get("reject"), r.get("auth_stat")))
    r = c.call(100003, 3, 0, cred=AUTH_NONE)
    case("NFS NULL with AUTH_NONE: SUCCESS", 0, r.get("accept_stat"))
    r = c.call(100003, 3, 11, xdr_opaque(root) + xdr_opaque(b"dev") + struct.pack(">I", 7) + bytes(24))
    case("MKNOD FIFO: NFS3ERR_NOTSUPP", 10004, nfs_status(r))
    # a REPLY sent to the server: no answer (RFC 5531), the connection goes on
    c.send_record(struct.pack(">II", 4242, 1) + bytes(16))
    r = c.call(100003, 3, 0)
    case("a REPLY message is ignored, the next call answered", "0 True", "%s %s" % (r.get("accept_stat"), r.get("xid") == c.xid))
    # fragments: one call in three fragments
    c.xid += 1
    msg = struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 0) + auth_sys() + AUTH_NONE
    c.s.sendall(struct.pack(">I", 5) + msg[:5] + struct.pack(">I", 0) + struct.pack(">I", 0x80000000 | (len(msg) - 5)) + msg[5:])
    r = c.reply()
    case("a call in three fragments (one empty)", "0 True", "%s %s" % (r.get("accept_stat"), r.get("xid") == c.xid))
    # oversize record: the connection is closed
    c2 = Conn(host)
    c2.s.sendall(struct.pack(">I", 0x80000000 | (64 << 20)) + bytes(1024))
    r = c2.reply()
    case("a 64 MiB record: connection closed", True, r.get("closed", False))
    c3 = Conn(host)
    try:
        c3.s.sendall(struct.pack(">I", 0) * 300)
    except (ConnectionResetError, BrokenPipeError):
        pass
    r = c3.reply()
    case("300 empty fragments: connection closed", True, r.get("closed", False))
    c4 = Conn(host, 111)
    r = c4.call(100000, 2, 3, struct.pack(">IIII", 100003, 3, 6, 0))
    case("portmapper GETPORT nfs v3 tcp: 2049", 2049, struct.unpack(">I", r["body"][:4])[0] if "body" in r else None)
    r = c4.call(100000, 2, 3, struct.pack(">IIII", 100005, 3, 6, 0))
    case("portmapper GETPORT mount v3 tcp: 2049", 2049, struct.unpack(">I", r["body"][:4])[0] if "body" in r else None)
    r = c4.call(100000, 2, 3, struct.pack(">IIII", 100003, 3, 17, 0))
    case("portmapper GETPORT nfs udp: 0", 0, struct.unpack(">I", r["body"][:4])[0] if "body" in r else None)
    r = c4.call(100000, 2, 3, struct.pack(">III", 100003, 3, 6))
    case("portmapper GETPORT truncated: GARBAGE_ARGS", 4, r.get("accept_stat"))
    r = c4.call(100000, 5, 3)
    case("rpcbind v5: PROG_MISMATCH 2..4", "2 2 4", "%s %s %s" % (r.get("accept_stat"), r.get("low"), r.get("high")))
    def xstr(t):
        b = t.encode()
        return struct.pack(">I", len(b)) + b + bytes(-len(b) % 4)
    netid = "tcp6" if ":" in host else "tcp"	# the called address's family
    r = c4.call(100000, 3, 3, struct.pack(">II", 100003, 3) + xstr(netid) + xstr("") + xstr(""))
    ua = r["body"][4:4 + struct.unpack(">I", r["body"][:4])[0]].decode() if "body" in r else None
    case("rpcbind v3 GETADDR nfs v3 %s: the universal address called" % netid, host + ".8.1", ua)
    r = c.call(100003, 3, 0)
    case("first connection still answers NULL", 0, r.get("accept_stat"))
    for o in out:
        print(json.dumps(o))
elif mode == "procs":
    # every NFSv3 procedure against the export, as a client would use it;
    # prints one JSON line per check {"name","want","got"}
    out = []
    def case(name, want, got):
        out.append({"name": name, "want": want, "got": got})
    def u32(b, o=0): return struct.unpack(">I", b[o:o + 4])[0]
    def fattr(b, o):   # -> dict, new offset
        t, m, nl, uid, gid = struct.unpack(">IIIII", b[o:o + 20])
        size, used = struct.unpack(">QQ", b[o + 20:o + 36])
        fileid = struct.unpack(">Q", b[o + 52:o + 60])[0]
        ct = struct.unpack(">II", b[o + 76:o + 84])
        return {"type": t, "mode": m, "nlink": nl, "uid": uid, "size": size, "fileid": fileid, "ctime": ct}, o + 84
    def post_attr(b, o):
        if u32(b, o):
            return fattr(b, o + 4)
        return None, o + 4
    def wcc(b, o):
        if u32(b, o):
            o += 4 + 24
        else:
            o += 4
        return post_attr(b, o)
    def sattr(mode=None, size=None):
        s = b""
        s += struct.pack(">II", 1, mode) if mode is not None else struct.pack(">I", 0)
        s += struct.pack(">II", 0, 0)
        s += struct.pack(">IQ", 1, size) if size is not None else struct.pack(">I", 0)
        s += struct.pack(">II", 0, 0)
        return s
    c = Conn(host)
    st, root = mnt(c, "/export")
    def nfs(proc, args, cred=None):
        r = c.call(100003, 3, proc, args, cred=cred)
        return u32(r["body"]), r["body"]
    def getattr(fh):
        s, b = nfs(1, xdr_opaque(fh))
        return fattr(b, 4)[0] if s == 0 else None
    def create_like(proc, dirfh, name, rest, cred=None):
        s, b = nfs(proc, xdr_opaque(dirfh) + xdr_opaque(name.encode()) + rest, cred)
        if s != 0:
            return s, None
        assert u32(b, 4) == 1
        n = u32(b, 8)
        return s, b[12:12 + n]
    top = sys.argv[3]
    s, d = create_like(9, root, top, sattr(0o755))
    case("MKDIR", 0, s)
    s, f = create_like(8, d, "f", struct.pack(">I", 1) + sattr(0o640))
    case("CREATE GUARDED", 0, s)
    case("CREATE GUARDED again: EXIST", 17, create_like(8, d, "f", struct.pack(">I", 1) + sattr(0o640))[0])
    case("CREATE UNCHECKED over it: OK, same file", [0, True], (lambda r: [r[0], r[1] == f])(create_like(8, d, "f", struct.pack(">I", 0) + sattr())))
    case("new file's mode 0640 (past the umask)", 0o640, getattr(f)["mode"])
    s, b = nfs(7, xdr_opaque(f) + struct.pack(">QII", 0, 11, 0) + xdr_opaque(b"hello world"))
    a, o = wcc(b, 4)
    case("WRITE UNSTABLE: count 11, committed UNSTABLE", [0, 11, 0], [s, u32(b, o), u32(b, o + 4)])
    verf1 = b[o + 8:o + 16]
    s, b = nfs(21, xdr_opaque(f) + struct.pack(">QI", 0, 0))
    a, o = wcc(b, 4)
    case("COMMIT: same write verifier", [0, True], [s, b[o:o + 8] == verf1])
    s, b = nfs(7, xdr_opaque(f) + struct.pack(">QII", 11, 1, 2) + xdr_opaque(b"!"))
    a, o = wcc(b, 4)
    case("WRITE FILE_SYNC: committed FILE_SYNC", [0, 1, 2], [s, u32(b, o), u32(b, o + 4)])
    s, b = nfs(6, xdr_opaque(f) + struct.pack(">QI", 0, 100))
    a, o = post_attr(b, 4)
    n = u32(b, o)
    case("READ: the bytes written, eof", [0, 12, 1, "hello world!"], [s, n, u32(b, o + 4), b[o + 12:o + 12 + n].decode()])
    s, b = nfs(6, xdr_opaque(f) + struct.pack(">QI", 6, 3))
    a, o = post_attr(b, 4)
    case("READ in the middle: no eof", [0, 3, 0, "wor"], [s, u32(b, o), u32(b, o + 4), b[o + 12:o + 15].decode()])
    at = getattr(f)
    s, b = nfs(2, xdr_opaque(f) + sattr(size=5) + struct.pack(">III", 1, at["ctime"][0] ^ 1, at["ctime"][1]))
    case("SETATTR with a wrong guard: NOT_SYNC", 10002, s)
    s, b = nfs(2, xdr_opaque(f) + sattr(size=5) + struct.pack(">III", 1, at["ctime"][0], at["ctime"][1]))
    case("SETATTR size 5 with the right guard", [0, 5], [s, getattr(f)["size"]])
    s, b = nfs(2, xdr_opaque(f) + sattr(mode=0o600) + struct.pack(">I", 0))
    case("SETATTR mode 0600", [0, 0o600], [s, getattr(f)["mode"]])
    s, ln = create_like(10, d, "ln", sattr() + xdr_opaque(b"f"))
    case("SYMLINK", 0, s)
    s, b = nfs(5, xdr_opaque(ln))
    a, o = post_attr(b, 4)
    case("READLINK", [0, "f"], [s, b[o + 4:o + 4 + u32(b, o)].decode()])
    s, b = nfs(15, xdr_opaque(f) + xdr_opaque(d) + xdr_opaque(b"hard"))
    case("LINK: nlink 2", [0, 2], [s, getattr(f)["nlink"]])
    s, b = nfs(14, xdr_opaque(d) + xdr_opaque(b"f") + xdr_opaque(d) + xdr_opaque(b"g"))
    case("RENAME f -> g", 0, s)
    s, g = lookup(c, d, "g")
    case("LOOKUP g: the same handle as f", [0, True], [s, g == f])
    case("LOOKUP f after the rename: NOENT", 2, lookup(c, d, "f")[0])
    case("GETATTR of the renamed file's handle", 5, (getattr(f) or {}).get("size"))
    s, e = create_like(8, d, "x", struct.pack(">I", 2) + b"verf0001")
    case("CREATE EXCLUSIVE", 0, s)
    case("CREATE EXCLUSIVE retransmitted (same verifier): OK", 0, create_like(8, d, "x", struct.pack(">I", 2) + b"verf0001")[0])
    case("CREATE EXCLUSIVE other verifier: EXIST", 17, create_like(8, d, "x", struct.pack(">I", 2) + b"verf0002")[0])
    for i in range(40):
        create_like(8, d, "many-%02d-%s" % (i, "n" * 60), struct.pack(">I", 0) + sattr())
    def readdir(plus, count):
        names, cookie, verf, calls = [], 0, bytes(8), 0
        while calls < 100:
            calls += 1
            if plus:
                s, b = nfs(17, xdr_opaque(d) + struct.pack(">Q", cookie) + verf + struct.pack(">II", count, count))
            else:
                s, b = nfs(16, xdr_opaque(d) + struct.pack(">Q", cookie) + verf + struct.pack(">I", count))
            if s != 0:
                return s, names, calls, verf
            a, o = post_attr(b, 4)
            verf = b[o:o + 8]
            o += 8
            while u32(b, o):
                o += 4 + 8
                n = u32(b, o)
                names.append(b[o + 4:o + 4 + n].decode())
                o += 4 + (n + 3) // 4 * 4
                cookie = struct.unpack(">Q", b[o:o + 8])[0]
                o += 8
                if plus:
                    at, o = post_attr(b, o)
                    if u32(b, o):
                        o += 4 + 4 + (u32(b, o + 4) + 3) // 4 * 4
                    else:
                        o += 4
            if u32(b, o + 4):
                return 0, names, calls, verf
        return -1, names, calls, verf
    want = sorted([".", "..", "g", "ln", "hard", "x"] + ["many-%02d-%s" % (i, "n" * 60) for i in range(40)])
    s, names, calls, verf = readdir(False, 1024)
    case("READDIR in pieces (count 1024): every name once", [0, want, True], [s, sorted(names), calls > 1])
    s, names, calls, verf = readdir(True, 2048)
    case("READDIRPLUS in pieces (maxcount 2048): every name once", [0, want, True], [s, sorted(names), calls > 1])
    s, b = nfs(16, xdr_opaque(d) + struct.pack(">Q", 12345) + bytes([v ^ 0xff for v in verf]) + struct.pack(">I", 4096))
    case("READDIR with another cookie verifier: BAD_COOKIE", 10003, s)
    s, b = nfs(16, xdr_opaque(d) + struct.pack(">Q", 0) + bytes(8) + struct.pack(">I", 40))
    case("READDIR count too small for one entry: TOOSMALL", 10005, s)
    s, b = nfs(4, xdr_opaque(d) + struct.pack(">I", 0x3f))
    a, o = post_attr(b, 4)
    case("ACCESS on a directory as root: READ LOOKUP MODIFY EXTEND DELETE", [0, 0x1f], [s, u32(b, o)])
    s, b = nfs(18, xdr_opaque(d))
    case("FSSTAT", 0, s)
    s, b = nfs(19, xdr_opaque(d))
    a, o = post_attr(b, 4)
    case("FSINFO rtmax 1 MiB", [0, 1 << 20], [s, u32(b, o)])
    s, b = nfs(20, xdr_opaque(d))
    a, o = post_attr(b, 4)
    case("PATHCONF name_max 255", [0, 255], [s, u32(b, o + 4)])
    s, b = nfs(11, xdr_opaque(d) + xdr_opaque(b"fifo") + struct.pack(">I", 7) + sattr())
    case("MKNOD: NOTSUPP", 10004, s)
    s, b = nfs(3, xdr_opaque(d) + xdr_opaque(b".."))
    case("LOOKUP .. gives the export root", [0, True], [s, b[8:8 + u32(b, 4)] == root])
    case("LOOKUP .. of the root stays at the root", True, lookup(c, root, "..")[1] == root)
    case("LOOKUP a name with '/': INVAL", 22, lookup(c, root, top + "/g")[0])
    s, esc = create_like(10, d, "esc", sattr() + xdr_opaque(b"/etc"))
    case("SYMLINK to /etc (stored verbatim)", 0, s)
    s, b = nfs(6, xdr_opaque(esc) + struct.pack(">QI", 0, 100))
    case("READ through a symlink handle: INVAL (never followed)", 22, s)
    case("MNT through the symlink out of the export: ACCES", 13, mnt(c, "/export/%s/esc" % top)[0])
    case("LOOKUP through the symlink: NOTDIR", 20, lookup(c, esc, "passwd")[0])
    user = auth_sys(uid=1000, gid=1000)
    case("CREATE as uid 1000 in a root-owned 0755 directory: ACCES", 13, create_like(8, d, "u", struct.pack(">I", 0) + sattr(), cred=user)[0])
    s, b = nfs(6, xdr_opaque(f) + struct.pack(">QI", 0, 10), cred=user)
    case("READ as uid 1000 of a root-owned 0600 file: ACCES", 13, s)
    s, b = nfs(12, xdr_opaque(d) + xdr_opaque(b"g"), cred=user)
    case("REMOVE as uid 1000: ACCES", 13, s)
    case("RMDIR of a non-empty directory: NOTEMPTY", 66, nfs(13, xdr_opaque(root) + xdr_opaque(top.encode()))[0])
    case("REMOVE of a directory: ISDIR", 21, nfs(12, xdr_opaque(root) + xdr_opaque(top.encode()))[0])
    names = ["g", "ln", "hard", "x", "esc"] + ["many-%02d-%s" % (i, "n" * 60) for i in range(40)]
    case("REMOVE every entry", [0] * len(names), [nfs(12, xdr_opaque(d) + xdr_opaque(n.encode()))[0] for n in names])
    case("GETATTR of the removed file: STALE", 70, nfs(1, xdr_opaque(f))[0])
    case("RMDIR", 0, nfs(13, xdr_opaque(root) + xdr_opaque(top.encode()))[0])
    for o in out:
        print(json.dumps(o))
elif mode == "ns":
    # one namespace over the nodes: the virtual root, homes
    # in the handles, RENAME across homes refused, the root read-only
    out = []
    def case(name, want, got):
        out.append({"name": name, "want": want, "got": got})
    def u32(b, o=0): return struct.unpack(">I", b[o:o + 4])[0]
    c = Conn(host)
    st, root = mnt(c, "/export")
    case("MNT /export: the virtual root (node 0, flags 1, inode 0)", [0, 0, 1, 0], [st, root[1], struct.unpack(">H", root[2:4])[0], struct.unpack(">Q", root[8:16])[0]])
    r = c.call(100003, 3, 1, xdr_opaque(root))
    case("GETATTR of the root: a directory, fileid 1", [0, 2, 1], [nfs_status(r), u32(r["body"], 4), struct.unpack(">Q", r["body"][4 + 52:4 + 60])[0]])
    fhs = {}
    for d, node in (("alpha", 1), ("beta", 2), ("gamma", 3)):
        st, fh = lookup(c, root, d)
        fhs[d] = fh
        case("LOOKUP %s: a handle issued by its home n%d" % (d, node), [0, node], [st, fh[1] if fh else None])
    case("LOOKUP of a name not in the map: NOENT", 2, lookup(c, root, "nope")[0])
    st, up = lookup(c, fhs["beta"], "..")
    case("LOOKUP .. of a top-level directory: the virtual root", [0, True], [st, up == root])
    name = "ns-%d" % os.getpid()
    def create(dirfh, n):
        r = c.call(100003, 3, 8, xdr_opaque(dirfh) + xdr_opaque(n.encode()) + struct.pack(">I", 1) + bytes(24))
        return nfs_status(r)
    case("CREATE in the virtual root: ACCES", 13, create(root, name))
    case("CREATE in alpha (home n1)", 0, create(fhs["alpha"], name))
    r = c.call(100003, 3, 14, xdr_opaque(fhs["alpha"]) + xdr_opaque(name.encode()) + xdr_opaque(fhs["alpha"]) + xdr_opaque((name + ".r").encode()))
    case("RENAME within alpha", 0, nfs_status(r))
    st, ffh = lookup(c, fhs["alpha"], name + ".r")
    data = os.urandom(3 * 1048576 + 12345)
    off, wst = 0, 0
    while off < len(data) and wst == 0:
        chunk = data[off:off + 1048576]
        wst = nfs_status(c.call(100003, 3, 7, xdr_opaque(ffh) + struct.pack(">QII", off, len(chunk), 2) + xdr_opaque(chunk)))
        off += len(chunk)
    case("WRITE 3 MiB into it", 0, wst)
    r = c.call(100003, 3, 14, xdr_opaque(fhs["alpha"]) + xdr_opaque((name + ".r").encode()) + xdr_opaque(fhs["beta"]) + xdr_opaque(name.encode()))
    case("RENAME alpha -> beta (another home): OK, the file moves", 0, nfs_status(r))
    case("... gone from alpha", 2, lookup(c, fhs["alpha"], name + ".r")[0])
    st, bfh = lookup(c, fhs["beta"], name)
    case("... in beta, a handle of n2", [0, 2], [st, bfh[1] if bfh else None])
    got, off = b"", 0
    while bfh and off < len(data) + 1:
        r = c.call(100003, 3, 6, xdr_opaque(bfh) + struct.pack(">QI", off, 1048576))
        b = r["body"]
        if nfs_status(r) != 0:
            break
        o = 8 + 84 if u32(b, 4) else 8
        n, eof = struct.unpack(">II", b[o:o + 8])
        got += b[o + 12:o + 12 + n]
        off += n
        if eof or n == 0:
            break
    case("... with the same bytes", True, got == data)
    print(json.dumps({"moved": name}))
    dn = name + ".d"
    r = c.call(100003, 3, 9, xdr_opaque(fhs["alpha"]) + xdr_opaque(dn.encode()) + bytes(24))
    r = c.call(100003, 3, 14, xdr_opaque(fhs["alpha"]) + xdr_opaque(dn.encode()) + xdr_opaque(fhs["gamma"]) + xdr_opaque(dn.encode()))
    case("RENAME of a directory alpha -> gamma: XDEV", 18, nfs_status(r))
    r = c.call(100003, 3, 13, xdr_opaque(fhs["alpha"]) + xdr_opaque(dn.encode()))
    r = c.call(100003, 3, 15, xdr_opaque(bfh or b"") + xdr_opaque(fhs["gamma"]) + xdr_opaque(b"hardlink"))
    case("LINK beta/file into gamma: XDEV", 18, nfs_status(r))
    r = c.call(100003, 3, 12, xdr_opaque(fhs["beta"]) + xdr_opaque(name.encode()))
    case("REMOVE in beta", 0, nfs_status(r))
    r = c.call(100003, 3, 17, xdr_opaque(root) + struct.pack(">Q", 0) + bytes(8) + struct.pack(">II", 8192, 8192))
    names, o = [], 4
    o += 4 + 84 if u32(r["body"], 4) else 4
    o += 8
    while u32(r["body"], o):
        n = u32(r["body"], o + 12)
        names.append(r["body"][o + 16:o + 16 + n].decode())
        o += 16 + (n + 3) // 4 * 4 + 8
        if u32(r["body"], o):
            o += 4 + 84
        else:
            o += 4
        if u32(r["body"], o):
            o += 8 + (u32(r["body"], o + 4) + 3) // 4 * 4
        else:
            o += 4
    case("READDIRPLUS of the root: ., .., alpha, beta, gamma", [0, [".", "..", "alpha", "beta", "gamma"]], [nfs_status(r), sorted(names)])
    f = bytearray(root); f[9] ^= 1
    case("an altered root handle: BADHANDLE", 10001, getattr_st(c, bytes(f)))
    for d in ("alpha", "beta", "gamma"):
        case("GETATTR %s through this node" % d, 0, getattr_st(c, fhs[d]))
    print(json.dumps({"fh": {k: v.hex() for k, v in fhs.items()}}))
    for o in out:
        print(json.dumps(o))
elif mode == "null":
    r = Conn(host).call(100003, 3, 0)
    print(json.dumps({"null": "closed" if r.get("closed") else r.get("accept_stat")}))
elif mode == "create":
    c = Conn(host)
    cred = user(int(sys.argv[5]))
    st, d = walk(c, sys.argv[3])
    r = c.call(100003, 3, 8, xdr_opaque(d or b"") + xdr_opaque(sys.argv[4].encode()) + struct.pack(">I", 0) + SATTR_NONE, cred=cred)
    print(json.dumps({"create": nfs_status(r)}))
elif mode == "fwdverf":
    # a CREATE as root carrying the verifier only nodes put on the calls they
    # forward (oncrpc.h RPC_AUTH_TANDEM_FWD: writable, no root squash)
    c = Conn(host)
    st, d = walk(c, sys.argv[3])
    c.xid += 1
    verf = struct.pack(">II", 400019, 16) + struct.pack(">IIII", 1, 0, 0, 0xffffffff)
    args = xdr_opaque(d or b"") + xdr_opaque(sys.argv[4].encode()) + struct.pack(">I", 0) + SATTR_NONE
    r = c.call(100003, 3, 8, raw=struct.pack(">IIIIII", c.xid, 0, 2, 100003, 3, 8) + auth_sys() + verf + args)
    print(json.dumps({"auth_error": r.get("auth_stat"), "create": None if "auth_stat" in r else nfs_status(r)}))
elif mode == "hold":
    import select, time
    n, secs, nbytes, ready = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    socks, opened = [], 0
    for i in range(n):
        try:
            k = socket.create_connection((host, 2049), timeout=5)
        except OSError:
            continue
        opened += 1
        try:
            k.sendall(struct.pack(">I", 0x80000000 | (1 << 20)) + bytes(nbytes))
        except OSError:
            pass
        k.setblocking(False)
        socks.append(k)
    open(ready, "w").write("ready\n")
    t0, closed, open_ = time.time(), [], list(socks)
    while open_ and time.time() - t0 < secs:
        rd, _, _ = select.select(open_, [], [], 0.1)
        for k in rd:
            try:
                b = k.recv(65536)
            except OSError:
                b = b""
            if not b:
                closed.append(round((time.time() - t0) * 1000))
                open_.remove(k)
    rest = secs - (time.time() - t0)
    if rest > 0:
        time.sleep(rest)
    print(json.dumps({"opened": opened, "closed_by_server": len(closed), "closed_ms": closed[:5]}))
elif mode == "idle":
    import time
    c = Conn(host)
    r = c.call(100003, 3, 0)
    t0 = time.time()
    c.s.settimeout(float(sys.argv[3]))
    try:
        b = c.s.recv(1)
        gone = round((time.time() - t0) * 1000) if not b else None
    except socket.timeout:
        gone = None
    except ConnectionResetError:
        gone = round((time.time() - t0) * 1000)
    print(json.dumps({"null": r.get("accept_stat"), "closed_after_ms": gone}))
elif mode == "conns":
    import time
    n, secs = int(sys.argv[3]), float(sys.argv[4])
    answered, closed, cs = 0, 0, []
    for i in range(n):
        c = Conn(host)
        r = c.call(100003, 3, 0)
        if r.get("closed"):
            closed += 1
        else:
            answered += 1
            cs.append(c)
    time.sleep(secs)
    print(json.dumps({"answered": answered, "closed": closed}))
elif mode == "stale":
    import time
    c = Conn(host)
    cred = user(1000)
    st, d = walk(c, sys.argv[3])
    name = "stale-%d" % os.getpid()
    r = c.call(100003, 3, 8, xdr_opaque(d) + xdr_opaque(name.encode()) + struct.pack(">I", 0) + SATTR_NONE, cred=cred)
    fh = r["body"][12:12 + struct.unpack(">I", r["body"][8:12])[0]] if nfs_status(r) == 0 else b""
    c.call(100003, 3, 12, xdr_opaque(d) + xdr_opaque(name.encode()), cred=cred)
    sts, ms = [], []
    for i in range(int(sys.argv[4])):
        t = time.perf_counter()
        sts.append(nfs_status(c.call(100003, 3, 1, xdr_opaque(fh), cred=cred)))
        ms.append(round((time.perf_counter() - t) * 1000, 3))
    print(json.dumps({"statuses": sorted(set(sts)), "ms": ms}))
elif mode == "reuse":
    c = Conn(host)
    cred = user(1000)
    st, d = walk(c, sys.argv[3])
    name = ("reuse-%d" % os.getpid()).encode()
    def create_fh():
        r = c.call(100003, 3, 8, xdr_opaque(d) + xdr_opaque(name) + struct.pack(">I", 0) + SATTR_NONE, cred=cred)
        assert nfs_status(r) == 0, "CREATE failed: %s" % nfs_status(r)
        return r["body"][12:12 + struct.unpack(">I", r["body"][8:12])[0]]
    def fileid(fh):
        r = c.call(100003, 3, 1, xdr_opaque(fh), cred=cred)
        return struct.unpack(">Q", r["body"][56:64])[0] if nfs_status(r) == 0 else None
    old, new, reused = set(), set(), 0
    for i in range(int(sys.argv[4])):
        fh1 = create_fh()
        id1 = fileid(fh1)
        c.call(100003, 3, 12, xdr_opaque(d) + xdr_opaque(name), cred=cred)
        fh2 = create_fh()
        new.add(nfs_status(c.call(100003, 3, 1, xdr_opaque(fh2), cred=cred)))
        old.add(nfs_status(c.call(100003, 3, 1, xdr_opaque(fh1), cred=cred)))
        reused += int(id1 is not None and id1 == fileid(fh2))
        c.call(100003, 3, 12, xdr_opaque(d) + xdr_opaque(name), cred=cred)
    print(json.dumps({"old": sorted(old), "new": sorted(new), "reused": reused}))
elif mode == "fifo":
    a, b = Conn(host), Conn(host)
    st, d = walk(a, sys.argv[3])
    st, root = mnt(b, "/export")
    a.xid += 1
    a.send_record(struct.pack(">IIIIII", a.xid, 0, 2, 100003, 3, 8) + user(1000) + AUTH_NONE +
                  xdr_opaque(d) + xdr_opaque(sys.argv[4].encode()) + struct.pack(">I", 0) + SATTR_NONE)
    b.s.settimeout(3)
    r = b.call(100003, 3, 1, xdr_opaque(root))
    g = "timeout" if r.get("closed") else nfs_status(r)
    a.s.settimeout(3)
    r = a.reply()
    print(json.dumps({"create": "timeout" if r.get("closed") else nfs_status(r), "getattr": g}))
elif mode == "race":
    import subprocess, threading, time
    a, b = Conn(host), Conn(host)
    cred = user(1000)
    d, name, other = sys.argv[3], sys.argv[4], sys.argv[6]
    def find():   # the file's handle, under whichever name it has now
        for n in (name, other):
            st, h = walk(a, d + "/" + n)
            if st == 0 and getattr_fileid(a, h) == fileid:
                return h
        return None
    def getattr_fileid(c, h):
        r = c.call(100003, 3, 1, xdr_opaque(h))
        return struct.unpack(">Q", r["body"][4 + 52:4 + 60])[0] if nfs_status(r) == 0 else None
    st, fh = walk(a, d + "/" + name)
    fileid = getattr_fileid(a, fh)
    st, root = mnt(b, "/export")
    # swap the file and the FIFO by rename (RENAME_EXCHANGE) meanwhile
    swap = subprocess.Popen([sys.executable, "-c", """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)
""", sys.argv[7], sys.argv[8]])
    a.s.settimeout(3)
    b.s.settimeout(3)
    res = {"reads": 0, "statuses": {}, "getattr_timeouts": 0, "getattr_max_ms": 0}
    end = time.time() + float(sys.argv[5])
    def prober():
        while time.time() < end:
            t = time.perf_counter()
            r = b.call(100003, 3, 1, xdr_opaque(root))
            if r.get("closed"):
                res["getattr_timeouts"] += 1
                return
            res["getattr_max_ms"] = max(res["getattr_max_ms"], round((time.perf_counter() - t) * 1000, 1))
            time.sleep(0.05)
    th = threading.Thread(target=prober)
    th.start()
    while time.time() < end:
        proc = 6 if res["reads"] % 2 == 0 else 21
        r = a.call(100003, 3, proc, xdr_opaque(fh or b"") + struct.pack(">QI", 0, 4096), cred=cred)
        if r.get("closed"):
            res["statuses"]["timeout"] = res["statuses"].get("timeout", 0) + 1
            break
        k = str(nfs_status(r))
        res["statuses"][k] = res["statuses"].get(k, 0) + 1
        res["reads"] += 1
        if k == "70":
            fh = find() or fh   # renamed away under the scan: find it again by name
    swap.kill()
    swap.wait()
    th.join()
    print(json.dumps(res))
elif mode == "drc":
    st, d = walk(Conn(host), sys.argv[3])
    args = xdr_opaque(d) + xdr_opaque(sys.argv[4].encode()) + struct.pack(">I", 1) + SATTR_NONE
    sts, xid = [], 0x5eed0000 + os.getpid() % 4096
    for uid in (1000, 1000, 1001):
        c = Conn(host)
        c.xid = xid - 1
        sts.append(nfs_status(c.call(100003, 3, 8, args, cred=user(uid))))
    print(json.dumps({"statuses": sts}))
elif mode == "rdplus":
    c = Conn(host)
    cred = user(int(sys.argv[4]))
    st, d = walk(c, sys.argv[3], cred)
    r = c.call(100003, 3, 17, xdr_opaque(d or b"") + struct.pack(">Q", 0) + bytes(8) + struct.pack(">II", 8192, 65536), cred=cred)
    b, names, fhs, attrs = r.get("body", b""), [], 0, 0
    st = nfs_status(r)
    if st == 0:
        o = 4 + (4 + 84 if struct.unpack(">I", b[4:8])[0] else 4) + 8
        while struct.unpack(">I", b[o:o + 4])[0]:
            n = struct.unpack(">I", b[o + 12:o + 16])[0]
            names.append(b[o + 16:o + 16 + n].decode())
            o += 16 + (n + 3) // 4 * 4 + 8
            if struct.unpack(">I", b[o:o + 4])[0]:
                attrs += 1
                o += 4 + 84
            else:
                o += 4
            if struct.unpack(">I", b[o:o + 4])[0]:
                fhs += 1
                o += 8 + (struct.unpack(">I", b[o + 4:o + 8])[0] + 3) // 4 * 4
            else:
                o += 4
    print(json.dumps({"status": st, "names": sorted(names), "with_fh": fhs, "with_attr": attrs}))
elif mode == "dots":
    c = Conn(host)
    cred = user(int(sys.argv[4]))
    st, d = walk(c, sys.argv[3])
    out = {}
    for k, name in (("dot", "."), ("dotdot", "..")):
        out[k] = nfs_status(c.call(100003, 3, 3, xdr_opaque(d or b"") + xdr_opaque(name.encode()), cred=cred))
    print(json.dumps(out))
elif mode == "mntflood":
    c = Conn(host)
    path = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
    print(json.dumps({"statuses": sorted(set(mnt(c, path)[0] for i in range(int(sys.argv[4]))))}))
elif mode == "udpmnt":
    out = {"statuses": [], "handles": [], "node_ids": [], "timeouts": 0}
    for i in range(int(sys.argv[4])):
        st, fh = mnt(UdpConn(host), sys.argv[3])
        if st == "closed":
            out["timeouts"] += 1
            continue
        out["statuses"].append(st)
        if fh:
            out["handles"].append(fh.hex())
            out["node_ids"].append(fh[1])
    print(json.dumps(out))
elif mode == "nlmmsg":
    # NLM's _MSG forms over UDP: each call answered at once (empty reply),
    # its result coming back as a _RES call to this host's NLM, found
    # through this host's portmapper (served here on udp/111).
    import select, time
    c = Conn(host)
    st, fh = mnt(c, "/export")
    for part in sys.argv[3].split("/"):
        st, fh = lookup(c, fh, part)
        assert st == 0, "LOOKUP %s: %d" % (part, st)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    cb = socket.socket(fam, socket.SOCK_DGRAM)
    cb.bind(("", 0))
    pm = socket.socket(fam, socket.SOCK_DGRAM)
    pm.bind(("", 111))
    u = UdpConn(host)
    def lk(svid, off, ln):
        return (xdr_opaque(b"msghost") + xdr_opaque(fh) + xdr_opaque(b"oh-%d" % svid) +
                struct.pack(">iQQ", svid, off, ln))
    def rpc_skip_auth(b, off):      # past one opaque_auth
        return off + 8 + (struct.unpack(">I", b[off + 4:off + 8])[0] + 3) // 4 * 4
    def wait_res(cookie, secs=10):
        end = time.time() + secs
        while time.time() < end:
            rd, _, _ = select.select([cb, pm], [], [], max(0, end - time.time()))
            for s in rd:
                b, a = s.recvfrom(65536)
                if s is pm:         # GETPORT: our callback port, whatever is asked
                    s.sendto(b[:4] + struct.pack(">IIIIII", 1, 0, 0, 0, 0, cb.getsockname()[1]), a)
                    continue
                proc = struct.unpack(">I", b[20:24])[0]
                off = rpc_skip_auth(b, rpc_skip_auth(b, 24))
                n = struct.unpack(">I", b[off:off + 4])[0]
                ck = b[off + 4:off + 4 + n]
                off += 4 + (n + 3) // 4 * 4
                stat = struct.unpack(">I", b[off:off + 4])[0]
                holder = None
                if proc == 11 and stat == 1:
                    holder = struct.unpack(">i", b[off + 8:off + 12])[0]
                s.sendto(b[:4] + struct.pack(">IIIII", 1, 0, 0, 0, 0), a)   # its empty reply
                if ck == cookie:
                    return {"res_proc": proc, "stat": stat, "holder": holder, "from": a[0]}
        return {"res_proc": None}
    steps = [("LOCK_MSG", 7, lambda ck: xdr_opaque(ck) + struct.pack(">II", 0, 1) + lk(1, 0, 10) + struct.pack(">Ii", 0, 1)),
             ("TEST_MSG", 6, lambda ck: xdr_opaque(ck) + struct.pack(">I", 1) + lk(2, 5, 1)),
             ("LOCK_MSG", 7, lambda ck: xdr_opaque(ck) + struct.pack(">II", 0, 1) + lk(2, 0, 10) + struct.pack(">Ii", 0, 1)),
             ("UNLOCK_MSG", 9, lambda ck: xdr_opaque(ck) + lk(1, 0, 10)),
             ("LOCK_MSG", 7, lambda ck: xdr_opaque(ck) + struct.pack(">II", 0, 1) + lk(2, 0, 10) + struct.pack(">Ii", 0, 1)),
             ("CANCEL_MSG", 8, lambda ck: xdr_opaque(ck) + struct.pack(">II", 0, 1) + lk(3, 0, 10)),
             ("UNLOCK_MSG", 9, lambda ck: xdr_opaque(ck) + lk(2, 0, 10))]
    out = []
    for i, (name, proc, args) in enumerate(steps):
        ck = b"msg-%d-%d" % (os.getpid(), i)
        r = u.call(100021, 4, proc, args(ck))
        d = {"call": name, "reply": r.get("accept_stat"), "reply_body": len(r.get("body", b"x"))}
        d.update(wait_res(ck))
        out.append(d)
    print(json.dumps({"steps": out}))
elif mode == "nlmshare":
    # SHARE/UNSHARE (DOS share reservations) and NM_LOCK: owners A and C
    # call HOST (argv[2]), owner B calls HOST2 (argv[3]); PATH below /export
    c1, c2 = Conn(host), Conn(sys.argv[3])
    st, fh = mnt(c1, "/export")
    for part in sys.argv[4].split("/"):
        st, fh = lookup(c1, fh, part)
        assert st == 0, "LOOKUP %s: %d" % (part, st)
    def nlm_stat(r):
        if r.get("accept_stat") != 0:
            return "rpc%s" % r.get("accept_stat")
        b = r["body"]
        n = struct.unpack(">I", b[:4])[0]
        return struct.unpack(">I", b[4 + (n + 3) // 4 * 4:8 + (n + 3) // 4 * 4])[0]
    def share(c, proc, owner, m, a):
        return nlm_stat(c.call(100021, 4, proc, xdr_opaque(b"ck") + xdr_opaque(b"sharehost") +
                               xdr_opaque(fh) + xdr_opaque(owner) + struct.pack(">III", m, a, 0)))
    def lockargs(svid):
        return (xdr_opaque(b"sharehost") + xdr_opaque(fh) + xdr_opaque(b"oh-%d" % svid) +
                struct.pack(">iQQ", svid, 0, 10))
    out = [("A share deny-write read", share(c1, 20, b"A", 2, 1)),
           ("B share read-write", share(c2, 20, b"B", 0, 3)),
           ("B share read", share(c2, 20, b"B", 0, 1)),
           ("C share deny-read read", share(c1, 20, b"C", 1, 1)),
           ("A unshare", share(c1, 21, b"A", 0, 0)),
           ("C share write", share(c1, 20, b"C", 0, 2)),
           ("B unshare", share(c2, 21, b"B", 0, 0)),
           ("C unshare", share(c1, 21, b"C", 0, 0)),
           ("NM_LOCK 9", nlm_stat(c1.call(100021, 4, 22, xdr_opaque(b"ck") + struct.pack(">II", 0, 1) +
                                          lockargs(9) + struct.pack(">Ii", 0, 1)))),
           ("TEST 10 (B's host)", nlm_stat(c2.call(100021, 4, 1, xdr_opaque(b"ck") + struct.pack(">I", 1) +
                                                   lockargs(10)))),
           ("UNLOCK 9", nlm_stat(c1.call(100021, 4, 4, xdr_opaque(b"ck") + lockargs(9))))]
    print(json.dumps({"steps": [{"step": k, "stat": v} for k, v in out]}))
elif mode == "writeloop":
    # writeloop HOST NAME S EPFILE LOG: one connection, MNT /export, LOOKUP
    # NAME, then a 4 KiB FILE_SYNC WRITE every 100 ms for S s (or until
    # LOG.stop exists); the connection's client endpoint goes to EPFILE
    # first, each WRITE's "epoch_ms status" (or "epoch_ms closed") to LOG.
    import time
    c = Conn(host)
    a = c.s.getsockname()
    open(sys.argv[5] + ".tmp", "w").write("%s:%d" % (a[0], a[1]))
    os.rename(sys.argv[5] + ".tmp", sys.argv[5])
    log = open(sys.argv[6], "a", buffering=1)
    st, root = mnt(c, "/export")
    st, fh = lookup(c, root, sys.argv[3]) if st == 0 else (st, None)
    log.write("%d mnt+lookup %s\n" % (time.time() * 1000, st))
    end, i = time.time() + float(sys.argv[4]), 0
    while st == 0 and time.time() < end and not os.path.exists(sys.argv[6] + ".stop"):
        chunk = bytes([i % 251]) * 4096
        r = c.call(100003, 3, 7, xdr_opaque(fh) + struct.pack(">QII", (i % 256) * 4096, 4096, 2) + xdr_opaque(chunk))
        ws = nfs_status(r)
        log.write("%d %s\n" % (time.time() * 1000, "closed" if r.get("closed") else ws))
        if r.get("closed"):
            break
        i += 1
        time.sleep(0.1)
