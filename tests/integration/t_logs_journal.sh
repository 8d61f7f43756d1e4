#!/bin/bash
# t_logs_journal: lbd's events reach a real journald as structured fields
# (lib/log.h, doc/logs.md): TANDEM_EVENT and TANDEM_<KEY> per pair, with
# PRIORITY and SYSLOG_IDENTIFIER, sent natively because lbd's stderr is the
# journal's stream (JOURNAL_STREAM), and nothing written to that stream too.
#
#   mount namespace J (unshare -m, private; the host's journal untouched):
#     tmpfs on /run/systemd (journald's sockets) and /run/log (its files),
#     this test's journald.conf bound over /etc/systemd/journald.conf
#     (volatile, no kernel messages, forwards nothing),
#     systemd-journald,
#     systemd-cat -t tandem-lbd -> sh: JOURNAL_STREAM=DEV:INO of its stderr
#       -> ip netns exec sw -> tandem-lbd     (as systemd starts a unit)
#
#   c1 --- brc --- eth0 [sw: lbd] br1 --- p1 --- n1
#                                     |-- p2 --- n2
#                                     +-- p3 --- n3   <- `lab.sh link NAME n3 down`
#
#   1. c1 fetches /node from VIP:80 from client port 41000; `tandemctl
#      migrate ... --repoint` moves that flow to another node: flow_repoint
#      with the 5-tuple (TANDEM_CLIENT, _CLIENT_PORT, _VIP, _VIP_PORT,
#      _PROTO), TANDEM_NODE (the new node), TANDEM_FROM, TANDEM_CAUSE;
#   2. n3's link goes down: link_down (TANDEM_NODE n3, TANDEM_INTERFACE p3),
#      node_down (TANDEM_NODE n3, TANDEM_REASON "link down", PRIORITY 4,
#      MESSAGE the text line), service_table (TANDEM_VIP the VIP's address,
#      TANDEM_VIP_NAME v4, TANDEM_SERVICE tcp/80, TANDEM_NODES 2, n3 not in
#      TANDEM_MEMBERS);
#   3. every entry of lbd's came as _TRANSPORT=journal with
#      SYSLOG_IDENTIFIER=tandem-lbd, none as stdout (the stream), and a
#      journalctl field match (TANDEM_EVENT=node_down TANDEM_NODE=n3) finds
#      the event as doc/logs.md says.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq systemd-cat journalctl unshare nsenter stat
JOURNALD=""
for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
	[ -x "$j" ] && JOURNALD=$j && break
done
if [ -z "$JOURNALD" ]; then
	fail "systemd-journald is installed (scripts/deps.sh: systemd)"
	finish
fi
lab_up

# ---------------------------------------------- journald and lbd in J --

cat >"$TEST_TMP/journald.conf" <<'EOF'
[Journal]
Storage=volatile
ReadKMsg=no
Audit=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
EOF
# J's setup, then exec into lbd: the pid written to LBD_PIDFILE stays
# lbd's (systemd-cat, sh and ip netns exec each exec the next), so lab.sh
# lbd-stop and the lab's teardown stop it as always.
cat >"$TEST_TMP/inj.sh" <<'EOF'
set -e
conf=$1 jpid=$2 lpid=$3 ns=$4 lbd=$5 lbdconf=$6 journald=$7
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/journal
mount -t tmpfs tmpfs /run/log
mount --bind "$conf" /etc/systemd/journald.conf
if [ -d /etc/systemd/journald.conf.d ]; then mount -t tmpfs tmpfs /etc/systemd/journald.conf.d; fi
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
"$journald" </dev/null >/dev/null 2>&1 &
echo $! >"$jpid"
i=0
until [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/stdout ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "journald did not open its sockets" >&2; exit 1; }
	sleep 0.05
done
# systemd 252's systemd-cat does not set JOURNAL_STREAM: what systemd sets
# for a unit whose stderr is the journal, DEVICE:INODE of that stream
exec systemd-cat -t tandem-lbd sh -c 'echo $$ >"$0"; JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec ip netns exec "$1" "$2" -c "$3"' \
	"$lpid" "$ns" "$lbd" "$lbdconf"
EOF
JPIDF=$TEST_TMP/journald.pid
# lbd first (lab.sh, by its pid file), then journald: lbd's last lines
# still have a journal
at_exit 'lab lbd-stop; [ -s "$JPIDF" ] && kill "$(cat "$JPIDF")"'
setsid unshare -m --propagation private sh "$TEST_TMP/inj.sh" "$TEST_TMP/journald.conf" \
	"$JPIDF" "$LBD_PIDFILE" "$NS_SW" "$LBD_BIN" "$LBD_CONF" "$JOURNALD" \
	</dev/null >"$TEST_TMP/inj.out" 2>&1 &
