#!/bin/bash
# t_web_console: the web console (mgmt-web/www) in headless Chromium.
#
#   c1: node tests/browser/console.mjs        c2: curl through the VIP
#       (playwright-core + Debian chromium)       (sessions, a slow download)
#    |                                          |
#    +--------------- brc ----------------------+
#                      |
#                     eth0 10.77.1.1 [sw: lbd, tandem-webd (HTTPS, self-signed
#                      |                 cert), slapd (lib_ldap.sh)]
#                     br1 --- n1 n2 n3 (nginx)
#
#   1. lbd, slapd (alice = admin, victor = viewer, mallory = no role) and
#      tandem-webd start in the lab; c2 opens sessions through the VIP (and
#      the v6 VIP) and starts a slow download, so the console has flows and
#      throughput to show.
#   2. console.mjs (in c1, so the browser reaches webd as a client would):
#      login errors (wrong password, no role), alice sees n1..n3 up, the live
#      charts plot >= 2 history samples and the download's throughput, clicks
#      Drain on n1 and sees it drained; the session table pages and filters,
#      and its Move… / Migrate re-points one (finished) flow to another node;
#      the client filter finds c2's IPv6 sessions, shown as [ADDRESS]:PORT;
#      victor sees every Drain button disabled and is refused (403) when he
#      posts a drain himself; failed logins end in 429 and the form says so;
#      no page error, no CSP refusal.  Screenshots: tests/out/integration/
#      t_web_console-*.png (or $WEB_CONSOLE_OUT).
#   3. tandemctl agrees: n1 drained (and still up), n2/n3 not, n1 out of the
#      v4 tcp/80 table, 30 new sessions avoid n1, the download on its node
#      completes sha256-correct, the migrated flow is on its new node.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq node openssl slapd slappasswd ldapadd ldapsearch chromium
BROWSER_DIR=$REPO/tests/browser
SHOTS=${WEB_CONSOLE_OUT:-$REPO/tests/out/integration}

if [ ! -x "$TANDEM_BUILD/tandem-webd" ]; then
	fail "tandem-webd is built ($TANDEM_BUILD/tandem-webd)"
	finish
fi
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	fail "playwright-core is installed in tests/browser (scripts/deps.sh)"
	finish
fi
if [ ! -x /usr/bin/chromium ]; then
	fail "Debian chromium is installed (scripts/deps.sh)"
	finish
fi
# shellcheck source=tests/integration/lib_ldap.sh
. "$(dirname "$0")/lib_ldap.sh"

lab_lbd_up

# (not in $(...): they start children and register their cleanup)
if ! ldap_start sw >"$TEST_TMP/ldap_start.out" 2>&1; then
	fail "slapd starts with the test users" "$(cat "$TEST_TMP/ldap_start.out")"
	finish
fi
ok "slapd runs with alice (admin), victor (viewer), mallory (no role)"
if ! webd_start >"$TEST_TMP/webd_start.out" 2>&1; then
	fail "tandem-webd starts in the switch" "$(cat "$TEST_TMP/webd_start.out")" \
		"$(tail -n 20 "${WEBD_LOG:-/dev/null}" 2>/dev/null)"
	finish
fi
ok "tandem-webd listens at $WEBD_URL"
check "c1 fetches the console's index.html from webd (HTTPS, its certificate)" \
	in c1 curl -fsS -m 5 --cacert "$WEBD_CA" -o /dev/null "$WEBD_URL/"

# ---- something for the console to show
sessions "$TEST_TMP/before" 12 "http://$VIP4"
read -r -a t < <(tally "$TEST_TMP/before")
check_eq "12 sessions through the VIP before the browser test" 0 "${t[3]}" ||
	diag "$(sessions_fail_lines "$TEST_TMP/before")"
SESSION_HOSTS=c2 sessions "$TEST_TMP/before6" 6 "http://[$VIP6]"
read -r -a t < <(tally "$TEST_TMP/before6")
check_eq "6 sessions from c2 to the v6 VIP" 0 "${t[3]}" || diag "$(sessions_fail_lines "$TEST_TMP/before6")"
flows=$(jctl flows | jq -r .total)
diag "lbd's flow table holds $flows flow(s)"
if ! long_start long c2 "http://$VIP4" /slow/10m.bin; then
	fail "slow download through the VIP starts" "$(cat "$TEST_TMP/long.w" 2>/dev/null)"
	finish
fi
long_pid=$LONG_PID long_file=$LONG_FILE
ok "slow download c2:$LONG_PORT -> VIP:80 on $LONG_NODE"

# ---- the browser
mkdir -p "$SHOTS"
rm -f "$SHOTS"/t_web_console-*.png
in_ns c1 env CONSOLE_OUT="$SHOTS" CONSOLE_SHOT_PREFIX=t_web_console- DRAIN_NODE=n1 NODES="n1 n2 n3" \
	EXPECT_SESSIONS=1 EXPECT_TRAFFIC=1 AVOID_FLOW="$C2_IP4:$LONG_PORT" V6_CLIENT="$C2_IP6" HOME="$TEST_TMP" \
	timeout -k 5 170 node "$BROWSER_DIR/console.mjs" "$WEBD_URL" >"$TEST_TMP/browser.out" 2>&1
brc=$?
# Relay its checks as ours (its "# ..." lines follow the check they explain).
relay_checks "browser: " "$TEST_TMP/browser.out"
check_eq "console.mjs exit code" 0 "$brc"
for s in login dashboard drained sessions viewer ratelimit; do
	f=$SHOTS/t_web_console-$s.png
	check "screenshot $s saved (PNG)" test "$(head -c 8 "$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
done

# ---- lbd agrees
check_eq "tandemctl nodes: n1 DRAIN yes" yes "$(ctl nodes | awk '$1 == "n1" { print $7 }')"
check "--json nodes: n1 drain true, state up" node_is n1 '.drain == true and .state == "up"'
others_undrained() { node_is n2 '.drain == false' && node_is n3 '.drain == false'; }
check "--json nodes: n2 and n3 not drained (the viewer's drain was refused)" others_undrained
check_eq "drained n1 left the v4 tcp/80 table" 2 "$(svc_nodes v4 tcp 80)"
sessions "$TEST_TMP/after" 30 "http://$VIP4"
read -r -a t < <(tally "$TEST_TMP/after")
diag "30 sessions after the console's drain: n1 ${t[0]}, n2 ${t[1]}, n3 ${t[2]}, failed ${t[3]}"
check_eq "30 new sessions all succeed" 0 "${t[3]}" || diag "$(sessions_fail_lines "$TEST_TMP/after")"
check_eq "30 new sessions: none on n1" 0 "${t[0]}"
read -r _ _ mc mp mto < <(grep '^# migrated ' "$TEST_TMP/browser.out")
check_eq "tandemctl flows: the flow the console migrated (${mc:-?}:${mp:-?}) is on ${mto:-?}" \
	"${mto:-none}" "$(flow_node "${mc:-0.0.0.0}" "${mp:-0}" 80)"
if long_finish "$long_pid" "$long_file" 10m.bin 30; then
	ok "slow download completed, sha256-correct"
else
	fail "slow download completed, sha256-correct" "$LONG_WHY"
fi

finish
