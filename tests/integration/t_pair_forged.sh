#!/bin/bash
# t_pair_forged: forged, replayed and malformed sync datagrams are refused,
# counted, and change nothing.
#
#   c1 c2 ---------- brc (client LAN) --------+
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#      master: syncd on   10.77.9.1:7405      10.77.9.2:7405: B's syncd is
#      10.77.9.1:7405, socket connected       stopped; a python3 forger in
#      to 10.77.9.2:7405 (anyone else's       swb's namespace sends from
#      datagrams never reach it)              its address and port instead
#             eth1   |                        |   eth1
#                    +------ brs -------------+
#                         n1 n2 n3
#
# The forger builds messages as sessionsync/sync_wire.h describes them
# (44-byte big-endian header naming A's epoch, TLV records, HMAC-SHA256
# trailer; 72-byte flow records; node key = low 32 bits of
# maglev_key(name)) with the lab's key (LAB_DIR/sync.key) or a wrong one, as
# sender 2 (B) with a fresh epoch.
#
#   1. a DATA message adding flow F with a wrong key: rejected.bad_mac +1,
#      F is not in A's table;
#   2. genuine messages: RESYNC_BEGIN (anchors A on the new epoch), DATA
#      adding F on n2: F appears on n2 (flag synced);
#   3. the same datagram again: rejected.replay +1; a new message re-points
#      F to n3, then the first one replayed: replay +1, F stays on n3; a
#      DEL of F, then the first one replayed: replay +1, F stays deleted;
#   4. a valid message from an older epoch: replay +1, its flow is absent;
#   5. truncated (short, bad_length), garbage (bad_magic), a non-zero flags
#      field (bad_flags), and a message with one good and one malformed
#      flow record (bad_record: none of its records applied);
#   6. A's syncd is the same process and answers, A's flow table is as it
#      was before the forgeries, A is master;
#   7. captured across a restart of the RECEIVER: genuine RESYNC_BEGIN +
#      DATA adding flow G (applied: G on n2), a DEL of G; A's syncd is
#      restarted (new epoch, empty replay window); the captured pair
#      replayed: rejected.stale_session +2 (they name A's previous epoch),
#      G stays deleted;
#   8. B's syncd restarted is accepted (a newer epoch) and B is synced
#      again.
. "$(dirname "$0")/lib.sh"

require_pair
pair_up
r=$(burst c1 30)
check_eq "30 connections through A (flows in the table)" 30 "$(jq -r .ok <<<"$r")"
b_has() { [ "$(sw_flows b | wc -l)" -ge 30 ]; }
check "B's table holds them (synced)" wait_for 5 b_has

# Stop B's syncd: its port is the forger's.
syncd_b=$(cat "$SWB_DIR/syncd.pid")
kill "$syncd_b"
check "B's syncd (pid $syncd_b) stopped" wait_for 10 pid_gone "$syncd_b"
syncd_a=$(sy_get a .pid)
before=$TEST_TMP/flows.before
sw_flows a >"$before"
diag "A's table before: $(wc -l <"$before") flows; syncd pid $syncd_a"

cat >"$TEST_TMP/forge.py" <<'EOF'
import hashlib, hmac, json, os, socket, struct, sys, time

state_path, step = sys.argv[1], sys.argv[2]
st = json.load(open(state_path)) if os.path.exists(state_path) else {}
key = bytes.fromhex(open(st.get("keyfile") or sys.argv[3]).read().strip())
a_epoch = int(sys.argv[4])  # the receiver's epoch: every message names it
if not st:
    # as tandem-syncd's make_epoch(): eighths of a second since 2020
    t = time.time()
    st = {"keyfile": sys.argv[3], "epoch": int((t - 1577836800) * 8), "seq": 0, "dseq": 0}

def fnv_key(name):
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    h ^= h >> 30; h = (h * 0xbf58476d1ce4e5b9) & 0xffffffffffffffff
    h ^= h >> 27; h = (h * 0x94d049bb133111eb) & 0xffffffffffffffff
    h ^= h >> 31
    return (h & 0xffffffff) or 1

def flow(op, client, cport, node, family=4):
    sa = socket.inet_aton(client) + bytes(12)
    da = socket.inet_aton("10.77.1.100") + bytes(12)
    v = struct.pack("!BBBB", op, family, 6, 0) + sa + da + struct.pack("!HH", cport, 80)
    v += struct.pack("!IIQQQ", fnv_key(node) if node else 0, 1, 10, 1000, 0)
    assert len(v) == 72
    return struct.pack("!HH", 1, 72) + v

