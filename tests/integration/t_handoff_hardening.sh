#!/bin/bash
# t_handoff_hardening: an attacker on the storage LAN against the handoff
# channels (TCP 7407) and the switch link (UDP 7406): lib/handoff_key.h,
# lib/handoff_wire.h, storage/handoff/channel.c and report.c, lb/report.c.
#
#   c1 .10 -- [sw: tandem-lbd, 10.77.2.1, report port 7406] -- n1 .11 n2 .12 n3 .13
#   (tandem-nasd with "handoff" and NFS from the switch's cluster map on every
#    node, each with its own key file; a recorder, tests/tools/ho_chan.py
#    sniff, runs in n2 from before its nasd starts)
#
#  A. 50 channel connections to n2 from the switch's address (no peer's),
#     each announcing a 48 MiB frame and sending 2 MiB of it: all closed at
#     once, counted (rejected.not_peer); n2's RSS, measured while the tool
#     still holds them, grows < 50 MB.
#  B. from n1's address (a peer's): a frame of 48 MiB announced before
#     HELLO (8 MiB of it sent) is closed at once (from its length field:
#     nothing buffered; RSS measured as in A);
#     10 connections that say nothing: 4 are kept (the per-address limit,
#     6 closed at once); one that never sends HELLO is closed after the
#     handshake deadline (2 s); n2's RSS still < 50 MB above its start.
#  C. a session on n2; `tandemctl handoff` moves it to n1 (lbd's MOVE to n2,
#     n2's REDIRECT to lbd: recorded), then it comes back to n2.  The
#     recorded MOVE replayed to n2 from three other source addresses (n1,
#     n3, the switch): refused, counted (switch_replayed), no handoff.
#  D. impersonation, with only n2's own key file: a REDIRECT claiming to be
#     n1's (lbd refuses it: rejected); a MOVE claiming to be the switch's,
#     sent to n1 for a session there (n1 refuses it: switch_bad, the session
#     stays); a cluster map claiming to be the switch's, sent to n1 (refused:
#     nfs.cluster.bad, n1's generation unchanged); a channel to n3 as n1
#     (no HELLO back).
#  E. lbd restarts (the nodes learn its new epoch from the STALE answer to
#     their first LOAD): n2's recorded REDIRECTs replayed to it (the flow
#     points back to n1 if one is taken): refused (at most a STALE answer),
#     counted (replayed), the flow still names the session's node; a
#     handoff after the restart works.
#  F. n2's nasd restarts: the recorded MOVE replayed to it: refused (a
#     STALE answer, switch_stale), no handoff (switch_moves 0).
. "$(dirname "$0")/lib.sh"

TEST_TIMEOUT=${TEST_TIMEOUT:-240}
require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
export LAB_NFS=1
handoff_lab_up
TP=$REPO/tests/tools
T=$TEST_TMP
CHAN=("$PY" "$TP/ho_chan.py")
HO=$TANDEM_BUILD/tools/ho_report
SW=10.77.2.1

