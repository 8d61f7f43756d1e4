#!/bin/bash
# tests/bench/nfspeer.sh WORKDIR - the "nfspeer" section of tests/bench/run.sh
# (run.sh --only nfspeer): tandem-nasd beside nfs-ganesha, and NLM locking
# through the VIP.
#
# One private lab (lab.sh with LAB_NFS=1), tandem-lbd, tandem-nasd with NFS
# on n1..n3 (one export directory shared by the nodes, lib_nasd.sh
# NASD_NFS=1), clients in c1.  Beside n1 on the switch's storage bridge, a
# namespace g1 (10.77.2.21) runs Debian's nfs-ganesha (VFS backend, NFSv3
# over TCP, no NLM) exporting the same directory, with its own rpcbind in a
# private mount namespace (ganesha registers there; nothing on the host).
# Both servers are reached the same way from c1: one routed hop through the
# switch (n1's own address; g1's), the same CPU, the same files.
#
#  nfspeer_{read,write}_mbps  nfs-cp (libnfs) of an NP_MB MiB file out of /
#    into the export, byte-checked (not timed); NP_ROUNDS rounds, each a
#    nasd copy and a ganesha copy back to back, the order alternating;
#    value = nasd's median, baseline = ganesha's, ratio = median of the
#    rounds' nasd/ganesha ratios (target >= 1.0).
#  nfspeer_pipeline_calls_per_s  tests/tools/nfs_pipeline: 4 batches of 256
#    4 KiB WRITEs in flight on one connection, then READs of them, every
#    byte checked: calls/s of the whole round, per server, interleaved.
#  nfspeer_metadata_ops_per_s  tests/tools/nfs_rpc.py meta: LOOKUP+GETATTR
#    back to back on one connection for NP_META_S s (one call in flight: a
#    round-trip measure, the Python client's cost in both).
#  nlm_lock_unlock_per_s  tests/tools/nlm_client: NP_NLM LOCK+UNLOCK pairs
#    on one file over one connection, every answer GRANTED, through the VIP
#    vs directly to n1 (ratio VIP / direct).
#
# Writes WORKDIR/metrics.jsonl and WORKDIR/samples.jsonl (run.sh's format),
# raw files in WORKDIR/logs.  Exit 1 if the lab, the daemons or ganesha
# cannot start.
set -u
W=${1:?usage: nfspeer.sh WORKDIR}
SECTION=nfspeer
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
RPC=$REPO/tests/tools/nfs_rpc.py
NP_MB=${NP_MB:-128}
NP_ROUNDS=${NP_ROUNDS:-7}
NP_META_S=${NP_META_S:-4}
NP_NLM=${NP_NLM:-2000}
G_IP=10.77.2.21
G_MNT=20048		# ganesha's MOUNT port (it does not serve MOUNT on 2049)

fail_all() {
	local m
	for m in nfspeer_read_mbps nfspeer_write_mbps; do
		metric "$m" "" MB/s "" "" ">= 1.0 x nfs-ganesha" "" "$1"
	done
	metric nfspeer_pipeline_calls_per_s "" calls/s "" "" ">= 1.0 x nfs-ganesha" "" "$1"
	metric nfspeer_metadata_ops_per_s "" ops/s "" "" ">= 1.0 x nfs-ganesha" "" "$1"
	metric nlm_lock_unlock_per_s "" pairs/s "" "" "report" "" "$1"
}

for c in ganesha.nfsd rpcbind nfs-cp unshare; do
	command -v "$c" >/dev/null 2>&1 || { log "missing $c"; fail_all "missing $c (scripts/deps.sh)"; exit 1; }
done

export LAB_NFS=1 NASD_NFS=1 NASD_NFS_EXTRA='"nlm_grace_s": 0,'	# no grace period: locks at once
nasd_lab_up bg
G=tdm-$LAB_NAME-g1
EXP=$LAB_DIR/nfs
# ganesha's view of EXP: EXP lives under /run, which ganesha's private
# mount namespace covers (below), so it is bind-mounted here first
GEXP=$(mktemp -d /tmp/tandem-ganesha.XXXXXX) || exit 1

