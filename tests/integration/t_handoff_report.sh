#!/bin/bash
# Node -> switch handoff reports to lbd: a node asks the switch to re-point a
# client's 5-tuple to itself (redirect), asks who owns one (query), and
# registers a flow (set).  Forged (wrong key), replayed, and other-cluster
# reports get no answer, are counted (rejected, replayed) and change nothing;
# garbage datagrams are counted as rejected, exactly one each, and lbd goes
# on answering.
#
#   c1 ---- [sw: tandem-lbd, UDP 7406 on 10.77.2.1] ---- n1 n2 n3
#                                   ^ reports (build/tools/ho_report) from n2
. "$(dirname "$0")/lib.sh"

HO=$TANDEM_BUILD/tools/ho_report
require_lbd
require_cmd jq
[ -x "$HO" ] || skip_all "no $HO (run make)"
lab_up
lbd_up
SW=10.77.2.1:7406

# A keep-alive session through the VIP, kept open by a slow download.
slow_pid=""
in_ns c1 curl -s -o /dev/null --max-time 60 "http://$VIP4/slow/10m.bin" &
slow_pid=$!
at_exit "kill $slow_pid 2>/dev/null || true"
flow_of_c1() { ctl --json flows | jq -r --arg c "$C1_IP4" 'first(.flows[] | select(.client == $c and .port == 80)) | "\(.client_port) \(.node)"'; }
has_c1_flow() { [ -n "$(flow_of_c1)" ]; }
wait_for 10 has_c1_flow
read -r cport owner < <(flow_of_c1)
check "the session has a flow (client port $cport on $owner)" test -n "$cport"
target=n1
[ "$owner" = n1 ] && target=n2
report() { in_ns "$1" "$HO" -n "$1" -k "$HANDOFF_KEY" "${@:2}"; }	# as node $1

out=$(report "$target" "$SW" query "$C1_IP4:$cport" "$VIP4:80")
check "query answers status 0 (owner known): $out" grep -q "status=0" <<<"$out"

out=$(report "$target" -r "$TEST_TMP/redirect.bin" "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" "$target")
check "redirect to $target acked with status 0: $out" grep -q "status=0 .*nonce_match=1" <<<"$out"
node_now() { ctl --json flows | jq -r --arg c "$C1_IP4" --argjson p "$cport" '.flows[] | select(.client == $c and .client_port == $p) | .node'; }
check_eq "the flow now points at $target" "$target" "$(node_now)"
flags=$(ctl --json flows | jq -r --arg c "$C1_IP4" --argjson p "$cport" '.flows[] | select(.client == $c and .client_port == $p) | .flags | join(",")')
check "the flow is marked migrated ($flags)" grep -q migrated <<<"$flags"

# Put it back with a fresh report, then replay the recorded one: refused.
out=$(report "$target" "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" "$owner")
check "redirect back to $owner acked" grep -q "status=0" <<<"$out"
before=$(ctl --json status | jq '.handoff_reports.replayed')
out=$(report "$target" -R "$TEST_TMP/redirect.bin" "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" "$target" || true)
check "a replayed report gets no answer: $out" grep -q "no answer" <<<"$out"
check_eq "the replay changed nothing" "$owner" "$(node_now)"
check_eq "the replay is counted" $((before + 1)) "$(ctl --json status | jq '.handoff_reports.replayed')"

# Forged: a valid report sealed with another key.
rejected() { ctl --json status | jq '.handoff_reports.rejected'; }
before=$(rejected)
out=$(in_ns "$target" "$HO" -K "$(printf '%064d' 7)" "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" "$target" || true)
check "a forged report gets no answer: $out" grep -q "no answer" <<<"$out"
check_eq "the forged report changed nothing" "$owner" "$(node_now)"
check_eq "the forged report is counted" $((before + 1)) "$(rejected)"
out=$(report "$target" -c 99 "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" "$target" || true)
check "a report for another cluster gets no answer" grep -q "no answer" <<<"$out"
check_eq "the other-cluster report changed nothing" "$owner" "$(node_now)"
check_eq "the other-cluster report is counted" $((before + 2)) "$(rejected)"

# Unknown flow, unknown node, set.
out=$(report "$target" "$SW" redirect "$C1_IP4:1" "$VIP4:80" "$target")
check "redirect of an unknown flow: status 1 (no flow): $out" grep -q "status=1" <<<"$out"
out=$(report "$target" "$SW" redirect "$C1_IP4:$cport" "$VIP4:80" n9)
check "redirect to an unknown node: status 2: $out" grep -q "status=2" <<<"$out"
out=$(report "$target" "$SW" set "$C1_IP4:4242" "$VIP4:80" "$target")
check "set registers a new flow: $out" grep -q "status=0" <<<"$out"
got=$(ctl --json flows | jq -r --arg c "$C1_IP4" '.flows[] | select(.client == $c and .client_port == 4242) | .node')
check_eq "the set flow points at $target" "$target" "$got"
# Garbage datagrams: 2 of them, each counted once, lbd stays up.
g0=$(rejected)
in_ns n1 bash -c "printf 'garbage' >/dev/udp/10.77.2.1/7406; head -c 300 /dev/urandom >/dev/udp/10.77.2.1/7406" || true
check "the 2 garbage datagrams are counted as rejected: $g0 -> $((g0 + 2))" wait_eq 5 $((g0 + 2)) rejected
check "lbd still answers after garbage" ctl status
check_eq "... and the rejected count stayed at $((g0 + 2))" $((g0 + 2)) "$(rejected)"
finish
