#!/bin/bash
# t_restart: lbd can die, restart and reload without touching live sessions.
#
#   c1 --- brc --- eth0 [sw: lbd (killed -9, restarted, SIGHUPed)]
#                        |  BPF program + maps pinned in the lab's bpffs:
#                        |  they outlive lbd
#                       br1 --- p1..p3 --- n1 n2 n3
#
#   1. a slow download (/slow/10m.bin, ~10 s) through the VIP on node X;
#   2. kill -9 lbd: the download keeps flowing (bytes grow) with no lbd;
#   3. lab.sh lbd-start: the new lbd lists the client's 5-tuple on X (the
#      pinned flow, not a midstream re-insert), and new sessions work; a
#      node drained before the kill is still drained (and after the reloads);
#   4. SIGHUP with n1's weight changed: reloads +1, the new weight shows,
#      the download's flow stays on X;
#   5. SIGHUP / `tandemctl reload` with a broken file (bad value, then bad
#      JSON): refused, the log names the file and the problem, lbd runs on
#      with the old configuration (reloads and weights unchanged);
#   6. the download completes byte-exact (sha256).
. "$(dirname "$0")/lib.sh"

lab_lbd_up

# 1. The long download.
long_begin long c1 "http://$VIP4" /slow/10m.bin
X=$LONG_NODE long_pid=$LONG_PID long_file=$LONG_FILE port=$LONG_PORT
check_eq "lbd lists the download's flow on $X" "$X" "$(flow_node "$C1_IP4" "$port" 80)"

# Drain another node Z: drain is data-plane state (pinned), it must survive
# the restart and the reloads below.
for Z in n3 n2 n1; do [ "$Z" = "$X" ] || break; done
check "tandemctl drain $Z (another node)" ctl drain "$Z"

# 2. kill -9 lbd.
pid=$(lbd_pid)
kill -9 "$pid"
check "lbd (pid $pid) is gone after kill -9" wait_for 5 pid_gone "$pid"
rc=0
ctl status >/dev/null 2>&1 || rc=$?
check_eq "tandemctl status without lbd: exit 3 (cannot reach)" 3 "$rc"
s0=$(file_size "$long_file")
grown() { [ "$(file_size "$long_file")" -ge $((s0 + 512 * 1024)) ]; }
if wait_for 5 grown; then
	ok "download grows without lbd: $s0 -> $(file_size "$long_file") bytes"
else
	fail "download grows without lbd" "$s0 -> $(file_size "$long_file") bytes in 5 s"
fi
check "curl still running (not finished, not failed)" kill -0 "$long_pid"

# 3. Restart.
if out=$(lbd_start 2>&1); then
	ok "lbd restarted (pid $(lbd_pid))"
else
	fail "lbd restarts" "$out" "$(tail -n 20 "$LBD_LOG")"
	finish
fi
check_eq "restarted lbd finds the download's flow on $X" "$X" "$(flow_node "$C1_IP4" "$port" 80)"
flags=$(jctl flows --vip v4 --limit 100000 | jq -c --argjson p "$port" \
	'[.flows[] | select(.client_port == $p and .port == 80) | .flags[]]')
check_eq "the flow is the pinned one: flags [\"syn\"] (not midstream)" '["syn"]' "$flags"
all_up() { jctl nodes | jq -e '[.nodes[] | .state == "up"] | all' >/dev/null; }
check "nodes all up right after the restart (state carried over)" all_up
check "$Z still drained after the restart" node_is "$Z" '.drain == true'
check_eq "v4 tcp/80 table without drained $Z" 2 "$(svc_nodes v4 tcp 80)"
sessions "$TEST_TMP/after" 30 "http://$VIP4"
read -r -a t < <(tally "$TEST_TMP/after")
check_eq "30 new sessions after the restart all succeed (n1 ${t[0]}, n2 ${t[1]}, n3 ${t[2]})" \
	0 "${t[3]}" || diag "$(sessions_fail_lines "$TEST_TMP/after")"
check_eq "none of them on drained $Z" 0 "${t[${Z#n} - 1]}"

