#!/bin/bash
# Handoff reports on a switch pair: the master acks a redirect only once the
# backup's flow map holds the new owner too (so that a takeover right after
# the ack would keep the session on the new node).  Checked: at the instant
# each of 20 redirects is acked, B's flow map already names the new owner;
# A's lbd waited on a syncd barrier for each and none timed out.  With B
# gone, a redirect is still acked: syncd answers the barrier at once (peer
# absent: barriers requested +1, no timeout), status 0.
#
#   c1 ---- [swa master] ==sync== [swb backup] ---- n1 n2 n3
#              ^ report to the VRRP gateway 10.77.2.1:7406 from the new owner
. "$(dirname "$0")/lib.sh"

HO=$TANDEM_BUILD/tools/ho_report
require_pair
[ -x "$HO" ] || skip_all "no $HO (run make)"
LAB_PAIR=1 lab_up
"$LAB_SH" switch-start "$LAB_NAME" a >/dev/null
"$LAB_SH" switch-start "$LAB_NAME" b >/dev/null
check "A is master" wait_eq 15 master "$LAB_SH" role "$LAB_NAME" a
ctla() { "$TANDEMCTL" -s "$LBD_SOCK_A" "$@"; }
ctlb() { "$TANDEMCTL" -s "$LBD_SOCK_B" "$@"; }

# 20 flows (short requests), replicated to B.
for i in $(seq 1 20); do in_ns c1 curl -s -o /dev/null --max-time 3 "http://$VIP4/node"; done
count_b() { ctlb --json flows | jq '[.flows[] | select(.port == 80)] | length'; }
b_has_20() { [ "$(count_b)" -ge 20 ]; }
check "B holds the 20 flows" wait_for 5 b_has_20

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

# With B gone, the master still answers: syncd has no peer to wait for.
"$LAB_SH" switch-stop "$LAB_NAME" b hard
peer_alive_a() { ctla --json status | jq '.sync.peer.alive'; }
check "A's syncd sees its peer gone" wait_eq 5 false peer_alive_a
barriers_a() { ctla --json status | jq -r '"\(.sync.barriers.requested) \(.sync.barriers.timeouts)"'; }
read -r req0 to0 < <(barriers_a)
p=$(ctla --json flows | jq -r 'first(.flows[] | select(.port == 80)) | .client_port')
t0=$(now_ms)
out=$(in_ns n3 "$HO" -n n3 -k "$HANDOFF_KEY" 10.77.2.1:7406 redirect "$C1_IP4:$p" "$VIP4:80" n3)
diag "redirect round trip without a peer: $(($(now_ms) - t0)) ms (ho_report's process start included)"
check "without a peer the redirect is acked with status 0: $out" grep -q "status=0" <<<"$out"
check_eq "... after one barrier that syncd answered at once (requested +1, no timeout)" \
	"$((req0 + 1)) $to0" "$(barriers_a)" || diag "A's status: $(ctla --json status | jq -c .sync)" "$(tail -n 15 "$SWA_DIR/syncd.log")"
finish
