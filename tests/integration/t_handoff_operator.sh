#!/bin/bash
# t_handoff_operator: the operator's live session handoff through lbd:
# `tandemctl handoff CLIENT:PORT VIP:PORT NODE` -> lbd looks up the flow's
# owner, sends it a MOVE (report protocol, UDP 7406 on the node's storage
# address), the owner's tandem-nasd hands the session over (re-pointing the
# flow with a REDIRECT) and ACKs; lbd then answers.  `tandemctl migrate` of
# one TCP flow does the same when the flow's node runs tandem-nasd.
#
#   c1 .10 -- [sw: tandem-lbd, report port 7406 on 10.77.2.1] -- n1 n2 n3
#   (tandem-nasd with "handoff" on every node, nginx stopped; as t_nasd_handoff)
#
#  1. curl downloads /slow/10m.bin (1 MiB/s) through the VIP; it is handed
#     to another node 3 times with tandemctl handoff and once with tandemctl
#     migrate; each time tandemctl exits 0 and lbd's flow names the new
#     node; curl exits 0, sha256 correct.
#  2. errors: an unknown flow, an unknown node, the node that already holds
#     the flow: exit 1 with a clear message.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
handoff_lab_up


nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3

# ------------------------------------------ 1. operator handoffs of a download --

in_ns c1 curl -sS -m 40 -w '%{http_code} %{local_port}\n' -o "$TEST_TMP/slow.bin" "http://$VIP4/slow/10m.bin" \
	>"$TEST_TMP/slow.w" 2>&1 &
slow_pid=$!
wait_for 5 has_session '.path == "/slow/10m.bin"'
read -r X CEP < <(find_session '.path == "/slow/10m.bin"')
if [ -z "${CEP:-}" ]; then
	fail "the slow download shows up in a node's sessions"
	finish
fi
CPORT=${CEP##*:}
check_eq "lbd's flow for client port $CPORT names $X, which holds the session" "$X" \
	"$(flow_node "$C1_IP4" "$CPORT" 80)"
moves=0
cur=$X
for i in 1 2 3 4; do
	sleep 0.8
	nxt=$(other "$cur" "$([ "$i" = 2 ] && echo "$X")")
	T0=$(now_ms)
	how=handoff
	[ "$i" = 4 ] && how=migrate	# the issue's form: migrate <session> <node>
	if ctl "$how" "$C1_IP4:$CPORT" "$VIP4:80" "$nxt" >"$TEST_TMP/ho.out" 2>&1; then
		diag "$how $i $cur -> $nxt ($(($(now_ms) - T0)) ms): $(cat "$TEST_TMP/ho.out")"
		[ "$how" = handoff ] || check "migrate of a live TCP session on a tandem-nasd node hands it off" \
			grep -q "^handed tcp session" "$TEST_TMP/ho.out"
		fl=$(flow_node "$C1_IP4" "$CPORT" 80)
		check_eq "handoff $i: lbd's flow names $nxt" "$nxt" "$fl"
		check_eq "handoff $i: $nxt holds the session" "$nxt" "$(holder "$CEP")"
		moves=$((moves + 1))
		cur=$nxt
	else
		fail "$how $i $cur -> $nxt: tandemctl exit 0" "$(cat "$TEST_TMP/ho.out")"
		break
	fi
done
check_eq "download handed over 4 times by the operator" 4 "$moves"
jctl status >"$TEST_TMP/st.json"
check_eq "lbd counts 4 handoffs requested, 4 ok" "4 4 0" \
	"$(jq -r '.handoffs | "\(.requested) \(.ok) \(.failed)"' "$TEST_TMP/st.json")"

# ----------------------------------------------------------- 2. errors --

err_case() {	# err_case NAME WANT_REGEX ARGS...: exit 1, stderr matches
	local name=$1 want=$2 rc
	shift 2
	ctl handoff "$@" >"$TEST_TMP/err.out" 2>&1
	rc=$?
	check_eq "$name: exit 1" 1 "$rc" || diag "$(cat "$TEST_TMP/err.out")"
	check "$name: message says so" grep -Eq "$want" "$TEST_TMP/err.out" ||
		diag "$(cat "$TEST_TMP/err.out")"
	diag "$name: $(cat "$TEST_TMP/err.out")"
}
err_case "unknown flow" "no such flow" "$C1_IP4:1" "$VIP4:80" n2
err_case "unknown node" 'no node "n9"' "$C1_IP4:$CPORT" "$VIP4:80" n9
err_case "already there" "already on \"$cur\"" "$C1_IP4:$CPORT" "$VIP4:80" "$cur"
check_eq "the session still on $cur after the refusals" "$cur" "$(holder "$CEP")"

wait_for 30 pid_gone "$slow_pid"
wait "$slow_pid"
rc=$?
check_eq "curl exit 0, 200, sha256-correct after 4 operator handoffs" "0 200 $(want_sha 10m.bin)" \
	"$rc $(awk '{ print $1 }' "$TEST_TMP/slow.w") $(sha "$TEST_TMP/slow.bin")" ||
	diag "$(cat "$TEST_TMP/slow.w")"
for n in n1 n2 n3; do
	diag "$n: $(hstat "$n" '| {out_ok, out_failed, in_ok, switch_moves, switch_moves_ok}' | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
