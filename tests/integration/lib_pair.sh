# shellcheck shell=bash
# lib_pair.sh - the harness's pair mode helpers (sourced by lib.sh; see
# there and the section header below).

# ------------------------------------------------------------ pair mode --
#
# A pair lab (LAB_PAIR=1 lab.sh up, see "pair mode" in appliance/lab/lab.sh):
# switches a (VRRP priority 150) and b (100), each with lbd, tandem-syncd and
# keepalived; the VIP moves by VRRP.  A test calls require_pair, then pair_up
# (lab up, pairload servers on the nodes, A master, B backup, both synced).
# After pair_up: SWA_DIR/SWB_DIR, LBD_SOCK_A/B, SYNCD_SOCK_A/B, NS_SWA/NS_SWB,
# SYNC_A/SYNC_B (sync link addresses), PAIRLOAD (tests/tools/pairload.py).
#
# Helpers: sw_start/sw_stop/sw_links X, sw_role X, roles_are RA RB, sw_jctl X,
# sy_json X, sy_get X JQ, sw_flows X (sorted "client cport vip port proto
# node" lines), sw_mac X DEV, drop_on/drop_off HOST DEV SECTION (BPF packet
# droppers of tests/tools/bpf/pair_drop.bpf.c); load_start/load_flows_on/
# load_alive/load_finish (long sessions of three kinds through the VIP);
# burst; watch_start/watch_stop/watch_unready (50 ms role sampling).

PAIRLOAD=$REPO/tests/tools/pairload.py
PAIR_PORT=9000		# pairload server port (a tcp service of the pair VIP)
# FAMILY=6 (the t_*_v6.sh wrappers run a test again over IPv6): the long
# sessions and bursts go to the v6 VIP from the clients' IPv6 addresses, and
# pair_up waits for the v6 VIP's services too.  Default 4.
FAMILY=${FAMILY:-4}

# pair_vip: the VIP of FAMILY (VIP4 or VIP6); pair_url_host: the same as a
# URL's host (brackets around IPv6); pair_client_ip c1|c2: that client's
# address of FAMILY.
pair_vip() { if [ "$FAMILY" = 6 ]; then echo "$VIP6"; else echo "$VIP4"; fi; }
pair_url_host() {
	case "$1" in
	*:*) echo "[$1]" ;;
	*) echo "$1" ;;
	esac
}
pair_client_ip() {
	local v=${1^^}_IP$FAMILY
	echo "${!v}"
}

# require_pair: the pair's daemons and tools are there.
require_pair() {
	require_lbd
	[ -x "$TANDEM_BUILD/tandem-syncd" ] || skip_all "no $TANDEM_BUILD/tandem-syncd (run make)"
	[ -x "$TANDEM_BUILD/tandem-failover" ] || skip_all "no $TANDEM_BUILD/tandem-failover (run make)"
	require_cmd keepalived jq python3 tc ss
}

# sw_start X / sw_stop X [hard] / sw_links X up|down: lab.sh switch-start ...
sw_start() { lab switch-start "$1" >/dev/null; }
sw_stop() { lab switch-stop "$@" >/dev/null; }
sw_links() { lab switch-links "$1" "$2"; }

# sw_jctl X ARGS...: `tandemctl --json ARGS` against switch X's lbd.
sw_jctl() {
	local x=$1
	shift
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$x/lbd.sock" --json "$@"
}

# sw_role X: the VRRP role switch X's lbd was told (empty if lbd is down).
sw_role() {
	sw_jctl "$1" status 2>/dev/null | jq -r '.role // empty'
}

# roles_are RA RB: switch a has role RA and b has RB ("-": any).
roles_are() {
	local ra rb
	ra=$(sw_role a) rb=$(sw_role b)
	{ [ "$1" = - ] || [ "$ra" = "$1" ]; } && { [ "$2" = - ] || [ "$rb" = "$2" ]; }
}

# sy_json X: tandem-syncd's status object of switch X, one line.
sy_json() {
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/syncd.sock" --json status 2>/dev/null | jq -c .
}

# sy_get X JQ: a field of syncd's status ("-" if syncd does not answer).
sy_get() {
	local j
	j=$(sy_json "$1") && [ -n "$j" ] || {
		echo -
		return 1
	}
	jq -r "$2" <<<"$j"
}

