#!/bin/bash
# t_nfs_cluster: the NFS namespace map comes from the appliance config and lbd
# hands it to the nodes ("cluster map from the appliance config,
# handed to the nodes by lbd"; lib/cluster_wire.h, lb/cluster.c,
# storage/nfs/nfs_cluster.c).
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100: tcp/111, tcp/2049
#                        br1 .1             "nfs": alpha->n1 beta->n2 gamma->n3
#              +----------+----------+     storage LAN 10.77.2.0/24
#             n1 .11     n2 .12     n3 .13  map: UDP sw -> node:7406 (every 2 s),
#   each node: tandem-nasd with handoff      ACK back
#   and "namespace": {"from_switch": true}
#   (NASD_NFS_NS=switch): export LAB_DIR/nX/nfs, no homes of its own.
#
# Checks: every node holds lbd's generation (status.nfs.generation) and
# acknowledged it (tandemctl cluster); nfs-ls of the root through the VIP
# shows alpha beta gamma; files copied into each land on its home's disk
# (sha256); `tandemctl cluster` shows the map; a new home "delta" on n2 plus
# a reload reaches every node (new generation) and nfs-ls shows it; a map
# under a wrong key and a replay of the old generation's map (byte for byte
# what lbd sent, re-encoded with the real key) are refused and counted, and
# change nothing.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq nfs-ls nfs-cp
export LAB_NFS=1
lab_up
lbd_up
export NASD_NFS=1 NASD_NFS_NS=switch
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma" "$LAB_DIR/n2/nfs/delta"
nasd_all handoff
check "lbd health checks see tandem-nasd on every node" wait_for 15 all_up
svc3() { [ "$(svc_nodes v4 tcp "$1")" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3 2049

URL=nfs://$VIP4/export
nstat() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2"; }
home() { case "$1" in alpha) echo n1 ;; beta | delta) echo n2 ;; gamma) echo n3 ;; esac; }
ls_names() { in_ns "$1" timeout 20 nfs-ls "$2" | awk '{print $NF}' | grep -v '^\.\.\?$' | sort | tr '\n' ' '; }
lbd_gen() { jctl cluster | jq -r .generation; }
all_hold() {	# all_hold GEN: every node uses map GEN, and lbd saw every ACK
	local n
	for n in n1 n2 n3; do
		[ "$(nstat "$n" .generation)" = "$1" ] || return 1
	done
	[ "$(jctl cluster | jq '[.nodes[] | .current] | all')" = true ]
}

# ---------------------------------------------------------- the map arrives --
G1=$(lbd_gen)
check "lbd built a map from the config (generation $G1)" test "${G1:-0}" -gt 0
check "every node holds generation $G1 and lbd saw their ACKs" wait_for 10 all_hold "$G1"
for n in n1 n2 n3; do
	check_eq "$n: its NFS id from the map (lbd node id + 1)" "${n#n}" "$(nstat "$n" .cluster.nfs_id)"
done
out=$(ctl cluster)
diag "$out"
check "tandemctl cluster shows the export" grep -q '^export *\/export' <<<"$out"
for d in alpha beta gamma; do
	check "tandemctl cluster shows $d on $(home $d)" grep -Eq "^$d +$(home $d) " <<<"$out"
done
check_eq "tandemctl --json cluster: 3 nodes, all current" "3 true" \
	"$(jctl cluster | jq -r '"\(.nodes | length) \([.nodes[].current] | all)"')"

# ------------------------------------------------------- the namespace works --
bad=0
for c in c1 c2 c1 c2; do
	[ "$(ls_names "$c" "$URL")" = "alpha beta gamma " ] || bad=$((bad + 1))
