#!/bin/bash
# t_spread: new sessions through the VIP spread over the nodes by weight.
#
#   c1 (100 sessions) ----+                      +-- p1 -- n1  weight 100 (25 %)
#                         |--- brc --- eth0 [sw]--br1-- p2 -- n2  weight 100 (25 %)
#   c2 (100 sessions) ----+         lbd + BPF     +-- p3 -- n3  weight 200 (50 %)
#                 VIP 10.77.1.100 / fd77:1::100 (LAB_WEIGHTS="100 100 200")
#
#   200 IPv4 sessions, all at once (100 from c1, 100 from c2), then 48 IPv6
#   ones.  A session is ONE new TCP connection that fetches /node (who served
#   it) and then /1m.bin on the same keep-alive connection.  Checked:
#   - every session: HTTP 200 twice, one connection, 1m.bin sha256-correct;
#   - lbd's flow table holds exactly one flow per session (client address and
#     port, as curl reports it), on the node that answered /node;
#   - per-node shares match the weights within 4 binomial standard
#     deviations (see share_ok);
#   - per node, `tandemctl --json nodes` new_flows grew by exactly the number
#     of sessions the clients counted for that node, and so did its flows
#     (health checks go to node addresses, not the VIP: not counted).
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq
export LAB_WEIGHTS="100 100 200"
lab_up
lbd_up
all_in_table() {
	[ "$(svc_nodes v4 tcp 80)" = 3 ] && [ "$(svc_nodes v6 tcp 80)" = 3 ]
}
check "all 3 nodes in the tcp/80 Maglev tables (v4, v6)" wait_for 15 all_in_table

SHA_1M=$(want_sha 1m.bin)

# share_ok LABEL NODE COUNT N P: COUNT of N sessions on NODE fits share P.
# Each session's node is an independent draw (the flow hash of a 5-tuple
# with a random client port), so COUNT ~ Binomial(N, P): allow
# N*P +- 4*sqrt(N*P*(1-P)), i.e. share P +- 4*sqrt(P(1-P)/N).  For N = 200:
# 25 % -> 50 +- 24.5 sessions, 50 % -> 100 +- 28.3.  A correct balancer
# fails this with probability ~6e-5 per node; one that ignores the weights
# (33 % each) or skips a node lands far outside.  (Maglev's table gives each
# node its weighted share of the 65537 slots to within 1 %, negligible here.)
share_ok() {
	local label=$1 node=$2 count=$3 n=$4 p=$5 lo hi
	read -r lo hi < <(awk -v n="$n" -v p="$p" 'BEGIN {
		sd = sqrt(n * p * (1 - p)); printf "%.1f %.1f\n", n * p - 4 * sd, n * p + 4 * sd }')
	check_between "$label: $node share $count/$n matches weight share $p (+-4 sd)" "$count" "$lo" "$hi"
}

