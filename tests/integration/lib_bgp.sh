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
# mb_digests K (each service's Maglev table digest), flows80 K... (the
# port-80 flows of those switches: "client port node K" lines),
# members_up K... (start them, wait until the router routes over them, or
# fail and end), dl_start/dl_finish (long downloads from c1..c3),
# flows_cmp (did the sessions keep their nodes); for a sync group
# (LAB_BGP_SYNC=1): sync_group_up, mb_sync, mb_in_sync, mb_reason,
# sync_cut; bgp_keep_logs (at exit: the switches' and the router's logs into
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

mb_digests() {
	mb_jctl "$1" vips | jq -r '[.vips[].services[] | "\(.port):\(.table_digest)"] | join(" ")'
}

flows80() {
	local k
	for k in "$@"; do mb_flows "$k" | awk -v k="$k" '$4 == 80 { print $1, $2, $6, k }'; done
}

# members_up K...: lab member-start (BIRD, lbd) each, then the router
# routes the VIP over exactly those; or the test fails and ends.
members_up() {
	local k out hops
	for k in "$@"; do
		if ! out=$(lab member-start "$k" 2>&1); then
			fail "switch $k starts (BIRD, lbd)" "$out"
			finish
		fi
	done
	hops=$(for k in "$@"; do mb_hop "$k"; done | sort | paste -sd' ')
	if ! wait_for 30 hops_are "$hops"; then
		fail "the router routes the VIP over switches $*" "hops: $(r_hops)"
		finish
	fi
	ok "the router routes the VIP over switches $*"
}

# dl_start DIR N [BPS]: N downloads of 1m.bin at BPS bytes/s (70 kB/s: ~15
# s each), N/3 from each of c1 c2 c3, in the background; their pids in
# DL_PIDS.  Files per download: DIR/HOST.J.{bin,w,err}.
dl_start() {
	local dir=$1 n=$2 bps=${3:-70000} c j
	mkdir -p "$dir"
	DL_PIDS=()
	for c in c1 c2 c3; do
		for ((j = 0; j < n / 3; j++)); do
			in_ns "$c" curl -sS -m 90 -o "$dir/$c.$j.bin" -w "%{http_code} %{local_port}\n" \
				"http://$VIP4/rate/1m.bin?bps=$bps" >"$dir/$c.$j.w" 2>"$dir/$c.$j.err" &
			DL_PIDS+=($!)
		done
	done
}

# dl_finish DIR N: wait for dl_start's downloads; checks that each answered
# 200, none saw an error (reset, timeout) and each is byte-exact.
dl_finish() {
	local dir=$1 n=$2 p c j want bad=0 errs=0 codes=0
	for p in "${DL_PIDS[@]}"; do wait "$p"; done
	want=$(awk '$2 == "1m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")
	for c in c1 c2 c3; do
		for ((j = 0; j < n / 3; j++)); do
			[ "$(sha256sum <"$dir/$c.$j.bin" | cut -d' ' -f1)" = "$want" ] || bad=$((bad + 1))
			[ -s "$dir/$c.$j.err" ] && errs=$((errs + 1))
			[ "$(cut -d' ' -f1 "$dir/$c.$j.w")" = 200 ] || codes=$((codes + 1))
		done
	done
	check_eq "every download answered 200" 0 "$codes"
	check_eq "no download saw an error (reset, timeout)" 0 "$errs"
	[ "$errs" = 0 ] || diag "$(head -n 3 "$dir"/*.err | head -n 12)"
	check_eq "every download is byte-exact (sha256 of 1m.bin)" 0 "$bad"
}

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

# flows_cmp BEFORE AFTER: "WRONG MISSING": of the sessions ("client port
# node" lines) in BEFORE, how many AFTER names with another node, and how
# many AFTER lacks.
flows_cmp() {
	awk 'NR == FNR { node[$1 " " $2] = $3; next }
		{ k = $1 " " $2; if (!(k in node)) next; seen[k] = 1; if (node[k] != $3) bad++ }
		END { n = 0; for (k in node) if (!(k in seen)) n++; print bad + 0, n }' "$1" "$2"
}

# --- replication in the group (LAB_BGP_SYNC=1: bgp_sync_lab_up) ---

# bgp_sync_lab_up N: bgp_lab_up with the switches in one sync group.
bgp_sync_lab_up() {
	export LAB_BGP_SYNC=1
	bgp_lab_up "$1"
}

# sync_group_up: a lab of three switches in one sync group, all started,
# the router routing over them, each in sync with both others; or the
# test fails.
sync_group_up() {
	local k
	bgp_sync_lab_up 3
	members_up 1 2 3
	for k in 1 2 3; do
		check "sw$k: syncd ready and in sync with both other members" wait_for 10 mb_in_sync "$k"
	done
}

# mb_sync K ARGS: tandemctl --json at switch K's tandem-syncd.
mb_sync() {
	local k=$1
	shift
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$k/syncd.sock" --json "$@"
}

# sync_ip K: switch K's sync address (the storage LAN).
sync_ip() { echo "10.77.2.$(($1 + 1))"; }

# mb_in_sync K: K's syncd is ready and in sync with every other live member.
mb_in_sync() {
	mb_sync "$1" status |
		jq -e '.ready and ([.members[] | select(.self | not) | select(.alive) | .synced] | all)' >/dev/null
}

# mb_reason K: why switch K's lbd announces or not (bgp.reason).
mb_reason() { mb_jctl "$1" status | jq -r '.bgp.reason'; }

# sync_cut K J on|off: drop (or stop dropping) the sync traffic between
# switches K and J, in K's namespace, both directions; everything else of
# the two switches (BGP, client traffic) goes on.
sync_cut() {
	local k=$1 j=$2 ip
	ip=$(sync_ip "$j")
	if [ "$3" = on ]; then
		in_ns "sw$k" nft -f - <<NFT
table inet tdm_cut$j {
	chain in { type filter hook input priority 0; ip saddr $ip udp dport 7405 drop; }
	chain out { type filter hook output priority 0; ip daddr $ip udp dport 7405 drop; }
}
NFT
	else
		in_ns "sw$k" nft delete table inet "tdm_cut$j"
	fi
}