lbd_answers() { ctl status >/dev/null 2>&1; }
if ! wait_for 10 lbd_answers; then
	fail "lbd starts with its stderr on a private journal" "$(cat "$TEST_TMP/inj.out")"
	finish
fi
JPID=$(cat "$JPIDF")
ok "journald (pid $JPID) in its own mount namespace, lbd (pid $(lbd_pid)) on its stream"
check "all 3 nodes in the v4 tcp/80 table" wait_for 15 table_is 3

# jrn ARGS...: journalctl in J, over the private journal, one JSON object a line.
jrn() {
	nsenter -t "$JPID" -m journalctl -D /run/log/journal --no-pager -o json "$@" 2>/dev/null
}
# ev EVENT JQ_EXPR: an entry of lbd's with TANDEM_EVENT=EVENT for which
# JQ_EXPR holds (its first line).
ev() {
	jrn SYSLOG_IDENTIFIER=tandem-lbd TANDEM_EVENT="$1" | jq -c "select($2)" | head -n 1 | grep .
}

# 1. One flow re-pointed by the operator.
check "c1 fetches /node through the VIP from port 41000" \
	in c1 curl -fsS -m 5 --local-port 41000 -o /dev/null "http://$VIP4/node"
from=$(flow_node "$C1_IP4" 41000 80)
to=n1
[ "$from" = n1 ] && to=n2
check "migrate of c1:41000 -> VIP:80 from ${from:-?} to $to (--repoint)" \
	ctl migrate "$C1_IP4:41000" "$VIP4:80" "$to" --repoint
want_flow=".TANDEM_CLIENT == \"$C1_IP4\" and .TANDEM_CLIENT_PORT == \"41000\" and
	.TANDEM_VIP == \"$VIP4\" and .TANDEM_VIP_PORT == \"80\" and .TANDEM_PROTO == \"tcp\" and
	.TANDEM_NODE == \"$to\" and .TANDEM_FROM == \"$from\" and .TANDEM_CAUSE == \"operator\""
check "journal: flow_repoint with the 5-tuple, node $to, from $from, cause operator" \
	wait_for 5 ev flow_repoint "$want_flow"

# 2. n3's link goes down.
down() { node_is n3 '.state == "down"'; }
lab link n3 down
check "lbd takes n3 down" wait_for 5 down
check "journal: link_down of n3 on p3" wait_for 5 ev link_down \
	'.TANDEM_NODE == "n3" and .TANDEM_INTERFACE == "p3"'
check "journal: node_down, node n3, reason \"link down\", priority warning (4)" wait_for 5 ev node_down \
	'.TANDEM_NODE == "n3" and .TANDEM_REASON == "link down" and .PRIORITY == "4"'
check "journal: node_down's MESSAGE is the text line" wait_for 5 ev node_down \
	'.MESSAGE == "node_down node=n3 reason=\"link down\""'
check "journal: service_table of v4 ($VIP4) tcp/80 with 2 nodes, n3 not a member" \
	wait_for 5 ev service_table ".TANDEM_VIP == \"$VIP4\" and .TANDEM_VIP_NAME == \"v4\" and
		.TANDEM_SERVICE == \"tcp/80\" and .TANDEM_NODES == \"2\" and
		(.TANDEM_MEMBERS | split(\",\") | any(. == \"n3\") | not)"

# 3. How they came.
all=$(jrn SYSLOG_IDENTIFIER=tandem-lbd)
diag "lbd's entries: $(jq -r '.TANDEM_EVENT // "(free text)"' <<<"$all" | sort | uniq -c | tr -s ' \n' ' ')"
check "lbd's entries: more than a few" test "$(grep -c . <<<"$all")" -ge 5
# a line lbd wrote to stderr would be here too, _TRANSPORT stdout
check_eq "lbd's entries all sent natively (_TRANSPORT journal), none through the stream" 0 \
	"$(jq -c 'select(._TRANSPORT != "journal")' <<<"$all" | grep -c .)"
check "journalctl TANDEM_EVENT=node_down TANDEM_NODE=n3 finds it" \
	sh -c '[ "$(nsenter -t "$1" -m journalctl -D /run/log/journal --no-pager -o cat \
		TANDEM_EVENT=node_down TANDEM_NODE=n3)" = "node_down node=n3 reason=\"link down\"" ]' sh "$JPID"

finish