# ---------------------------------------------------- ganesha in g1 --
ganesha_down() {
	local p
	for p in $(ip netns pids "$G" 2>/dev/null); do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $(ip netns pids "$G" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$G" 2>/dev/null
	rmdir "$GEXP" 2>/dev/null
	nasd_lab_cleanup
}
trap ganesha_down EXIT

ganesha_up() {
	ip netns add "$G" &&
		ip -n "$NS_SW" link add pg type veth peer name eth0 netns "$G" &&
		ip -n "$NS_SW" link set pg master br1 up &&
		ip -n "$G" link set lo up && ip -n "$G" link set eth0 up &&
		ip -n "$G" addr add "$G_IP/24" dev eth0 &&
		ip -n "$G" route add default via 10.77.2.1 || return 1
	cat >"$W/ganesha.conf" <<EOF
NFS_CORE_PARAM {
	Protocols = 3;
	NFS_Port = 2049;
	MNT_Port = $G_MNT;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
}
NFSV4 { Graceless = true; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT {
	Export_Id = 1;
	Path = $GEXP;
	Pseudo = /export;
	Access_Type = RW;
	Squash = No_Root_Squash;
	Protocols = 3;
	Transports = TCP;
	SecType = sys;
	FSAL { Name = VFS; }
}
EOF
	# rpcbind's socket and lock live in /run: a private /run keeps them
	# (and ganesha's registrations) away from the host's
	ip netns exec "$G" unshare -m --propagation private bash -c '
		mount --bind "$2" "$3" && mount -t tmpfs tmpfs /run || exit 1
		rpcbind -w -f &
		for i in $(seq 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done
		exec ganesha.nfsd -F -f "$1/ganesha.conf" -L "$1/logs/ganesha.log" -p "$1/ganesha.pid" -N NIV_EVENT' \
		_ "$W" "$EXP" "$GEXP" >>"$L/ganesha.out" 2>&1 &
	g_listens() { [ -n "$(ip netns exec "$G" ss -Hltn 'sport = :2049' 2>/dev/null)" ]; }
	wait_for 30 g_listens || return 1
	in_ns c1 timeout 20 nfs-ls "nfs://$G_IP$GEXP" >/dev/null 2>>"$L/ganesha.out"
}
if ! ganesha_up; then
	fail_all "nfs-ganesha did not start in g1 (see logs/ganesha.*)"
	exit 1
fi
log "nfs-ganesha up in g1 ($G_IP), exporting $EXP (as $GEXP)"
N1=$(node_ip4 n1)
head -c $((NP_MB << 20)) /dev/urandom >"$EXP/big.bin"
head -c $((NP_MB << 20)) /dev/urandom >"$W/up.bin"

# copy read|write nasd|ganesha TAG (lib_nasd_lab.sh's nfs_copy)
copy() {
	local url="nfs://$N1/export"
	[ "$2" = nasd ] || url="nfs://$G_IP$GEXP"
	nfs_copy "$1" "$url" "$3" "$EXP" "$NP_MB"
}

# pipe SERVER TAG: calls/s of one nfs_pipeline round, or nothing
pipe() {
	local out
	if [ "$1" = nasd ]; then
		out=$(in_ns c1 timeout 60 "$TANDEM_BUILD/tools/nfs_pipeline" -n 256 -b 4 "$N1" /export "p-$2.bin" 2>>"$L/pipe.err")
	else
		out=$(in_ns c1 timeout 60 "$TANDEM_BUILD/tools/nfs_pipeline" -m "$G_MNT" -n 256 -b 4 "$G_IP" "$GEXP" "p-$2.bin" 2>>"$L/pipe.err")
	fi
	echo "$1 $2 $out" >>"$L/pipe.log"
	rm -f "$EXP/p-$2.bin"
	jq -r 'select(.ok and .as_is.failed == 0 and .as_is.mismatched == 0 and .as_is.total_ms > 0)
		| (2 * .calls * .batches * 1000 / .as_is.total_ms | floor)' <<<"$out" 2>/dev/null
}

meta() {	# meta SERVER TAG: ops/s, or nothing
	local out
	if [ "$1" = nasd ]; then
		out=$(in_ns c1 timeout 60 /usr/bin/python3 "$RPC" meta "$N1" "$NP_META_S" 2>>"$L/meta.err")
	else
		out=$(NFS_RPC_MOUNT_PORT=$G_MNT NFS_RPC_EXPORT=$GEXP \
			in_ns c1 timeout 60 /usr/bin/python3 "$RPC" meta "$G_IP" "$NP_META_S" 2>>"$L/meta.err")
	fi
	echo "$1 $2 $out" >>"$L/meta.log"
	jq -r '.ops_per_s // empty' <<<"$out" 2>/dev/null
}

# rounds KIND ROUNDS: KIND (copy-read, copy-write, pipe, meta) on nasd and
# ganesha back to back, the order alternating; fills V[KIND-SERVER] and
# V[KIND-ratio] (nasd / ganesha of each round with both values)
declare -A V
rounds() {
	local k=$1 n=$2 r s order v
	local -A one
	V[$k-nasd]=""; V[$k-ganesha]=""; V[$k-ratio]=""
	for ((r = 1; r <= n; r++)); do
		order="nasd ganesha"
		[ $((r % 2)) = 0 ] && order="ganesha nasd"
		for s in $order; do
			case "$k" in
			copy-read) v=$(copy read "$s" "$s$r") ;;
			copy-write) v=$(copy write "$s" "$s$r") ;;
			pipe) v=$(pipe "$s" "$s$r") ;;
			meta) v=$(meta "$s" "$s$r") ;;
			esac
			log "round $r $k $s: ${v:-FAILED}"
			V[$k-$s]+=" ${v:-}"
			one[$s]=${v:-}
			echo "{\"g\":\"nfspeer_$k\",\"s\":\"$s\",\"v\":${v:-null}}" >>"$SMP"
		done
		[ -n "${one[nasd]}" ] && [ -n "${one[ganesha]}" ] &&
			V[$k-ratio]+=" $(awk -v a="${one[nasd]}" -v b="${one[ganesha]}" 'BEGIN { printf "%.3f", a / b }')"
	done
}