in_ns n2 "${CHAN[@]}" sniff --dev eth0 --out "$T/cap.jsonl" --stop "$T/cap.stop" >"$T/cap.log" 2>&1 &
cap_pid=$!
at_exit "touch $T/cap.stop; kill $cap_pid 2>/dev/null"
sleep 0.3
export NASD_NFS=1 NASD_NFS_NS=switch
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
nasd_all handoff
check "lbd health checks see tandem-nasd on every node" wait_for 15 all_up
check "handoff channels up between all nodes" wait_for 10 chans_up
nstat() { nctl "$1" '{"cmd":"status"}' | jq -r "$2"; }
rej() { hstat "$1" ".rejected.$2"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$(nasd_pid "$1")/status"; }
ip_of() { node_ip4 "$1"; }
N2=$(ip_of n2)
rss0=$(rss_kb n2)
diag "n2's nasd: RSS $((rss0 / 1024)) MB at the start"
# flood_rss NS FLOOD-ARGS...: ho_chan.py flood from NS (its JSON in $r), and
# n2's RSS in KiB while the tool still holds the connections (in $rss)
flood_rss() {
	local ns=$1 out=$T/flood.$RANDOM pid
	shift
	in_ns "$ns" "${CHAN[@]}" flood --hold 3 "$@" >"$out" &
	pid=$!
	wait_for 60 test -s "$out"
	sleep 0.5	# what the node reads of it, it has read
	rss=$(rss_kb n2)
	wait "$pid"
	r=$(cat "$out")
}

# ---------------------------------------------- A. flood from a non-peer --
np0=$(rej n2 not_peer)
flood_rss sw --to "$N2" --from "$SW" --count 50 --announce $((48 << 20)) --send $((2 << 20))
diag "A: $r"
check "A. 50 connections from a non-peer address: every one closed at once" jq -e '.connected == 50 and .closed == 50' <<<"$r"
check_le "A. counted as not_peer" $((np0 + 50)) "$(rej n2 not_peer)"
check_le "A. n2's RSS grew less than 50 MB ($((rss0 / 1024)) -> $((rss / 1024)) MB)" "$rss" $((rss0 + 50 * 1024))

# ------------------------------------------------ B. from a peer's address --
bf0=$(rej n2 bad_frame)
flood_rss n1 --to "$N2" --from "$(ip_of n1)" --count 1 --announce $((48 << 20)) --send $((8 << 20))
diag "B: $r"
check "B. a 48 MiB frame announced before HELLO: closed at once" jq -e '.closed == 1' <<<"$r"
check_le "B. ... n2's RSS meanwhile less than 50 MB above its start ($((rss / 1024)) MB)" "$rss" $((rss0 + 50 * 1024))
check_le "B. ... counted as a bad frame" $((bf0 + 1)) "$(rej n2 bad_frame)"
lim0=$(rej n2 limit)
r=$(in_ns n1 "${CHAN[@]}" flood --to "$N2" --from "$(ip_of n1)" --count 10 --wait 1)
diag "B: $r"
check "B. 10 silent connections from one address: 6 closed at once, 4 wait for their HELLO" \
	jq -e '.connected == 10 and .closed == 6' <<<"$r"
check_le "B. ... counted (limit)" $((lim0 + 6)) "$(rej n2 limit)"
sleep 0.5	# the flood's four waiting connections are gone (closed by the tool)
nh0=$(rej n2 no_handshake)
r=$(in_ns n1 "${CHAN[@]}" idle --to "$N2" --from "$(ip_of n1)" --secs 6)
diag "B: $r"
check "B. a connection that never sends HELLO is closed after the 2 s deadline" \
	jq -e '.closed and .after >= 1.5 and .after <= 4' <<<"$r"
check_le "B. ... counted (no_handshake)" $((nh0 + 1)) "$(rej n2 no_handshake)"
rss2=$(rss_kb n2)
check_le "B. n2's RSS still less than 50 MB above its start ($((rss2 / 1024)) MB)" "$rss2" $((rss0 + 50 * 1024))
check "B. the nodes' own channels are still up" wait_for 10 chans_up

# -------------------------------------------------- C. MOVE replayed --
in_ns c1 curl -sS -m 90 -o /dev/null "http://$VIP4/rate/10m.bin?bps=250000" >/dev/null 2>&1 &
dl_pid=$!
at_exit "kill $dl_pid 2>/dev/null"
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r X EP < <(find_session '.path == "/rate/10m.bin"')
CP=${EP##*:}
# shellcheck disable=SC2317	# (called through check)
move() { nctl "$1" "{\"cmd\":\"handoff\",\"session\":\"$EP\",\"to\":\"$2\"}" | jq -e '.ok and .outcome == "done"' >/dev/null; }
[ "$X" = n2 ] || check "C. the session $EP: $X -> n2" move "$X" n2
check "C. tandemctl handoff: n2 -> n1 (lbd's MOVE to n2, recorded)" ctl handoff "$EP" "$VIP4:80" n1
check "C. ... and back: n1 -> n2" move n1 n2
check_eq "C. lbd's flow names n2" n2 "$(flow_node "$C1_IP4" "$CP" 80)"
touch "$T/cap.stop"
wait_for 3 pid_gone "$cap_pid"
sr0=$(rej n2 switch_replayed)
mv0=$(hstat n2 .switch_moves)
for src in n1 n3 sw; do
	if [ "$src" = sw ]; then a=$SW; else a=$(ip_of "$src"); fi
	r=$(in_ns "$src" "${CHAN[@]}" replay-udp --cap "$T/cap.jsonl" --to "$N2" --from "$a" --op 5)
	check "C. the recorded MOVE replayed to n2 from $a: no answer" jq -e '.sent == 1 and .answers == 0' <<<"$r" ||
		diag "$r"
done
check_eq "C. n2 counts the three as replayed" $((sr0 + 3)) "$(rej n2 switch_replayed)"
check_eq "C. ... and ran no MOVE" "$mv0" "$(hstat n2 .switch_moves)"
check_eq "C. n2 still holds the session" n2 "$(holder "$EP")"

# ------------------------------------------------- D. impersonation --
K2=$LAB_DIR/n2/handoff.key
rj0=$(jctl status | jq .handoff_reports.rejected)
out=$(in_ns n2 "$HO" -n n2 -S n1 -k "$K2" "$SW:7406" redirect "$C1_IP4:$CP" "$VIP4:80" n3 2>&1)
check "D. n2 sends a REDIRECT claiming to be n1 (its own key): no answer ($out)" grep -q "no answer" <<<"$out"
check_eq "D. ... lbd counts it as rejected" $((rj0 + 1)) "$(jctl status | jq .handoff_reports.rejected)"
check_eq "D. ... the flow still names n2" n2 "$(flow_node "$C1_IP4" "$CP" 80)"
check "D. the session n2 -> n1 (nasd control)" move n2 n1
sb0=$(rej n1 switch_bad)
mv1=$(hstat n1 .switch_moves)
r=$(in_ns n2 "${CHAN[@]}" forge-move --to "$(ip_of n1)" --keyfile "$K2" --name n2 --flow "$C1_IP4:$CP,$VIP4:80" --target n3)
check "D. n2 sends n1 a MOVE of n1's session to n3 as the switch: no answer" jq -e '.answers == 0' <<<"$r" || diag "$r"
check_eq "D. ... n1 counts it (switch_bad)" $((sb0 + 1)) "$(rej n1 switch_bad)"
check_eq "D. ... ran no MOVE" "$mv1" "$(hstat n1 .switch_moves)"
check_eq "D. ... n1 still holds the session" n1 "$(holder "$EP")"
g1=$(nstat n1 .nfs.cluster.generation)
cb0=$(nstat n1 .nfs.cluster.bad)
r=$(in_ns n2 "${CHAN[@]}" forge-map --to "$(ip_of n1)" --keyfile "$K2" --name n2)
check "D. n2 sends n1 a cluster map as the switch: no answer" jq -e '.answers == 0' <<<"$r" || diag "$r"
check_eq "D. ... n1 counts it (nfs.cluster.bad)" $((cb0 + 1)) "$(nstat n1 .nfs.cluster.bad)"
check_eq "D. ... n1 still holds generation $g1" "$g1" "$(nstat n1 .nfs.cluster.generation)"
r=$(in_ns n2 "${CHAN[@]}" forge --to "$(ip_of n3)" --from "$N2" --name n1 --peer n3 --keyfile "$K2" --case badmac)
check "D. n2 opens a channel to n3 as n1: no HELLO back, closed" jq -e '.closed and (.hello_answered | not)' <<<"$r" ||
	diag "$r"
check "D. the session n1 -> n2 again" move n1 n2

# ------------------------------------- E. REDIRECT replayed after lbd restarts --
# the switch's epoch as node $1 learned it (python: 64 bits, beyond jq's doubles)
sw_epoch() { nctl "$1" '{"cmd":"status"}' | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["handoff"]["switch_epoch"])'; }
# every node has learned the new lbd's epoch (its first LOAD was answered STALE)
# shellcheck disable=SC2317	# (called through check)
learned() {
	local n
	for n in n1 n2 n3; do
		[ "$(sw_epoch "$n")" != "$e0" ] || return 1
	done
}
e0=$(sw_epoch n2)
check "E. lbd stops" lbd_stop
check "E. lbd starts again" lbd_start
check "E. lbd sees every node up again" wait_for 15 all_up
check "E. every node learned the new lbd's epoch" wait_for 10 learned
check_eq "E. the flow still names n2 (pinned flow table)" n2 "$(flow_node "$C1_IP4" "$CP" 80)"
rp0=$(jctl status | jq .handoff_reports.replayed)
r=$(in_ns n2 "${CHAN[@]}" replay-udp --cap "$T/cap.jsonl" --to "$SW" --from "$N2" --op 2)
diag "E: $r"
nrep=$(jq .sent <<<"$r")
check "E. n2's recorded REDIRECTs replayed to the new lbd: none taken (no answer, or STALE)" \
	jq -e '.sent >= 1 and ([.statuses[] | select(. != 7)] | length) == 0' <<<"$r"
check_eq "E. ... the flow still names n2" n2 "$(flow_node "$C1_IP4" "$CP" 80)"
check_eq "E. ... lbd counts them (replayed)" $((rp0 + nrep)) "$(jctl status | jq .handoff_reports.replayed)"
check "E. a handoff after lbd's restart: n2 -> n3" move n2 n3
check_eq "E. ... lbd's flow names n3" n3 "$(flow_node "$C1_IP4" "$CP" 80)"
kill "$dl_pid" 2>/dev/null

# ----------------------------------------- F. MOVE replayed after nasd restarts --
check "F. n2's nasd stops" sh -c "kill $(nasd_pid n2)"
wait_for 5 pid_gone "$(nasd_pid n2)"
check "F. n2's nasd starts again" nasd_start n2 handoff
st0=$(rej n2 switch_stale)
r=$(in_ns sw "${CHAN[@]}" replay-udp --cap "$T/cap.jsonl" --to "$N2" --from "$SW" --op 5)
diag "F: $r"
check "F. the recorded MOVE replayed to the new nasd: answered STALE only" \
	jq -e '.sent == 1 and .statuses == [7]' <<<"$r"
check_eq "F. ... ran no MOVE" 0 "$(hstat n2 .switch_moves)"
check_eq "F. ... counted (switch_stale)" $((st0 + 1)) "$(rej n2 switch_stale)"
check "F. channels up again after the restart" wait_for 10 chans_up
for n in n1 n2 n3; do
	check "nasd on $n running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