# 4. SIGHUP with a changed weight.
reloads() { jctl status | jq -r .reloads; }
weight() { jctl nodes | jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .weight'; }
cp "$LBD_CONF" "$TEST_TMP/good.json"
r0=$(reloads)
jq '.nodes[0].weight = 300' "$TEST_TMP/good.json" >"$TEST_TMP/w300.json"
cp "$TEST_TMP/w300.json" "$LBD_CONF"
kill -HUP "$(lbd_pid)"
reloaded() { [ "$(reloads)" = $((r0 + 1)) ]; }
check "SIGHUP: reloads $r0 -> $((r0 + 1))" wait_for 5 reloaded
check_eq "SIGHUP: n1 weight now 300" 300 "$(weight n1)"
check "lbd log: config_reload path=$LBD_CONF" grep -q "config_reload path=$LBD_CONF " "$LBD_LOG"
check_eq "after the reload the download's flow is still on $X" "$X" \
	"$(flow_node "$C1_IP4" "$port" 80)"
check_eq "after the reload the 30 sessions' flows are still there" 31 \
	"$(jctl flows --vip v4 --limit 100000 | jq '[.flows[] | select(.port == 80)] | length')"

# 5. Broken configurations are refused.
lines0=$(wc -l <"$LBD_LOG")
jq '.nodes[1].weight = 5000' "$TEST_TMP/good.json" >"$LBD_CONF"
kill -HUP "$(lbd_pid)"
refused() { tail -n +"$((lines0 + 1))" "$LBD_LOG" | grep -q "$1"; }
if wait_for 5 refused "config_reload_failed path=$LBD_CONF reason=\"nodes\[1\]: \\\\\"weight\\\\\" is 5000, must be 0..1000\""; then
	ok "SIGHUP with weight 5000: refused, log names file, node and key"
else
	fail "SIGHUP with weight 5000: refused, log names file, node and key" \
		"$(tail -n +"$((lines0 + 1))" "$LBD_LOG")"
fi
check_eq "refused reload: reloads still $((r0 + 1))" $((r0 + 1)) "$(reloads)"
check_eq "refused reload: n1 weight still 300, n2 still 100" "300 100" "$(weight n1) $(weight n2)"

lines0=$(wc -l <"$LBD_LOG")
head -c 200 "$TEST_TMP/good.json" >"$LBD_CONF"	# cut off mid-object
rc=0
out=$(ctl reload 2>&1) || rc=$?
check_eq "tandemctl reload of truncated JSON: exit 1" 1 "$rc"
check "tandemctl reload says the running configuration is unchanged" \
	grep -q "reload failed; the running configuration is unchanged" <<<"$out"
check "lbd log: reload error names $LBD_CONF and the JSON position" \
	refused "config_reload_failed path=$LBD_CONF reason=\"line [0-9]* column [0-9]*: "
check "lbd still running after refused reloads" kill -0 "$(lbd_pid)"
check_eq "refused reload: reloads still $((r0 + 1))" $((r0 + 1)) "$(reloads)"
check_eq "the download's flow is still on $X" "$X" "$(flow_node "$C1_IP4" "$port" 80)"
cp "$TEST_TMP/good.json" "$LBD_CONF"
check "tandemctl reload of the restored file: ok" ctl reload
check_eq "reloads now $((r0 + 2)), n1 weight back to 100" "$((r0 + 2)) 100" "$(reloads) $(weight n1)"
check "$Z still drained after the reloads" node_is "$Z" '.drain == true'
check "tandemctl undrain $Z" ctl undrain "$Z"
check_eq "v4 tcp/80 table has 3 nodes again" 3 "$(svc_nodes v4 tcp 80)"

# 6. The download survived all of it.
long_check "slow download on $X completed byte-exact (sha256) across kill -9, restart, reloads" \
	"$long_pid" "$long_file" 10m.bin 30
check_eq "download's flow on $X all along" "$X" "$(flow_node "$C1_IP4" "$port" 80)"
check_eq "no re-hash or midstream verdicts" "0 0 0" \
	"$(jctl stats | jq -r '.verdicts | "\(.fwd_rehash_down) \(.fwd_midstream) \(.drop_no_node)"')"

finish