def msg(mtype, body, k=key, epoch=None, seq=None, dseq=None, flags=0):
    if seq is None:
        st["seq"] += 1
        seq = st["seq"]
    if dseq is None:
        st["dseq"] += 1
        dseq = st["dseq"]
    h = struct.pack("!HBBHHIIQQQI", 0x5453, 2, mtype, flags, len(body), 2,
                    st["epoch"] if epoch is None else epoch, seq, dseq, 0, a_epoch)
    return h + body + hmac.new(k, h + body, hashlib.sha256).digest()

DATA, BEGIN = 2, 6
ADD, DEL = 1, 2
F = ("10.77.1.50", 40001)
d = os.path.dirname(state_path)
out = []
if step == "wrongkey":
    out = [msg(DATA, flow(ADD, "10.77.1.51", 40002, "n2"), k=os.urandom(32), seq=1000, dseq=1000)]
elif step == "anchor":
    out = [msg(BEGIN, struct.pack("!HHQQ", 4, 16, 1, 0))]
elif step in ("add", "move", "del"):
    op, node = {"add": (ADD, "n2"), "move": (ADD, "n3"), "del": (DEL, None)}[step]
    out = [msg(DATA, flow(op, F[0], F[1], node))]
    open(os.path.join(d, step + ".msg"), "wb").write(out[0])
elif step == "replay":
    out = [open(os.path.join(d, "add.msg"), "rb").read()]
elif step == "capture":
    out = [msg(BEGIN, struct.pack("!HHQQ", 4, 16, 2, 0)), msg(DATA, flow(ADD, "10.77.1.56", 40007, "n2"))]
    for i, m in enumerate(out):
        open(os.path.join(d, "capt%d.msg" % i), "wb").write(m)
elif step == "delG":
    out = [msg(DATA, flow(DEL, "10.77.1.56", 40007, None))]
elif step == "replaycapt":
    out = [open(os.path.join(d, "capt%d.msg" % i), "rb").read() for i in (0, 1)]
elif step == "oldepoch":
    out = [msg(DATA, flow(ADD, "10.77.1.52", 40003, "n1"), epoch=st["epoch"] - 1, seq=50000,
               dseq=st["dseq"] + 1)]
elif step == "short":
    out = [open(os.path.join(d, "add.msg"), "rb").read()[:50]]
elif step == "badlen":
    out = [open(os.path.join(d, "add.msg"), "rb").read()[:-1]]
elif step == "garbage":
    out = [b"\x00" + os.urandom(199)]
elif step == "badflags":
    out = [msg(DATA, flow(ADD, "10.77.1.53", 40004, "n1"), flags=1, dseq=st["dseq"] + 1)]
elif step == "badrecord":
    good = flow(ADD, "10.77.1.54", 40005, "n1")
    bad = flow(ADD, "10.77.1.55", 40006, "n1", family=5)
    out = [msg(DATA, good + bad, dseq=st["dseq"] + 1)]
else:
    sys.exit("unknown step " + step)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.9.2", 7405))
for m in out:
    s.sendto(m, ("10.77.9.1", 7405))
json.dump(st, open(state_path, "w"))
EOF
forge() {
	in_ns swb python3 "$TEST_TMP/forge.py" "$TEST_TMP/forge.state" "$1" "$LAB_DIR/sync.key" \
		"$(sy_get a .epoch)"
}
rej() { sy_get a ".rejected.$1"; }
# rej_is REASON N: A's syncd counts N rejects for REASON.
rej_is() { [ "$(rej "$1")" = "$2" ]; }
# f_node CLIENT PORT: the node A's table holds for that client 5-tuple.
f_node() { sw_flows a | awk -v c="$1" -v p="$2" '$1 == c && $2 == p { print $6 }'; }
f_is() { [ "$(f_node "$1" "$2")" = "$3" ]; }

# 1. Wrong key.
n=$(rej bad_mac)
forge wrongkey
check "wrong HMAC key: rejected.bad_mac $n -> $((n + 1))" wait_for 5 rej_is bad_mac $((n + 1))
check_eq "the wrong-key flow is not in A's table" "" "$(f_node 10.77.1.51 40002)"

