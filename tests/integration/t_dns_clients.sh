#!/bin/bash
# t_dns_clients: unmodified clients reach an active-active pair by its
# round-robin DNS name: iperf3, and libnfs's nfs-ls and nfs-cat.
#
#                    dns (BIND 9: nas.tandem.test -> VIP4, VIP4B, rotated)
#                     |
#   c1 c2 ---------- brc (client LAN) --------+      VIP4 10.77.1.100: group g1 (a)
#   (resolv.conf:     |                       |      VIP4B 10.77.1.101: group g2 (b)
#    dns)     eth0 [swa] ==eth2 sync== [swb] eth0
#             eth1   |                   |   eth1
#                    +------ brs --------+   storage LAN
#                         n1 n2 n3     iperf3 -s :5201; tandem-nasd: HTTP :80,
#                                      NFS (portmapper :111, NFS + MOUNT :2049)
#                                      on both VIPs, /export -> LAB_DIR/nfs
#   v4 and v4b: tcp/udp 5201 (client affinity), tcp/udp 111 and 2049 (LAB_NFS=1)
#
#   1. iperf3 -c nas.tandem.test: 3 runs sending 8 MiB (c1, c2, c1), 3
#      receiving (-R; c2, c1, c2).  iperf3 resolves the name again for each
#      of its connections, and the server rotates its answers: the control
#      connection and the data stream reach different VIPs, so different
#      switches; client affinity (the hash leaves out the VIP) brings both
#      to one node.  Checked: every run exits 0; a sending run sent 8 MiB
#      (iperf3 3.12's sender may send one 128 KiB block past -n, as the
#      server of a -R run does; its receiver's count is only checked > 0:
#      iperf3 3.12 stops the receiving server's count at the end of a sending run, before the
#      last bytes are read); a receiving run (-R) received all of the 8 MiB
#      it asked for (the sending server may overshoot by one 128 KiB block
#      that is still in flight when the test ends, so its "sent" may be
#      8 MiB + 128 KiB: received is checked against -n); the tcp/5201 counters of
#      the pair (both VIPs on both switches: a forwards VIP4, b VIP4B, but
#      a missed advert on a loaded host may move a group for a moment) grew
#      by the bytes the sending runs' servers received at least (iperf3's
#      "sent" counts writes into the client's socket: when the test ends
#      the server closes the stream with up to a socket buffer of it still
#      unsent, so less than 24 MiB may cross the switch), and each switch
#      forwarded some; the flow tables hold tcp/5201
#      flows to both VIPs.
#   2. nfs-ls and nfs-cat of nfs://nas.tandem.test/export/...: six runs,
#      c1 and c2 in turn: the listing names the export's files, every cat
#      is byte-exact (sha256); the NFS flows (tcp 111 and 2049: libnfs
#      resolves the name for each connection too) went to both VIPs, and
#      each switch forwarded some.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"
. "$(dirname "$0")/lib_nasd.sh"

require_aa
require_nasd
require_cmd iperf3 nfs-ls nfs-cat sha256sum
export LAB_NFS=1
aa_lab_up
export NASD_NFS=1
mkdir -p "$LAB_DIR/nfs/dir1"
head -c $((3 << 20)) /dev/urandom >"$LAB_DIR/nfs/data.bin"
echo "hello by name" >"$LAB_DIR/nfs/hello.txt"
nasd_all
aa_switches_up

# svc_ctr X VIP PROTO PORT FIELD: a counter of a VIP's service on switch X.
svc_ctr() {
	sw_jctl "$1" vips | jq --arg v "$2" --arg p "$3" --argjson port "$4" --arg f "$5" \
		'[.vips[] | select(.name == $v) | .services[] | select(.proto == $p and .port == $port) | .[$f]] | add // 0'
}
# both_ctr PORT FIELD: the tcp/PORT counter of VIP4 on a plus VIP4B's on b
# (each group's master forwards its VIPs).
both_ctr() { echo $(($(svc_ctr a v4 tcp "$1" "$2") + $(svc_ctr b v4b tcp "$1" "$2"))); }
# pair_ctr PORT FIELD: the tcp/PORT counters of both VIPs on both switches
# (what the pair forwarded, whichever switch was a group's master: on a
# loaded host a missed advert may move a group for a moment).
pair_ctr() {
	local x v n=0
	for x in a b; do
		for v in v4 v4b; do
			n=$((n + $(svc_ctr "$x" "$v" tcp "$1" "$2")))
		done
	done
	echo "$n"
}
# port_vips PORT...: the VIPs of the clients' flows to these ports in the
# switches' tables, sorted, one line.
port_vips() {
	local re
	re=$(tr ' ' '|' <<<"$*")
	{ sw_flows a; sw_flows b; } | awk -v re="^($re)\$" '$4 ~ re { print $3 }' | sort -u |
		tr '\n' ' ' | sed 's/ $//'
}

