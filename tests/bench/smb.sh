#!/bin/bash
# tests/bench/smb.sh WORKDIR - the "smb" section of tests/bench/run.sh
# (run.sh --only smb): SMB (Samba's smbd on the nodes) through the VIP.
#
# One private lab (lab.sh with LAB_SMB=1: smbd on n1..n3, VIP tcp/445,
# appliance/lab/lab-smb.sh) and its tandem-lbd; smbclient in c1.
#
#  throughput: smbclient gets a SMB_MB MiB file out of share [node] (read)
#    and puts one into it (write), through the VIP (the session lands on
#    whichever node Maglev picks; every node's share holds the file) and
#    directly to n1's own address (the switch then only routes), SMB_ROUNDS
#    rounds interleaved, each round a VIP copy and a direct copy back to
#    back; ratio = median of the rounds' VIP / direct ratios (target >= 0.95).
#
# Writes WORKDIR/metrics.jsonl and WORKDIR/samples.jsonl (run.sh's format),
# raw files in WORKDIR/logs.  Exit 1 if the lab or lbd cannot start.
set -u
W=${1:?usage: smb.sh WORKDIR}
SECTION=smb
# (its helpers: log, metric, med, in_ns, wait_for, the EXIT trap that
# removes the lab; no tandem-nasd is started here)
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
SMB_MB=${SMB_MB:-256}
SMB_ROUNDS=${SMB_ROUNDS:-9}

fail_all() {
	metric smb_read_mbps "" MB/s "" "" ">= 0.95 x direct" "" "$1"
	metric smb_write_mbps "" MB/s "" "" ">= 0.95 x direct" "" "$1"
}

if ! command -v smbclient >/dev/null || [ ! -x /usr/sbin/smbd ]; then
	fail_all "smbclient or smbd missing (scripts/deps.sh installs samba, smbclient)"
	exit 1
fi
LAB_NAME=bs$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
log "lab $LAB_NAME up"
if ! LAB_SMB=1 timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1; then
	LAB_NAME=""
	fail_all "lab did not come up (harness error)"
	exit 1
fi
# shellcheck disable=SC1090
. "/run/tandem-lab/$LAB_NAME/env"
if ! timeout 40 "$LAB_SH" lbd-start "$LAB_NAME" >>"$L/lab.log" 2>&1; then
	fail_all "tandem-lbd did not start"
	exit 1
fi
svc445() {
	[ "$(timeout 5 "$TANDEMCTL" -s "$LBD_SOCK" --json vips | jq '[.vips[] | select(.name == "v4") |
		.services[] | select(.port == 445) | .nodes_in_table] | min')" = 3 ]
}
wait_for 20 svc445 || log "v4 tcp/445 has not its 3 nodes after 20 s"
head -c $((SMB_MB << 20)) /dev/urandom >"$W/up.bin"
for n in n1 n2 n3; do cp "$W/up.bin" "$LAB_DIR/smb-$n/share/big.bin"; done
N1=$N1_IP4	# n1's own address (the lab's env)

# one copy: MB/s, or nothing if it failed or came out wrong
copy() {	# copy read|write HOST TAG
	local t0 t1 ok=0 rc n
	sync
	t0=$(date +%s%N)
	if [ "$1" = read ]; then
		in_ns c1 timeout 120 smbclient "//$2/node" -A "$SMB_CRED" -p 445 -c "get big.bin $W/got.bin" >>"$L/copy.log" 2>&1
		rc=$?
		t1=$(date +%s%N)	# the copy only: the byte check below is not timed
		[ "$rc" = 0 ] && cmp -s "$W/got.bin" "$W/up.bin" && ok=1
	else
		in_ns c1 timeout 120 smbclient "//$2/node" -A "$SMB_CRED" -p 445 -c "put $W/up.bin w-$3.bin" >>"$L/copy.log" 2>&1
		rc=$?
		t1=$(date +%s%N)
		for n in n1 n2 n3; do
			[ -e "$LAB_DIR/smb-$n/share/w-$3.bin" ] && cmp -s "$W/up.bin" "$LAB_DIR/smb-$n/share/w-$3.bin" && ok=1
		done
		[ "$rc" = 0 ] || ok=0
	fi
	rm -f "$W/got.bin" "$LAB_DIR"/smb-n?/share/w-"$3".bin
	[ "$ok" = 1 ] && awk -v b=$((SMB_MB << 20)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f\n", b / (t / 1e9) / 1e6 }'
}

vip_direct_rounds smb "$SMB_ROUNDS" "$VIP4" "$N1"
for dir in read write; do
	mv_=$(med "${R[$dir-vip]}")
	md=$(med "${R[$dir-direct]}")
	rt=$(med "${R[$dir-ratio]:-}" 3)
	met=$([ -n "$rt" ] && awk -v r="$rt" 'BEGIN { print (r >= 0.95) ? "true" : "false" }')
	metric "smb_${dir}_mbps" "$mv_" MB/s "$md" "$rt" ">= 0.95 x direct" "$met" \
		"smbclient (Samba 4, Debian) $([ "$dir" = read ] && echo "get of" || echo "put of") a ${SMB_MB} MiB file, share [node] of the lab's smbd (SMB3), from c1: through the VIP (tandem-lbd's BPF; the session on the node Maglev picks) vs directly to n1's own address (the switch routes); each copy byte-checked (not timed); $SMB_ROUNDS rounds, each a VIP copy and a direct copy back to back (order alternating); value and baseline = medians of the MB/s, ratio = median of the rounds' VIP/direct ratios [${R[$dir-ratio]# }]; VIP [${R[$dir-vip]# }] direct [${R[$dir-direct]# }]; one TCP connection per copy, on this 2-CPU host"
done
rm -f "$W/up.bin"
exit 0
