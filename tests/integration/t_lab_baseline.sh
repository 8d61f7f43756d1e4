#!/bin/bash
# t_lab_baseline: the lab itself, without lbd.  Plain kernel forwarding
# through the switch to the nodes' real addresses, the direct-server-return
# reply path (VIP-sourced packets from a node reach the client), the per-node
# switch ports of the storage LAN, and a clean teardown.
#
#   c1 10.77.1.10    c2 10.77.1.11               client LAN 10.77.1.0/24, fd77:1::/64
#        \              /
#         [brc in hub]------ eth0 sw 10.77.1.1 (+ VIP 10.77.1.100, fd77:1::100)
#                            br1  sw 10.77.2.1   (ip_forward, accept_local)
#                    switch ports p1 p2 p3 (members of br1, in sw)
#                             /     |     \
#                          eth0   eth0   eth0    storage LAN 10.77.2.0/24, fd77:2::/64
#                        n1 .11  n2 .12  n3 .13  VIP on lo; nginx :80, iperf3 :5201
#
#   checked: c1 -> sw -> nX real address (HTTP, 10 MiB sha256, iperf3),
#            nX (src VIP) -> sw -> c1 (the DSR return path), lab.sh link
#            nX down/up takes the switch port's carrier with it and restores
#            the node's routes, lab down leaves nothing.
. "$(dirname "$0")/lib.sh"

require_cmd nstat
lab_up

nss=$(ip netns list | awk -v p="tdm-$LAB_NAME-" 'index($1, p) == 1' | wc -l)
check_eq "lab has 7 namespaces" 7 "$nss"
check "bpffs mounted at $LAB_BPFFS" mountpoint -q "$LAB_BPFFS"
check "lbd config written" test -s "$LBD_CONF"

# HTTP through the switch to each node's real address (v4 from c1, v6 from c2).
for n in n1 n2 n3; do
	ip4_var=${n^^}_IP4 ip6_var=${n^^}_IP6
	check_eq "c1 -> http://${!ip4_var}/node says $n" "$n" \
		"$(fetch c1 "http://${!ip4_var}/node" 2>&1)"
	check_eq "c2 -> http://[${!ip6_var}]/node says $n" "$n" \
		"$(fetch c2 "http://[${!ip6_var}]/node" 2>&1)"
done

# 10 MiB from each node, sha256 against the lab's SHA256SUMS.
want=$(awk '$2 == "10m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")
for n in n1 n2 n3; do
	ip4_var=${n^^}_IP4
	got=$(fetch c1 "http://${!ip4_var}/10m.bin" --max-time 30 | sha256sum | cut -d' ' -f1)
	check_eq "10m.bin from $n (${!ip4_var}) is sha256-correct" "$want" "$got"
done
got=$(fetch c2 "http://[$N3_IP6]/1m.bin" | sha256sum | cut -d' ' -f1)
check_eq "1m.bin from n3 over IPv6 is sha256-correct" \
	"$(awk '$2 == "1m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")" "$got"

# iperf3 for 1 s to n2's real address.
if out=$(in_ns c1 timeout 15 iperf3 -c "$N2_IP4" -t 1 -f m 2>&1); then
	mbps=$(awk '/receiver$/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print int($i) }' <<<"$out")
	if [ "${mbps:-0}" -gt 0 ]; then
		ok "iperf3 c1 -> $N2_IP4 for 1 s: $mbps Mbit/s"
	else
		fail "iperf3 c1 -> $N2_IP4 for 1 s: no throughput" "$(tail -n 5 <<<"$out")"
	fi
else
	fail "iperf3 c1 -> $N2_IP4 for 1 s" "$(tail -n 5 <<<"$out")"
fi

# DSR return path: a SYN from n1 with the VIP as source must cross the
# switch (which owns the VIP too: accept_local) and reach c1, which answers
# with a RST (to the switch, so n1 never sees it: curl times out).  Count
# c1's RSTs.
rsts() { in_ns c1 nstat -asz TcpOutRsts | awk '$1 == "TcpOutRsts" { print $2 }'; }
for pair in "$VIP4|$C1_IP4" "$VIP6|[$C1_IP6]"; do
	src=${pair%%|*} dst=${pair#*|}
	before=$(rsts)
	in_ns n1 curl -sS -m 1 --interface "$src" "http://$dst:9/" >/dev/null 2>&1
	after=$(rsts)
	if [ "$after" -gt "$before" ]; then
		ok "VIP-sourced packet n1 ($src) -> c1 crosses the switch"
	else
		fail "VIP-sourced packet n1 ($src) -> c1 crosses the switch" \
			"c1 TcpOutRsts $before -> $after"
	fi
done

# Without lbd the VIP is just a local address of the switch: refused at once.
rc=0
in_ns c1 curl -sS -m 3 -o /dev/null "http://$VIP4/" 2>/dev/null || rc=$?
check_eq "c1 -> VIP without lbd: refused by the switch (curl exit 7)" 7 "$rc"

# node-stop / node-start / link.
lab node-stop n2 nginx >/dev/null
rc=0
in_ns c1 curl -sS -m 3 -o /dev/null "http://$N2_IP4/node" 2>/dev/null || rc=$?
check_eq "node-stop n2 nginx: connection refused" 7 "$rc"
lab node-start n2 nginx >/dev/null
check_eq "node-start n2 nginx: serves again" n2 "$(fetch c1 "http://$N2_IP4/node" 2>&1)"
check "switch port p3 has carrier" sh -c "ip -n $NS_SW link show p3 | grep -q LOWER_UP"
lab link n3 down
check "link n3 down: switch port p3 lost carrier (NO-CARRIER)" \
	sh -c "ip -n $NS_SW link show p3 | grep -q NO-CARRIER"
rc=0
in_ns c1 curl -sS -m 1 -o /dev/null "http://$N3_IP4/node" 2>/dev/null || rc=$?
check_eq "link n3 down: n3 unreachable (curl timeout, exit 28)" 28 "$rc"
lab link n3 up
check "link n3 up: switch port p3 has carrier again" \
	sh -c "ip -n $NS_SW link show p3 | grep -q LOWER_UP"
check_eq "link n3 up: n3 serves again" n3 "$(fetch c1 "http://$N3_IP4/node" 2>&1)"
check_eq "link n3 up: n3 serves again over IPv6" n3 "$(fetch c2 "http://[$N3_IP6]/node" 2>&1)"

# Teardown leaves nothing behind.
name=$LAB_NAME dir=$LAB_DIR
if lab_down; then ok "lab down"; else fail "lab down"; fi
left=$(ip netns list | awk -v p="tdm-$name-" 'index($1, p) == 1 { print $1 }')
check_eq "no tdm-$name-* namespace left" "" "$left"
check "no $dir left" test ! -e "$dir"
check "no bpffs mount left" sh -c "! grep -q ' $dir/' /proc/mounts"

finish