done
check_eq "nfs-ls of the root through the VIP, 4 times: alpha beta gamma" 0 "$bad"
mkdir -p "$TEST_TMP/in"
for d in alpha beta gamma delta; do head -c $((1048576 + ${#d} * 4099)) /dev/urandom >"$TEST_TMP/in/$d.bin"; done
for d in alpha beta gamma; do
	h=$(home "$d")
	check "nfs-cp into $d" in c1 timeout 60 nfs-cp "$TEST_TMP/in/$d.bin" "$URL/$d/f.bin"
	check_eq "... on $d's home $h's disk (sha256)" "$(sha "$TEST_TMP/in/$d.bin")" "$(sha "$LAB_DIR/$h/nfs/$d/f.bin" 2>/dev/null)"
done
fw=0
for n in n1 n2 n3; do fw=$((fw + $(nstat "$n" .forwarded))); done
check "calls were forwarded node to node (peers from the map)" test "$fw" -gt 0

# ---------------------------------------------- a config change reaches them --
jq '.nfs.homes += [{"dir": "delta", "node": "n2"}]' "$LBD_CONF" >"$LBD_CONF.new" && mv "$LBD_CONF.new" "$LBD_CONF"
check "tandemctl reload (delta on n2 added)" ctl reload
G2=$(lbd_gen)
check "the reload made a newer generation ($G1 -> $G2)" test "${G2:-0}" -gt "$G1"
check "every node holds generation $G2" wait_for 10 all_hold "$G2"
check_eq "nfs-ls of the root shows delta" "alpha beta delta gamma " "$(ls_names c2 "$URL")"
check "nfs-cp into delta" in c2 timeout 60 nfs-cp "$TEST_TMP/in/delta.bin" "$URL/delta/f.bin"
check_eq "... on delta's home n2's disk (sha256)" "$(sha "$TEST_TMP/in/delta.bin")" "$(sha "$LAB_DIR/n2/nfs/delta/f.bin" 2>/dev/null)"
check "tandemctl cluster shows delta on n2" grep -Eq '^delta +n2 ' <<<"$(ctl cluster)"

# --------------------------------------------- forged and replayed datagrams --
# A map datagram as lbd encodes it (lib/cluster_wire.h, version 2), sealed
# as lbd seals it for node NODE: with the node's key derived from master key
# KEYHEX (lib/handoff_key.h), lbd's epoch and the node's (as the node's
# status shows them), sent from the switch.
send_map() {	# send_map KEYHEX GEN NODE DIR:ID...
	local n="n${3: -1}"
	# (python, not jq: epochs are 64-bit integers, beyond a double's 53 bits)
	in_ns sw "$PY" - "$@" "$(nctl "$n" '{"cmd":"status"}' |
		"$PY" -c 'import json, sys; h = json.load(sys.stdin)["handoff"]; print(h["switch_epoch"], h["epoch"])')" <<'PY'
import hmac, hashlib, ipaddress, socket, struct, sys
master, gen, node = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
epoch, peer_epoch = (int(x) for x in sys.argv.pop().split())
name = "n" + node.rsplit(".", 1)[1][-1]
key = hmac.new(master, b"tandem-handoff-node:" + name.encode(), hashlib.sha256).digest()
def s8(s): s = s.encode(); return bytes([len(s)]) + s
def a(s): ip = ipaddress.ip_address(s); return bytes([ip.version]) + ip.packed
b = struct.pack(">Q", 1 << 20) + s8("/export") + bytes([1])
x = a("10.77.1.0"); b += x[:1] + bytes([24]) + x[1:]
b += bytes([3]) + b"".join(bytes([i]) + a("10.77.2.1%d" % i) + s8("n%d" % i) for i in (1, 2, 3))
homes = [h.split(":") for h in sys.argv[4:]]
b += bytes([len(homes)]) + b"".join(bytes([int(i)]) + s8(d) for d, i in homes)
m = struct.pack(">HBBIIQQQHH", 0x5443, 2, 1, 1, 0, gen, epoch, peer_epoch, len(b), 0) + b
m += hmac.new(key, m, hashlib.sha256).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(m, (node, 7406))
PY
}
KEY=$(tr -d ' \n' <"$HANDOFF_KEY")
bad0=$(nstat n1 .cluster.bad)
rep0=$(nstat n1 .cluster.replayed)
send_map "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" $((G2 + 1000)) 10.77.2.11 evil:1
bad_up() { [ "$(nstat n1 .cluster.bad)" -gt "$bad0" ]; }
check "a map under a wrong key is refused and counted (status.nfs.cluster.bad)" wait_for 5 bad_up
check_eq "... n1 still holds generation $G2" "$G2" "$(nstat n1 .generation)"
send_map "$KEY" "$G1" 10.77.2.11 alpha:1 beta:2 gamma:3
rep_up() { [ "$(nstat n1 .cluster.replayed)" -gt "$rep0" ]; }
check "a replay of generation $G1's map is refused and counted (status.nfs.cluster.replayed)" wait_for 5 rep_up
check_eq "... n1 still holds generation $G2" "$G2" "$(nstat n1 .generation)"
check_eq "... and its root still shows delta" "alpha beta delta gamma " "$(ls_names c1 "$URL")"
diag "n1 cluster: $(nctl n1 '{"cmd":"status"}' | jq -c .nfs.cluster)"

# ------------------------------------------- a node that restarts gets it --
check "n3's nasd restarts" sh -c "kill $(nasd_pid n3)"
wait_for 5 pid_gone "$(nasd_pid n3)"
check "n3's nasd starts again" nasd_start n3 handoff
n3_holds() { [ "$(nstat n3 .generation)" = "$G2" ]; }
check "the restarted n3 holds generation $G2 again (lbd resends)" wait_for 10 n3_holds
for n in n1 n2 n3; do
	check "nasd on $n running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