# report KIND NAME UNIT ROUNDS HOW
report() {
	local k=$1 mv mg rt met
	mv=$(med "${V[$k-nasd]}")
	mg=$(med "${V[$k-ganesha]}")
	rt=$(med "${V[$k-ratio]}" 3)
	met=$([ -n "$rt" ] && awk -v r="$rt" 'BEGIN { print (r >= 1.0) ? "true" : "false" }')
	metric "$2" "$mv" "$3" "$mg" "$rt" ">= 1.0 x nfs-ganesha" "$met" \
		"$5; $4 rounds, nasd and ganesha back to back (order alternating); value = tandem-nasd's median (n1, $N1), baseline = nfs-ganesha 4.3's (VFS, g1, $G_IP; same export directory, same host, both one routed hop from c1), ratio = median of the rounds' nasd/ganesha ratios [${V[$k-ratio]# }]; nasd [${V[$k-nasd]# }] ganesha [${V[$k-ganesha]# }]"
}

rounds copy-read "$NP_ROUNDS"
rounds copy-write "$NP_ROUNDS"
report copy-read nfspeer_read_mbps MB/s "$NP_ROUNDS" "nfs-cp (libnfs, Debian) of a ${NP_MB} MiB file out of the export from c1, each copy byte-checked (not timed), one TCP connection per copy"
report copy-write nfspeer_write_mbps MB/s "$NP_ROUNDS" "nfs-cp (libnfs, Debian) of a ${NP_MB} MiB file into the export from c1, each copy byte-checked (not timed), one TCP connection per copy"
rounds pipe "$NP_ROUNDS"
report pipe nfspeer_pipeline_calls_per_s calls/s "$NP_ROUNDS" "tests/tools/nfs_pipeline on one connection: 4 batches of 256 UNSTABLE 4 KiB WRITEs in flight at once (each batch sent when the previous one is answered), then the same READs, every byte checked; calls/s = 2048 calls / the round's time"
rounds meta 3
report meta nfspeer_metadata_ops_per_s ops/s 3 "tests/tools/nfs_rpc.py meta: LOOKUP + GETATTR of big.bin back to back on one connection for ${NP_META_S} s (one call in flight: each op a round trip; the Python client's own cost is in both)"

# ------------------------------------------------ NLM: VIP vs direct --
# nlm_rate HOST: LOCK+UNLOCK pairs/s of one connection, or nothing when any
# answer was not GRANTED
echo nlm >"$EXP/nlm.lk"
nlm_rate() {
	local t0 t1 out ok
	t0=$(date +%s%N)
	out=$({ echo "open nlm.lk"; for ((i = 0; i < NP_NLM; i++)); do
		echo "lock 7 0 100 excl"; echo "unlock 7 0 100"; done; echo quit; } |
		in_ns c1 timeout 120 "$TANDEM_BUILD/tools/nlm_client" "$1" /export 2>>"$L/nlm.err")
	t1=$(date +%s%N)
	ok=$(grep -c '"stat":0' <<<"$out")
	echo "$1: $ok of $((2 * NP_NLM)) GRANTED" >>"$L/nlm.log"
	sort <<<"$out" | uniq -c | sort -rn | head -5 >>"$L/nlm.log"
	[ "$ok" = $((2 * NP_NLM)) ] && awk -v n="$NP_NLM" -v t=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n / (t / 1e9) }'
}
NV="" ND="" NR=""
for ((r = 1; r <= NP_ROUNDS; r++)); do
	a=$(nlm_rate "$VIP4")
	b=$(nlm_rate "$N1")
	log "round $r nlm: VIP ${a:-FAILED} direct ${b:-FAILED} pairs/s"
	NV+=" ${a:-}"; ND+=" ${b:-}"
	echo "{\"g\":\"nlm\",\"s\":\"vip\",\"v\":${a:-null}}" >>"$SMP"
	echo "{\"g\":\"nlm\",\"s\":\"direct\",\"v\":${b:-null}}" >>"$SMP"
	[ -n "$a" ] && [ -n "$b" ] && NR+=" $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
done
metric nlm_lock_unlock_per_s "$(med "$NV" 0)" pairs/s "$(med "$ND" 0)" "$(med "$NR" 3)" "report" "" \
	"tests/tools/nlm_client (libnfs's raw NLM calls) from c1: $NP_NLM LOCK + UNLOCK pairs of one range of one file on one TCP connection, one call in flight, every answer GRANTED (timed from the start of the client: its connect and MNT are in it); through the VIP vs directly to n1; $NP_ROUNDS rounds back to back; value/baseline = medians, ratio = median of the rounds' VIP/direct [${NR# }]; VIP [${NV# }] direct [${ND# }]"