# 1. iperf3 by name.
MIB8=$((8 << 20))
b0=$(pair_ctr 5201 bytes) m0=$(both_ctr 5201 bytes)
pa0=$(svc_ctr a v4 tcp 5201 packets) pb0=$(svc_ctr b v4b tcp 5201 packets)
okn=0 eq=0 fails="" fwd_rcvd=0
for i in 1 2 3 4 5 6; do
	c=c$(((i + 1) % 2 + 1)) rev=""
	[ "$i" -gt 3 ] && rev=-R
	if in_ns "$c" timeout 30 iperf3 -c "$DNS_NAME" -p 5201 -n 8M $rev -J >"$TEST_TMP/ip$i.json" 2>&1; then
		read -r sent rcvd host < <(jq -r '"\(.end.sum_sent.bytes) \(.end.sum_received.bytes) \(.start.connected[0].remote_host)"' "$TEST_TMP/ip$i.json")
		diag "iperf3 ${rev:-  } from $c: data stream to $host, sent $sent, received $rcvd"
		if [ -z "$rev" ]; then
			# the sending client may overshoot -n by one block too (a
			# loaded clean-clone run: sent = received = 8 MiB + 128 KiB)
			[ "$sent" -ge "$MIB8" ] && [ "$sent" -le $((MIB8 + (128 << 10))) ] && [ "$rcvd" -gt 0 ] &&
				okn=$((okn + 1))
			fwd_rcvd=$((fwd_rcvd + rcvd))
		else
			[ "$sent" -ge "$MIB8" ] && [ "$sent" -le $((MIB8 + (128 << 10))) ] && okn=$((okn + 1))
			[ "$rcvd" -ge "$MIB8" ] && [ "$rcvd" -le "$sent" ] && eq=$((eq + 1))
		fi
	else
		fails+="run $i ($c $rev): $(jq -r '.error // empty' "$TEST_TMP/ip$i.json" 2>/dev/null || tail -n 2 "$TEST_TMP/ip$i.json") "
	fi
done
check_eq "6 iperf3 runs by name ($DNS_NAME) exit 0, each sent 8 MiB (at most one 128 KiB block more)" 6 "$okn" ||
	diag "$fails"
check_eq "the 3 receiving runs (-R) received the 8 MiB they asked for" 3 "$eq"
grown() { [ $(($(pair_ctr 5201 bytes) - b0)) -ge "$fwd_rcvd" ]; }
check "the switches' tcp/5201 counters (both VIPs, both switches) grew by the $fwd_rcvd bytes the nodes' iperf3 received at least" \
	wait_for 5 grown
diag "tcp/5201 bytes forwarded: $(($(pair_ctr 5201 bytes) - b0)), by the groups' preferred masters (a: VIP4, b: VIP4B) $(($(both_ctr 5201 bytes) - m0))"
check_eq "iperf3's flows went to both VIPs (control and data connections)" "$VIP4 $VIP4B" "$(port_vips 5201)"
pa=$(svc_ctr a v4 tcp 5201 packets) pb=$(svc_ctr b v4b tcp 5201 packets)
check "both switches forwarded iperf3 packets (a: VIP4 +$((pa - pa0)), b: VIP4B +$((pb - pb0)))" \
	test "$pa" -gt "$pa0" -a "$pb" -gt "$pb0"
diag "flows per VIP and port: $({ sw_flows a; sw_flows b; } | sort -u |
	awk '$4 == 5201 || $4 == 111 || $4 == 2049 { n[$3 ":" $4]++ } END { for (k in n) printf "%s %d, ", k, n[k] }')"

# 2. libnfs by name.
URL=nfs://$DNS_NAME/export
# nfs_pkts X VIP: the packets switch X forwarded to VIP's tcp 111 and 2049
nfs_pkts() { echo $(($(svc_ctr "$1" "$2" tcp 111 packets) + $(svc_ctr "$1" "$2" tcp 2049 packets))); }
n0a=$(nfs_pkts a v4) n0b=$(nfs_pkts b v4b)
want=$(sha "$LAB_DIR/nfs/data.bin")
lsok=0 catok=0
for i in 1 2 3 4 5 6; do
	c=c$((i % 2 + 1))
	names=$(in_ns "$c" timeout 20 nfs-ls "$URL" 2>"$TEST_TMP/ls$i.err" | awk '{ print $NF }' |
		grep -v '^\.\.\?$' | sort | tr '\n' ' ')
	[ "$names" = "data.bin dir1 hello.txt " ] && lsok=$((lsok + 1))
	in_ns "$c" timeout 30 nfs-cat "$URL/data.bin" >"$TEST_TMP/cat$i.bin" 2>"$TEST_TMP/cat$i.err"
	[ "$(sha "$TEST_TMP/cat$i.bin")" = "$want" ] && catok=$((catok + 1))
done
check_eq "nfs-ls $URL from c1 and c2: the export's files, 6 runs" 6 "$lsok" ||
	diag "last listing: '$names'" "$(cat "$TEST_TMP"/ls*.err)"
check_eq "nfs-cat $URL/data.bin (3 MiB): byte-exact (sha256), 6 runs" 6 "$catok" ||
	diag "$(cat "$TEST_TMP"/cat*.err)"
check_eq "the NFS flows (portmapper, MOUNT, NFS) went to both VIPs" "$VIP4 $VIP4B" "$(port_vips 111 2049)"
check "switch a forwarded NFS connections to VIP4 (tcp 111 + 2049 packets $n0a -> $(nfs_pkts a v4))" \
	test "$(nfs_pkts a v4)" -gt "$n0a"
check "switch b forwarded NFS connections to VIP4B (tcp 111 + 2049 packets $n0b -> $(nfs_pkts b v4b))" \
	test "$(nfs_pkts b v4b)" -gt "$n0b"
diag "flows per VIP and port: $({ sw_flows a; sw_flows b; } | sort -u |
	awk '$4 == 5201 || $4 == 111 || $4 == 2049 { n[$3 ":" $4]++ } END { for (k in n) printf "%s %d, ", k, n[k] }')"
finish