# 2. Genuine messages.
rx0=$(sy_get a .rx.msgs)
forge anchor
forge add
check "genuine DATA: flow 10.77.1.50:40001 appears on n2" wait_for 5 f_is 10.77.1.50 40001 n2
check "A's syncd counted the two messages" test "$(sy_get a .rx.msgs)" -ge $((rx0 + 2))
check_eq "its flags say synced" true "$(sw_jctl a flows --limit 1000000 | jq '[.flows[] |
	select(.client == "10.77.1.50" and .client_port == 40001) | .flags | index("synced") != null] | .[0]')"

# 3. Replays.
n=$(rej replay)
forge replay
check "the same datagram again: rejected.replay $n -> $((n + 1))" wait_for 5 rej_is replay $((n + 1))
forge move
check "a new message re-points the flow to n3" wait_for 5 f_is 10.77.1.50 40001 n3
forge replay
check "the first message replayed after the re-point: replay $((n + 1)) -> $((n + 2))" \
	wait_for 5 rej_is replay $((n + 2))
check_eq "the flow stays on n3 (not reverted)" n3 "$(f_node 10.77.1.50 40001)"
forge del
gone() { [ -z "$(f_node 10.77.1.50 40001)" ]; }
check "a DEL message removes the flow" wait_for 5 gone
forge replay
check "the first message replayed after the DEL: replay $((n + 2)) -> $((n + 3))" \
	wait_for 5 rej_is replay $((n + 3))
check_eq "the flow stays deleted (not re-created)" "" "$(f_node 10.77.1.50 40001)"

# 4. Older epoch.
forge oldepoch
check "a valid message from an older epoch: replay $((n + 3)) -> $((n + 4))" \
	wait_for 5 rej_is replay $((n + 4))
check_eq "its flow is not in A's table" "" "$(f_node 10.77.1.52 40003)"

# 5. Malformed datagrams.
for c in short:short bad_length:badlen bad_magic:garbage bad_flags:badflags bad_record:badrecord; do
	reason=${c%%:*} step=${c#*:}
	n=$(rej "$reason")
	forge "$step"
	check "$step datagram: rejected.$reason $n -> $((n + 1))" wait_for 5 rej_is "$reason" $((n + 1))
done
check_eq "no record of the half-bad message applied" "" \
	"$(f_node 10.77.1.54 40005)$(f_node 10.77.1.55 40006)$(f_node 10.77.1.53 40004)"

# 6. Nothing else changed.
check_eq "A's syncd is the same process and answers" "$syncd_a" "$(sy_get a .pid)"
check "A's flow table is as before the forgeries" diff "$before" <(sw_flows a)
check_eq "A is still master" master "$(sw_role a)"

# 7. Captured before the receiver restarted.
forge capture
check "genuine BEGIN + DATA: flow 10.77.1.56:40007 appears on n2" wait_for 5 f_is 10.77.1.56 40007 n2
forge delG
g_gone() { [ -z "$(f_node 10.77.1.56 40007)" ]; }
check "a DEL removes it" wait_for 5 g_gone
epoch_a=$(sy_get a .epoch)
kill -KILL "$syncd_a"
check "A's syncd (pid $syncd_a) stopped" wait_for 10 pid_gone "$syncd_a"
if out=$(lab switch-start a 2>&1); then
	ok "A's syncd restarted"
else
	fail "A's syncd restarts" "$out"
fi
new_epoch() { [ "$(sy_get a .epoch)" -gt "$epoch_a" ] 2>/dev/null; }
check "A's new syncd answers with a newer epoch (was $epoch_a)" wait_for 10 new_epoch
n=$(rej stale_session)
forge replaycapt
check "the captured BEGIN + DATA replayed: rejected.stale_session ${n:-?} -> $((${n:-0} + 2))" \
	wait_for 5 rej_is stale_session $((${n:-0} + 2))
check_eq "flow 10.77.1.56:40007 stays deleted" "" "$(f_node 10.77.1.56 40007)"
check_eq "A's new syncd took no message of them" 0 "$(sy_get a .rx.msgs)"

# 8. B back.
if out=$(lab switch-start b 2>&1); then
	ok "B's syncd restarted"
else
	fail "B's syncd restarts" "$out"
fi
check "B's genuine syncd (newer epoch) is accepted: B synced, A sees it alive" \
	wait_for 20 sy_synced b
check "A and B back to master/backup" wait_for 20 roles_are master backup
check "B's table equals A's" diff <(sw_flows a) <(sw_flows b)
finish
