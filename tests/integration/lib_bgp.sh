# shellcheck shell=bash
# lib_bgp.sh - scale-out labs: N switches behind an ECMP router (sourced
# after lib.sh by the tests that need it; the lab: appliance/lab/lab-bgp.sh).
#
# bgp_lab_up N: a lab with LAB_BGP=N, no switch daemons yet.  After it:
# NS_R, R_BIRD_SOCK, C1_IP4..C3_IP4 (the clients behind the router).
#
# Helpers: mb_jctl K ARGS (tandemctl --json at switch K's lbd), mb_flows K
# (switch K's flow table as sw_flows prints it), r_hops (the router's
# next hops for VIP4 in its kernel table, sorted, one line), r_session K
# (the router's BGP session with switch K: Established, Active, ...),
# hops_are "IPS" (r_hops equals it), mb_fwd_new K (K's fwd_new counter),
# bgp_keep_logs (at exit: the switches' and the router's logs into
# tests/out/bgp-logs/ when a check failed).

require_bgp() {
	require_lbd
	[ -x "$TANDEM_BUILD/tandem-failover" ] || skip_all "no $TANDEM_BUILD/tandem-failover (run make)"
	require_cmd bird birdc jq curl sha256sum nft
}

bgp_lab_up() {
	LAB_BGP=$1 lab_up
	at_exit bgp_keep_logs
}

mb_jctl() {
	local k=$1
	shift
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$k/lbd.sock" --json "$@"
}

mb_flows() {
	mb_jctl "$1" flows --limit 1000000 |
		jq -r '.flows[] | "\(.client) \(.client_port) \(.vip) \(.port) \(.proto) \(.node)"' | sort
}

mb_fwd_new() { mb_jctl "$1" stats | jq '.verdicts.fwd_new'; }

# switch K's address on the router's side (its BGP next hop)
mb_hop() { echo "10.77.5.1$1"; }

r_hops() {
	ip -n "$NS_R" route show "$VIP4/32" 2>/dev/null | grep -oE 'via [0-9.]+' | awk '{ print $2 }' |
		sort | paste -sd' '
}

hops_are() { [ "$(r_hops)" = "$1" ]; }

r_session() {
	birdc -s "$R_BIRD_SOCK" show protocols "sw$1" 2>/dev/null | awk -v p="sw$1" '$1 == p { print $6 }'
}

bgp_keep_logs() {
	[ "$_T_FAIL" -gt 0 ] && [ -n "$LAB_NAME" ] || return 0
	local d=$REPO/tests/out/bgp-logs/$TEST_NAME.$$ x
	for x in "$LAB_DIR"/sw-* "$LAB_DIR/r"; do
		mkdir -p "$d/${x##*/}"
		cp "$x"/*.log "$x"/*.conf "$x"/*.json "$d/${x##*/}/" 2>/dev/null
	done
	diag "logs kept in $d"
}
