# shellcheck shell=bash
# lib_aa.sh - active-active pairs behind round-robin DNS (sourced after
# lib.sh by the tests that need it).
#
# aa_up (aa_lab_up, then aa_switches_up): a pair lab with LAB_AA=1
# LAB_DNS=1 (appliance/lab/lab-pair.sh, lab-dns.sh): VIP4 in VRRP group g1
# (preferred: switch a), VIP4B in g2 (preferred: b), BIND 9 in host dns
# (DNS_IP) serving DNS_NAME, the clients resolving through it; pairload
# servers on the nodes (:9000, and :9001: v4b's own service, aa_9001
# start|stop).  Returns with a master of g1 and b master of g2, both
# synced, both records published.
#
# Helpers: sw_group_role X G, groups_are X R1 R2 (roles of g1 and g2 on X),
# dig_names [HOST] (the addresses DNS_NAME has now, sorted, one line),
# dns_is "ADDR..." (dig_names equals it), load_vips X DIR ("VIP COUNT"
# lines: which VIP each of DIR's sessions went to, from switch X's table),
# fwd_count X (forwarded packets, new and hits).

# require_aa: what the active-active and DNS tests need.
require_aa() {
	require_pair
	require_cmd named dig nsupdate tsig-keygen
}

sw_group_role() {
	sw_jctl "$1" status 2>/dev/null | jq -r --arg g "$2" '.groups[]? | select(.name == $g) | .role'
}

groups_are() {
	[ "$(sw_group_role "$1" g1) $(sw_group_role "$1" g2)" = "$2 $3" ]
}

dig_names() {
	in_ns "${1:-c1}" dig +short +time=1 +tries=1 "@$DNS_IP" "$DNS_NAME" A 2>/dev/null |
		grep -E '^[0-9.]+$' | sort | tr '\n' ' ' | sed 's/ $//'
}

dns_is() { [ "$(dig_names)" = "$1" ]; }

load_vips() {
	local x=$1 dir=$2
	sw_flows "$x" | awk '$4 == 80 || $4 == '"$PAIR_PORT"' { print $1, $2, $4, $3 }' >"$dir/vflows.$x"
	awk -v c1="$C1_IP4" -v c2="$C2_IP4" -v pp="$PAIR_PORT" 'NR == FNR { f[$1 " " $2 " " $3] = $4; next }
		{ ip = ($3 == "c1" ? c1 : c2); k = ip " " $4 " " ($2 == "dl" ? 80 : pp)
		  n[f[k] == "" ? "none" : f[k]]++ }
		END { for (v in n) print v, n[v] }' "$dir/vflows.$x" "$dir/ready" | sort
}

fwd_count() {
	sw_jctl "$1" stats | jq '.verdicts.fwd_new + .verdicts.fwd_hit'
}

# aa_9001 start|stop: the nodes' servers of v4b's own service (tcp 9001).
aa_9001() {
	local n
	for n in n1 n2 n3; do
		if [ "$1" = start ]; then
			in_ns "$n" python3 "$PAIRLOAD" server 9001 "$n" >"$TEST_TMP/p9001-$n.log" 2>&1 </dev/null &
		else	# the servers on :9001 we started (in_ns ... & is a subshell's pid)
			for p in $(ip netns pids "tdm-$LAB_NAME-$n"); do
				tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "pairload.py server 9001 " &&
					kill "$p" 2>/dev/null
			done
		fi
	done
	[ "$1" = stop ] && return 0
	for n in n1 n2 n3; do
		wait_for 10 in_ns "$n" sh -c "ss -Hltn 'sport = :9001' | grep -q ." || return 1
	done
}

aa_up() {
	aa_lab_up
	aa_switches_up
}

# aa_lab_up: the lab and the nodes' pairload servers, no switch daemons yet
# (a test that runs its own services on the nodes, tandem-nasd for NFS,
# starts them next, then aa_switches_up).
aa_lab_up() {
	export LAB_AA=1 LAB_DNS=1
	pair_lab_up
	if ! aa_9001 start; then
		fail "pairload servers on :9001 (v4b's own service)" "$(cat "$TEST_TMP"/p9001-n*.log)"
		finish
	fi
}

# aa_switches_up: both switches started, each master of its preferred group,
# every v4 and v4b service with its 3 nodes, both records published; or the
# test fails and ends.
aa_switches_up() {
	local out
	if ! out=$(lab switch-start a 2>&1) || ! wait_for 20 groups_are a master master; then
		fail "switch a starts and masters both groups (b is down)" "$out" \
			"groups: '$(sw_group_role a g1)' '$(sw_group_role a g2)'" "$(tail -n 5 "$SWA_DIR"/*.log)"
		finish
	fi
	if ! out=$(lab switch-start b 2>&1) || ! wait_for 20 groups_are a master backup ||
		! wait_for 20 groups_are b backup master || ! wait_for 20 sy_synced a ||
		! wait_for 20 sy_synced b; then
		fail "switch b starts: a master of g1, b master of g2, both synced" "$out" \
			"a: $(sw_group_role a g1) $(sw_group_role a g2)" \
			"b: $(sw_group_role b g1) $(sw_group_role b g2)" "a: $(sy_json a)" "b: $(sy_json b)"
		finish
	fi
	_aa_vips_ready() {
		[ "$(sw_jctl "$1" vips | jq '[.vips[] | select(.name == "v4" or .name == "v4b") |
			.services[] | .nodes_in_table] | min')" = 3 ]
	}
	if ! wait_for 15 _aa_vips_ready a || ! wait_for 15 _aa_vips_ready b; then
		fail "every v4 and v4b service has its 3 nodes on both switches" "$(sw_jctl a vips)"
		finish
	fi
	if ! wait_for 10 dns_is "$VIP4 $VIP4B"; then
		fail "$DNS_NAME has both VIPs" "dig: '$(dig_names)'" "a: $(sw_jctl a status | jq -c .dns)"
		finish
	fi
	diag "active-active pair up: a master of g1 ($VIP4), b of g2 ($VIP4B); $DNS_NAME: $(dig_names)"
}