# check_batch LABEL DIR N VIPNAME FAMILY BEFORE_NEW BEFORE_FLOWS
check_batch() {
	local label=$1 dir=$2 n=$3 vip=$4 fam=$5 before_new=$6 before_flows=$7
	local c1 c2 i bad=0 t1 t2 t3 failed a b c

	read -r t1 t2 t3 failed < <(tally "$dir")
	diag "$label: n1 $t1, n2 $t2, n3 $t3 sessions, $failed failed"
	check_eq "$label: all $n sessions: 2x HTTP 200 on one connection, node known" 0 "$failed" ||
		diag "$(sessions_fail_lines "$dir")"

	for ((i = 0; i < n; i++)); do
		[ "$(sha256sum <"$dir/$i.bin" 2>/dev/null | cut -d' ' -f1)" = "$SHA_1M" ] || bad=$((bad + 1))
	done
	check_eq "$label: every 1m.bin sha256-correct" 0 "$bad"
	rm -f "$dir"/*.bin

	# The flow table: one flow per session, same node as the client saw.
	if [ "$fam" = 4 ]; then c1=$C1_IP4 c2=$C2_IP4; else c1=$C1_IP6 c2=$C2_IP6; fi
	jctl flows --vip "$vip" --limit 100000 >"$dir/flows.json"
	jq -r '.flows[] | select(.port == 80 and .proto == "tcp") | "\(.client) \(.client_port) \(.node)"' \
		"$dir/flows.json" | sort >"$dir/flows.lbd"
	awk -v c1="$c1" -v c2="$c2" '$5 == "ok" { print ($2 == "c1" ? c1 : c2), $4, $3 }' \
		"$dir/summary" | sort >"$dir/flows.clients"
	check_eq "$label: lbd lists $n flows for $vip tcp/80" "$n" "$(wc -l <"$dir/flows.lbd")"
	if diff -u "$dir/flows.clients" "$dir/flows.lbd" >"$dir/flows.diff"; then
		ok "$label: each session's 5-tuple is in lbd's flow table on the node that served it"
	else
		fail "$label: flow table matches the sessions (client port -> node)" \
			"$(head -n 12 "$dir/flows.diff")"
	fi

	share_ok "$label" n1 "$t1" "$n" 0.25
	share_ok "$label" n2 "$t2" "$n" 0.25
	share_ok "$label" n3 "$t3" "$n" 0.5

	# Counters: new_flows and flows per node grew by what the clients saw.
	local now_new now_flows
	now_new=$(new_flows_all)
	now_flows=$(jctl nodes | jq -r '[.nodes[] | .flows] | join(" ")')
	read -r a b c < <(awk -v x="$before_new" -v y="$now_new" 'BEGIN {
		split(x, p); split(y, q); print q[1] - p[1], q[2] - p[2], q[3] - p[3] }')
	check_eq "$label: nodes new_flows grew by the sessions per node (n1 n2 n3)" \
		"$t1 $t2 $t3" "$a $b $c"
	read -r a b c < <(awk -v x="$before_flows" -v y="$now_flows" 'BEGIN {
		split(x, p); split(y, q); print q[1] - p[1], q[2] - p[2], q[3] - p[3] }')
	check_eq "$label: nodes flows grew by the sessions per node (n1 n2 n3)" \
		"$t1 $t2 $t3" "$a $b $c"
}

# ---- IPv4: 200 sessions at once
before_new=$(new_flows_all)
before_flows=$(jctl nodes | jq -r '[.nodes[] | .flows] | join(" ")')
check_eq "no flows before the first session" "0 0 0" "$before_flows"
t0=$(now_ms)
sessions "$TEST_TMP/v4" 200 "http://$VIP4" /1m.bin
diag "200 IPv4 sessions took $(($(now_ms) - t0)) ms"
check_batch IPv4 "$TEST_TMP/v4" 200 v4 4 "$before_new" "$before_flows"
svc_new=$(jctl vips | jq -r '.vips[] | select(.name == "v4") | .services[] |
	select(.proto == "tcp" and .port == 80) | .new_flows')
check_eq "v4 tcp/80 service new_flows = 200" 200 "$svc_new"

# ---- IPv6: 48 sessions at once
before_new=$(new_flows_all)
before_flows=$(jctl nodes | jq -r '[.nodes[] | .flows] | join(" ")')
t0=$(now_ms)
sessions "$TEST_TMP/v6" 48 "http://[$VIP6]" /1m.bin
diag "48 IPv6 sessions took $(($(now_ms) - t0)) ms"
check_batch IPv6 "$TEST_TMP/v6" 48 v6 6 "$before_new" "$before_flows"

check_eq "tandemctl status: flows = 248 (200 IPv4 + 48 IPv6 sessions)" 248 "$(jctl status | jq -r .flows)"
check_eq "verdicts: no drop_no_node / drop_redirect / midstream" "0 0 0" \
	"$(jctl stats | jq -r '.verdicts | "\(.drop_no_node) \(.drop_redirect) \(.fwd_midstream)"')"
check "lbd still running" kill -0 "$(lbd_pid)"

finish
