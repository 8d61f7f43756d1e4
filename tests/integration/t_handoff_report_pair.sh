#!/bin/bash
# Handoff reports on a switch pair: the master acks a redirect only once the
# backup's flow map holds the new owner too, so a takeover right after the
# ack cannot send the session back to the old node.
#
#   c1 ---- [swa master] ==sync== [swb backup] ---- n1 n2 n3
#              ^ report to the VRRP gateway 10.77.2.1:7406 from the new owner
. "$(dirname "$0")/lib.sh"

LAB_PAIR=1 lab_up
"$LAB_SH" switch-start "$LAB_NAME" a >/dev/null
"$LAB_SH" switch-start "$LAB_NAME" b >/dev/null
wait_for 15 test "$("$LAB_SH" role "$LAB_NAME" a)" = master
check_eq "A is master" master "$("$LAB_SH" role "$LAB_NAME" a)"
HO=$TANDEM_BUILD/tools/ho_report
ctla() { "$TANDEMCTL" -s "$LBD_SOCK_A" "$@"; }
ctlb() { "$TANDEMCTL" -s "$LBD_SOCK_B" "$@"; }

# 20 flows (short requests), replicated to B.
for i in $(seq 1 20); do in_ns c1 curl -s -o /dev/null --max-time 3 "http://$VIP4/node"; done
count_b() { ctlb --json flows | jq '[.flows[] | select(.port == 80)] | length'; }
wait_for 5 test "$(count_b)" -ge 20
check "B holds the 20 flows" test "$(count_b)" -ge 20

moved=0
for p in $(ctla --json flows | jq -r '.flows[] | select(.port == 80) | "\(.client_port):\(.node)"'); do
	port=${p%%:*} node=${p##*:}
	t=n1; [ "$node" = n1 ] && t=n2
	out=$(in_ns "$t" "$HO" -n "$t" -k "$HANDOFF_KEY" 10.77.2.1:7406 redirect "$C1_IP4:$port" "$VIP4:80" "$t")
	# The instant the ack is in, B must already have the new owner.
	onb=$(ctlb --json flows | jq -r --argjson p "$port" '.flows[] | select(.client_port == $p and .port == 80) | .node')
	if grep -q "status=0" <<<"$out" && [ "$onb" = "$t" ]; then
		moved=$((moved + 1))
	else
		fail "redirect of port $port to $t" "answer: $out" "B says: $onb"
	fi
done
check_eq "every redirect was acked with B already holding the new owner" 20 "$moved"
barriers=$("$TANDEMCTL" -s "$LBD_SOCK_A" --json status | jq '.sync.barriers.requested')
check "A's lbd waited on a syncd barrier for each redirect ($barriers)" test "$barriers" -ge 20
check_eq "no barrier timed out" 0 "$("$TANDEMCTL" -s "$LBD_SOCK_A" --json status | jq '.sync.barriers.timeouts')"

# With B gone, the master still answers (nothing to confirm), promptly.
"$LAB_SH" switch-stop "$LAB_NAME" b hard
wait_for 5 test "$("$TANDEMCTL" -s "$LBD_SOCK_A" --json status | jq '.sync.peer.alive')" = false
p=$(ctla --json flows | jq -r 'first(.flows[] | select(.port == 80)) | .client_port')
out=$(in_ns n3 "$HO" -n n3 -k "$HANDOFF_KEY" 10.77.2.1:7406 redirect "$C1_IP4:$p" "$VIP4:80" n3)
check "without a peer the redirect is acked at once: $out" grep -q "status=0" <<<"$out"
finish