# sy_synced X: syncd of X holds its peer's table and is ready.
sy_synced() {
	[ "$(sy_get "$1" '.synced and .ready and .peer.alive')" = true ]
}

# sw_flows X: switch X's flow table, one sorted line per flow:
# "client client_port vip port proto node".
sw_flows() {
	sw_jctl "$1" flows --limit 1000000 |
		jq -r '.flows[] | "\(.client) \(.client_port) \(.vip) \(.port) \(.proto) \(.node)"' | sort
}

# sw_mac X DEV: the MAC address of DEV in switch X.
sw_mac() {
	ip -n "tdm-$LAB_NAME-sw$1" -j link show dev "$2" | jq -r '.[0].address'
}

# pair_servers_start: a pairload server on PAIR_PORT in every node.
pair_servers_start() {
	local n
	for n in n1 n2 n3; do
		in_ns "$n" python3 "$PAIRLOAD" server "$PAIR_PORT" "$n" \
			>"$TEST_TMP/pairload-$n.log" 2>&1 </dev/null &
	done
	for n in n1 n2 n3; do
		wait_for 10 in_ns "$n" sh -c "ss -Hltn 'sport = :$PAIR_PORT' | grep -q ." || return 1
	done
}

# pair_keep_logs: if a check failed, keep the switches' logs and state
# (daemon logs, keepalived.conf, flow tables, syncd status) in
# tests/out/pair-logs/TEST_NAME.PID/: the lab is gone after the test.
pair_keep_logs() {
	[ "$_T_FAIL" -gt 0 ] && [ -n "$LAB_NAME" ] || return 0
	local d=$REPO/tests/out/pair-logs/$TEST_NAME.$$ x
	mkdir -p "$d"
	for x in a b; do
		mkdir -p "$d/sw-$x"
		cp "$LAB_DIR/sw-$x"/*.log "$LAB_DIR/sw-$x"/*.conf "$LAB_DIR/sw-$x/tandem.json" "$d/sw-$x/" 2>/dev/null
		sw_jctl "$x" flows --limit 1000000 >"$d/sw-$x/flows.json" 2>&1
		sw_jctl "$x" stats >"$d/sw-$x/stats.json" 2>&1
		sw_jctl "$x" nodes >"$d/sw-$x/nodes.json" 2>&1
		sy_json "$x" >"$d/sw-$x/syncd-status.json" 2>&1
	done
	mkdir -p "$d/tmp"
	tar -C "$TEST_TMP" --exclude='*.bin' -cf - . 2>/dev/null | tar -C "$d/tmp" -xf - 2>/dev/null
}

# pair_up: a private pair lab with servers on the nodes, switch a master and
# b backup, both synced.  Ends the test (finish) if any of it fails.
pair_up() {
	pair_lab_up
	pair_switches_up
}

# pair_lab_up: the pair lab and the pairload servers, no switch daemons yet
# (a test that runs its own services on the nodes starts them next, then
# pair_switches_up: the switches wait for every VIP service's nodes).
pair_lab_up() {
	LAB_PAIR=1 lab_up
	at_exit pair_keep_logs
	diag "if a check fails, logs go to tests/out/pair-logs/$TEST_NAME.$$"
	if ! pair_servers_start; then
		fail "pairload servers on the nodes listen on :$PAIR_PORT" "$(cat "$TEST_TMP"/pairload-n*.log)"
		finish
	fi
}

pair_switches_up() {
	local out
	if ! out=$(lab switch-start a 2>&1) || ! wait_for 20 roles_are master -; then
		fail "switch a starts and becomes master" "$out" "role: '$(sw_role a)'" \
			"$(tail -n 5 "$SWA_DIR"/*.log)"
		finish
	fi
	if ! out=$(lab switch-start b 2>&1) || ! wait_for 20 roles_are master backup ||
		! wait_for 20 sy_synced a || ! wait_for 20 sy_synced b; then
		fail "switch b starts: a master, b backup, both synced" "$out" \
			"roles: '$(sw_role a)' '$(sw_role b)'" "a: $(sy_json a)" "b: $(sy_json b)"
		finish
	fi
	local vn=v4
	[ "$FAMILY" = 6 ] && vn=v6
	vip_ready() {
		[ "$(sw_jctl a vips | jq --arg v "$vn" '[.vips[] | select(.name == "v4" or .name == $v) |
			.services[] | .nodes_in_table] | min')" = 3 ]
	}
	if ! wait_for 15 vip_ready; then
		fail "every $vn service of switch a has its 3 nodes" "$(sw_jctl a vips)"
		finish
	fi
	diag "pair up: a master, b backup, both synced"
}

# drop_on HOST DEV SECTION: attach SECTION of tests/tools/bpf/pair_drop.bpf.c
# (drop20: ~20 % of UDP; novrrp: IP protocol 112) to DEV's ingress in HOST
# (swa, swb, hub, ...), as tc filter pref 10.  drop_off HOST DEV removes that
# filter only.  Never on a switch's eth0: lbd's data plane is the pref 1
# direct-action filter there and its verdict ends classification (a later
# filter would not see the packets); to drop what a switch sends to a LAN,
# use the hub's port of that switch (swa0 swa1 swb0 swb1: the ingress of the
# hub's end is what the switch transmits).
drop_on() {
	local o=$TEST_TMP/pair_drop.o
	if [ ! -s "$o" ]; then
		clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
			-c "$REPO/tests/tools/bpf/pair_drop.bpf.c" -o "$o" || return 1
	fi
	in_ns "$1" tc qdisc show dev "$2" | grep -q clsact ||
		in_ns "$1" tc qdisc add dev "$2" clsact || return 1
	in_ns "$1" tc filter add dev "$2" ingress pref 10 bpf da obj "$o" sec "$3"
}

drop_off() {
	in_ns "$1" tc filter del dev "$2" ingress pref 10
}

# ---------------------------------------------------- long pair sessions --
#
# load_start DIR NDL NUP NRR SECS: long sessions through the VIP of FAMILY
# (pair_vip), spread over
# c1 and c2, each on ONE TCP connection and lasting about SECS seconds:
#   NDL downloads: curl GET /node then /rate/1m.bin on one keep-alive
#       connection, nginx sending 1 MiB/SECS per second (limit_rate: a
#       client-side limit would let the socket buffers absorb the file);
#   NUP uploads and NRR request/response sessions: pairload.py client against
#       the nodes' pairload servers (VIP:PAIR_PORT).
# LOAD_HOST (default pair_vip): the address or name the sessions connect to
# (a name is resolved by each session: round-robin DNS spreads them).
# Waits (30 s at most) until every session is established, then fills
# DIR/ready: "ID KIND HOST LPORT NODE" per session, and returns 0 (1 if some
# session did not start: the test should fail and finish).
load_start() {
	local dir=$1 ndl=$2 nup=$3 nrr=$4 secs=$5 h i rate n host=${LOAD_HOST:-$(pair_vip)} uh
	uh=$(pair_url_host "$host")
	mkdir -p "$dir"
	: >"$dir/pids"
	rate=$((1048576 / secs))
	for ((i = 0; i < ndl; i++)); do
		h=c$((i % 2 + 1))
		echo "$h" >"$dir/dl$i.host"
		in_ns "$h" curl -gsS -m $((secs + 120)) \
			-w "%{stderr}%{http_code} %{num_connects} %{local_port}\n" \
			-o "$dir/dl$i.node" "http://$uh/node" \
			-o "$dir/dl$i.bin" "http://$uh/rate/1m.bin?bps=$rate" 2>"$dir/dl$i.w" &
		echo "dl$i $!" >>"$dir/pids"
	done
	for h in c1 c2; do
		n=$([ "$h" = c1 ] && echo 0 || echo 1)
		# c1 takes the larger half; ids are unique: c1 from 10000, c2 from 20000
		in_ns "$h" python3 "$PAIRLOAD" client --host "$host" --port "$PAIR_PORT" \
			--up $(((nup + 1 - n) / 2)) --rr $(((nrr + 1 - n) / 2)) --secs "$secs" \
			--rate 16384 --first $((10000 * (n + 1))) \
			--ready "$dir/py.$h.ready" --out "$dir/py.$h.out" >"$dir/py.$h.log" 2>&1 &
		echo "py.$h $!" >>"$dir/pids"
	done
	LOAD_N=$((ndl + nup + nrr))
	echo "$LOAD_N" >"$dir/n"
	_load_ready() {
		local n=0 i
		for ((i = 0; i < ndl; i++)); do
			grep -qx 'n[123]' "$dir/dl$i.node" 2>/dev/null &&
				grep -q '^200 1 [0-9]' "$dir/dl$i.w" 2>/dev/null && n=$((n + 1))
		done
		n=$((n + $(cat "$dir"/py.c*.ready 2>/dev/null | wc -l)))
		[ "$n" -ge "$LOAD_N" ]
	}
	wait_for 30 _load_ready
	: >"$dir/ready"
	for ((i = 0; i < ndl; i++)); do
		[ -s "$dir/dl$i.node" ] || continue
		echo "dl$i dl $(cat "$dir/dl$i.host") $(awk '/^200 1 [0-9]+$/ { print $3; exit }' \
			"$dir/dl$i.w") $(cat "$dir/dl$i.node")" >>"$dir/ready"
	done
	for h in c1 c2; do
		awk -v h="$h" '{ print $1, $2, h, $3, $4 }' "$dir/py.$h.ready" 2>/dev/null >>"$dir/ready"
	done
	[ "$(wc -l <"$dir/ready")" -eq "$LOAD_N" ]
}

# load_alive DIR: how many of DIR's sessions are still going (curl downloads
# still running, pairload sessions established and not ended).  A session
# that ended early (a reset) no longer counts.
load_alive() {
	local tag pid n=0 h
	while read -r tag pid; do
		case "$tag" in
		dl*) pid_gone "$pid" || n=$((n + 1)) ;;
		py.*)
			h=${tag#py.}
			n=$((n + $(cat "$1/py.$h.ready" 2>/dev/null | wc -l) - $(cat "$1/py.$h.out" 2>/dev/null | wc -l)))
			;;
		esac
	done <"$1/pids"
	echo "$n"
}

# load_flows_on X DIR: how many of DIR's sessions switch X's flow table holds
# on the node that serves them (the first few others on stderr).
load_flows_on() {
	local x=$1 dir=$2 ip
	sw_flows "$x" | awk '$4 == 80 || $4 == '"$PAIR_PORT"' { print $1, $2, $4, $6 }' >"$dir/flows.$x"
	# A client port may serve two sessions to two VIPs (LOAD_HOST a name):
	# a session matches an entry of its client address, port and service.
	awk -v c1="$(pair_client_ip c1)" -v c2="$(pair_client_ip c2)" -v pp="$PAIR_PORT" 'NR == FNR { f[$1 " " $2 " " $3] = f[$1 " " $2 " " $3] " " $4 " "; next }
		{ ip = ($3 == "c1" ? c1 : c2); k = ip " " $4 " " ($2 == "dl" ? 80 : pp)
		  if (index(f[k], " " $5 " ")) n++; else if (m++ < 5) print "missing: " $0 " (table:" f[k] ")" > "/dev/stderr" }
		END { print n + 0 }' "$dir/flows.$x" "$dir/ready"
}

# load_finish DIR TIMEOUT_S: wait for every session of DIR (killing what still
# runs after TIMEOUT_S) and check each: downloads by curl's exit code, both
# HTTP 200s, one connection, sha256 of 1m.bin; uploads and request/response by
# pairload's verdict.  Writes DIR/summary ("ID KIND HOST NODE STATUS") and sets
# LOAD_OK (sessions ok), LOAD_BAD (the others), LOAD_GAP (longest network wait
# of a pairload session, ms), LOAD_FAILS (first failed summary lines).
# Call it directly, not in $(...).
load_finish() {
	local dir=$1 t=$2 tag pid rc st end want got codes conns h
	end=$(($(now_ms) + t * 1000))
	want=$(want_sha 1m.bin)
	: >"$dir/summary"
	while read -r tag pid; do
		while ! pid_gone "$pid" && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
		pid_gone "$pid" || kill "$pid" 2>/dev/null
		rc=0
		wait "$pid" || rc=$?
		echo "$rc" >"$dir/$tag.rc"
	done <"$dir/pids"
	while read -r tag pid; do
		case "$tag" in
		dl*)
			rc=$(cat "$dir/$tag.rc")
			got=$(sha256sum <"$dir/$tag.bin" 2>/dev/null | cut -d' ' -f1)
			codes=$(awk '/^[0-9]+ [0-9]+ [0-9]+$/ { printf "%s%s", (n++ ? "," : ""), $1 }' "$dir/$tag.w")
			conns=$(awk '/^[0-9]+ [0-9]+ [0-9]+$/ { s += $2 } END { print s + 0 }' "$dir/$tag.w")
			st=ok
			if [ "$rc" != 0 ]; then
				st="curl-exit-$rc:$(grep -v '^[0-9]* [0-9]* [0-9]*$' "$dir/$tag.w" | head -c 120 | tr ' \n' '_.')"
			elif [ "$codes" != 200,200 ]; then
				st="http:$codes"
			elif [ "$conns" != 1 ]; then
				st="connections:$conns"
			elif [ "$got" != "$want" ]; then
				st="sha256:$(file_size "$dir/$tag.bin")-bytes"
			fi
			echo "$tag dl $(cat "$dir/$tag.host") $(cat "$dir/$tag.node" 2>/dev/null || echo none) $st" \
				>>"$dir/summary"
			;;
		py.*)
			h=${tag#py.}
			[ -s "$dir/py.$h.out" ] || continue
			jq -r --arg h "$h" '"\(.id) \(.kind) \($h) \(.node) " +
				(if .ok then "ok" else "fail:" + (.err | gsub(" "; "_")) end)' \
				"$dir/py.$h.out" >>"$dir/summary"
			;;
		esac
	done <"$dir/pids"
	LOAD_OK=$(awk '$5 == "ok"' "$dir/summary" | wc -l)
	LOAD_BAD=$(($(cat "$dir/n") - LOAD_OK))
	LOAD_GAP=$(cat "$dir"/py.c*.out 2>/dev/null | jq -s 'map(.max_gap_ms) | max // 0')
	LOAD_FAILS=$(awk '$5 != "ok"' "$dir/summary" | head -n 10)
}

# burst HOST COUNT: COUNT short HTTP connections (GET /node) from HOST to
# the VIP of FAMILY, port 80, 20 at a time; prints pairload's JSON result, 0
# if all succeeded.
burst() {
	in_ns "$1" timeout 120 python3 "$PAIRLOAD" burst --host "$(pair_vip)" --count "$2" --conc 20
}

# watch_start X: sample switch X every 50 ms in the background (pairload
# poll: lbd role and nodes up, syncd synced/ready/rx.flows/peer) into
# TEST_TMP/watch.X, until watch_stop X.  Lines: "T_MS ROLE SYNCED READY
# RX_FLOWS PEER_ALIVE NODES_UP/NODES_TOTAL" ("-" while a daemon is down).
watch_start() {
	python3 "$PAIRLOAD" poll --lbd "$LAB_DIR/sw-$1/lbd.sock" --syncd "$LAB_DIR/sw-$1/syncd.sock" \
		--ms 50 --secs 600 --out "$TEST_TMP/watch.$1" &
	eval "_WATCH_$1=$!"
	at_exit "kill $! 2>/dev/null"
}

watch_stop() {
	local v=_WATCH_$1
	[ -n "${!v:-}" ] || return 0
	kill "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null
	eval "_WATCH_$1="
}

# watch_unready X [STOPS]: the samples (at most 5) in which switch X's lbd
# was master while its syncd was not synced or not every node was up in its
# lbd: a takeover before the switch could serve every flow.  STOPS: a file
# of "FROM_MS TO_MS" lines, the times X was being stopped (watch_stopping):
# a master whose links were just cut and whose daemons are being killed
# sees its nodes go down, and that is its end, not a takeover.
watch_unready() {
	local stops=${2:-/dev/null}
	awk 'FNR == NR { from[NR] = $1; to[NR] = $2; n = NR; next }
	     $2 == "master" && ($3 != 1 || split($7, u, "/") != 2 || u[1] != u[2]) {
		for (i = 1; i <= n; i++) if ($1 >= from[i] && $1 <= to[i]) next
		print
	     }' "$stops" "$TEST_TMP/watch.$1" 2>/dev/null | head -n 5
}

# watch_stopping FILE CMD...: run CMD (a switch stop) and add its time
# window to FILE for watch_unready.
watch_stopping() {
	local f=$1 t0 rc
	shift
	t0=$(now_ms)
	"$@"
	rc=$?
	echo "$t0 $(now_ms)" >>"$f"
	return $rc
}
