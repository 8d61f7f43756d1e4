#!/bin/bash
# t_webd_hardening: tandem-webd against cross-site requests, password
# guessing, user enumeration, cleartext LDAP and a session table filled by
# one user (real slapd, lib_ldap.sh).
#
#   c1 10.77.1.10, fd77:1::10 (+ fd77:1::a:1..6) --- brc --- eth0 [sw: lbd,
#   c2 10.77.1.11                                   tandem-webd :8443 (HTTPS),
#                                                   slapd over ldapi]
#
#   1. config check (-t): ldap:// without StartTLS is refused unless
#      "allow_cleartext": true (which -t then warns about); ldaps://,
#      ldapi://, ldap:// with StartTLS pass;
#   2. cross-site: a login posted as text/plain or as a form -> 415; a login
#      or a drain (with session and CSRF token) carrying another site's Origin
#      -> 403 and nothing happens; the console's own Origin passes;
#   3. sessions: one viewer logging in 9 times holds 8 sessions (the oldest
#      ends); in a table of 4 the viewer's logins never end the admin's
#      session; " VICTOR" is victor to the session cap, "ALICE" alice to the
#      per-user rate limit;
#   4. timing (search-then-bind): an unknown user and a known user with a
#      wrong password (whose directory hash takes ~0.2 s) answer 401 after
#      the same time: medians within 120 ms;
#   5. rate limit by IPv6 /64: six addresses of c1's /64, six user names:
#      the sixth login is refused (429);
#   6. rate limit at submission: with slapd stopped (logins hang in LDAP),
#      20 concurrent logins from c2: at most 5 reach LDAP, the others 429.
TEST_TIMEOUT=${TEST_TIMEOUT:-420}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ldap.sh"

require_webd
require_root
lab_up
lbd_start >/dev/null || {
	fail "lbd starts" "$(tail -n 20 "$LBD_LOG")"
	finish
}
if ! ldap_start sw; then
	fail "slapd starts with the test directory"
	finish
fi
ok "slapd runs with the test directory"
# ldapi:// (a local socket): no cleartext opt-out in the running config
# shellcheck disable=SC2034  # read by webd_start
WEBD_LDAP_URI=$LDAP_LDAPI

st() { tail -n 1 <<<"$1" | awk '{ print $2 }'; }
body() { sed '$d' <<<"$1"; }
expect() {
	local d=$1 want=$2 o=$3 q=${4:-}
	if [ "$(st "$o")" != "$want" ]; then
		fail "$d" "want HTTP $want, got: $(tail -c 400 <<<"$o")"
		return 1
	fi
	if [ -n "$q" ] && ! body "$o" | jq -e "$q" >/dev/null 2>&1; then
		fail "$d" "HTTP $want but jq '$q' does not hold on: $(body "$o" | head -c 400)"
		return 1
	fi
	ok "$d"
}
J=(-H 'Content-Type: application/json')
cred() { jq -cn --arg u "$1" --arg p "$2" '{user: $u, password: $p}'; }

# ---- 1. cleartext LDAP at config check
mkdir -p "$TEST_TMP/t"
# tconf NAME LDAP_EXTRA_JSON: a webd.json for -t (plain HTTP on loopback)
tconf() {
	cat >"$TEST_TMP/t/$1.json" <<EOF
{ "listen": "127.0.0.1:8080", "plain_http": true,
  "ldap": { $2
    "user_dn_template": "uid=%s,ou=people,$LDAP_BASE",
    "admin_group": "$LDAP_ADMINS", "viewer_group": "$LDAP_VIEWERS" } }
EOF
	"$WEBD_BIN" -t -c "$TEST_TMP/t/$1.json" 2>&1
}
o=$(tconf clear '"uri": "ldap://ldap.example",')
rc=$?
diag "$o"
check "-t refuses ldap:// without StartTLS" test "$rc" -ne 0
check "-t says why and names the opt-out" grep -q 'in clear.*allow_cleartext' <<<"$o"
o=$(tconf list '"uri": "ldaps://a.example ldap://b.example",')
check "-t refuses a URI list with one plain ldap://" test $? -ne 0
o=$(tconf lab '"uri": "ldap://127.0.0.1:3389", "allow_cleartext": true,')
check "-t accepts ldap:// with \"allow_cleartext\": true" test $? -eq 0
check "-t warns that passwords go in clear" grep -q 'warning: ldap.allow_cleartext' <<<"$o"
o=$(tconf tls '"uri": "ldap://ldap.example", "starttls": true,')
check "-t accepts ldap:// with StartTLS, no warning" test $? -eq 0 -a -z "$(grep -i warning <<<"$o")"
o=$(tconf ldaps '"uri": "ldaps://ldap.example",')
check "-t accepts ldaps://" test $? -eq 0
o=$(tconf ldapi '"uri": "ldapi://%2Frun%2Fslapd%2Fldapi",')
check "-t accepts ldapi://" test $? -eq 0
check "-t reports the failure delay and the per-user session cap" \
	grep -q 'a failure answers after 1000 ms; sessions: 256, 8 per user' <<<"$o"

if ! webd_start; then
	fail "tandem-webd starts"
	finish
fi
ok "tandem-webd answers on $WEBD_URL"

# ---- 2. cross-site requests
o=$(api c1 POST /api/v1/login -c "$TEST_TMP/x.jar" -H 'Content-Type: text/plain' \
	--data-binary "$(cred alice alice-pw)")
expect "login posted as text/plain (a cross-site form can) -> 415" 415 "$o" '.error | test("JSON")'
o=$(api c1 POST /api/v1/login -c "$TEST_TMP/x.jar" --data-binary "$(cred alice alice-pw)")
expect "login posted as a urlencoded form -> 415" 415 "$o"
o=$(api c1 POST /api/v1/login -c "$TEST_TMP/x.jar" "${J[@]}" -H 'Origin: https://evil.example' \
	--data-binary "$(cred alice alice-pw)")
expect "login with another site's Origin -> 403" 403 "$o" '.error | test("Origin")'
check "no session cookie for the refused logins" test ! -s "$TEST_TMP/x.jar" -o \
	-z "$(grep tandem_session "$TEST_TMP/x.jar" 2>/dev/null)"
o=$(api c1 POST /api/v1/login -c "$TEST_TMP/a.jar" "${J[@]}" -H "Origin: $WEBD_URL" \
	--data-binary "$(cred alice alice-pw)")
expect "login with the console's own Origin -> 200" 200 "$o" '.role == "admin"'
CSRF_A=$(body "$o" | jq -r .csrf)
A=(-b "$TEST_TMP/a.jar" -H "X-CSRF-Token: $CSRF_A")
o=$(api c1 POST /api/v1/nodes/n1/drain "${A[@]}" -H 'Origin: https://evil.example')
expect "drain with session and token but another Origin -> 403" 403 "$o" '.error | test("Origin")'
check "n1 not drained by the cross-site request" node_is n1 '.drain == false'
o=$(api c1 POST /api/v1/nodes/n1/drain "${A[@]}" -H 'Origin: null')
expect "drain with Origin: null -> 403" 403 "$o"
o=$(api c1 GET /api/v1/nodes -b "$TEST_TMP/a.jar" -H 'Origin: https://evil.example')
expect "GET with another site's Origin -> 403" 403 "$o"
o=$(api c1 POST /api/v1/migrate "${A[@]}" -H 'Content-Type: text/plain' \
	--data-binary '{"node": "n1", "to": "n2"}')
expect "migrate with a text/plain body -> 415" 415 "$o"
o=$(api c1 POST /api/v1/nodes/n1/drain "${A[@]}" -H "Origin: $WEBD_URL")
expect "drain with the console's Origin, no body -> 200" 200 "$o" '.drain == true'
o=$(api c1 POST /api/v1/nodes/n1/undrain "${A[@]}" "${J[@]}")
expect "undrain with Content-Type JSON and no body -> 200" 200 "$o" '.drain == false'

# ---- 3. sessions: per-user cap, admins never evicted by another user
vlogin() { api_login c1 victor victor-pw "$TEST_TMP/v$1.jar"; }
for i in 1 2 3 4 5 6 7 8 9; do
	o=$(vlogin "$i")
	[ "$(st "$o")" = 200 ] || break
done
expect "victor logs in 9 times" 200 "$o"
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/v1.jar")
expect "victor's first (least recently used) session ended: 8 per user" 401 "$o"
live=0
for i in 2 3 4 5 6 7 8 9; do
	[ "$(st "$(api c1 GET /api/v1/session -b "$TEST_TMP/v$i.jar")")" = 200 ] && live=$((live + 1))
done
check_eq "victor's 8 newer sessions live" 8 "$live"
# the per-user cap takes the name as LDAP compares it: case and spaces aside
o=$(api_login c1 ' VICTOR' victor-pw "$TEST_TMP/v10.jar")
expect "' VICTOR' logs in as victor (LDAP ignores case and spaces)" 200 "$o" '.role == "viewer"'
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/v2.jar")
expect "' VICTOR' counts as victor: victor's oldest of 8 sessions ended" 401 "$o"
webd_stop
if ! webd_start '"session_max": 4,'; then
	fail "tandem-webd restarts with session_max 4"
	finish
fi
o=$(api_login c1 alice alice-pw "$TEST_TMP/a.jar")
expect "table of 4: alice logs in (admin)" 200 "$o"
for i in 1 2 3 4 5 6; do
	o=$(vlogin "$i")
	[ "$(st "$o")" = 200 ] || break
done
expect "table of 4: victor logs in 6 times (no 503)" 200 "$o"
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/a.jar")
expect "alice's admin session survives victor's logins" 200 "$o" '.user == "alice"'
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/v1.jar")
expect "victor's oldest session made room" 401 "$o"
# the per-user rate limit takes the name as LDAP compares it
for u in Alice ALICE aLiCe; do
	api_login c1 "$u" wrong "$TEST_TMP/x.jar" >/dev/null
done
for u in alicE ' alice '; do
	api_login c2 "$u" wrong "$TEST_TMP/x.jar" >/dev/null
done
o=$(api_login c2 alice alice-pw "$TEST_TMP/x.jar")
expect "5 failures as Alice/ALICE/' alice ' from two hosts block alice -> 429" 429 "$o" \
	'.error | test("this user")'

# ---- 4. timing: unknown user vs known user with a wrong password
# shellcheck disable=SC2016  # a crypt(3) salt format, not an expansion
slowhash=$(slappasswd -h '{CRYPT}' -c '$6$rounds=700000$%.16s' -s slowpoke-pw)
ldapadd -x -H "$LDAP_LDAPI" -D "cn=admin,$LDAP_BASE" -w "$LDAP_ROOTPW" >"$TEST_TMP/slow.log" 2>&1 <<EOF
dn: uid=slowpoke,ou=people,$LDAP_BASE
objectClass: inetOrgPerson
uid: slowpoke
cn: slowpoke
sn: slowpoke
userPassword: $slowhash
EOF
check "slowpoke (a slow password hash) added" test $? -eq 0
webd_stop
if ! WEBD_LDAP_SEARCH=1 webd_start '"login_rate": {"max_failures": 100, "window_s": 60},'; then
	fail "tandem-webd restarts in search mode"
	finish
fi
# ms USER PW: server time of one login (request sent .. first byte), in ms
ms() {
	api c1 POST /api/v1/login "${J[@]}" --data-binary "$(cred "$1" "$2")" -o /dev/null \
		-w '%{time_pretransfer} %{time_starttransfer}\n' | tail -n 1 |
		awk '{ printf "%d\n", ($2 - $1) * 1000 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
t0=$(now_ms)
o=$(api_login c1 slowpoke slowpoke-pw "$TEST_TMP/s.jar")
diag "slowpoke's right password: $(($(now_ms) - t0)) ms, $(st "$o") (no group: 403)"
: >"$TEST_TMP/known"
: >"$TEST_TMP/unknown"
for i in 1 2 3 4 5; do
	ms slowpoke "wrong-$i" >>"$TEST_TMP/known"
	ms "ghost$i" "wrong-$i" >>"$TEST_TMP/unknown"
done
k=$(median <"$TEST_TMP/known")
u=$(median <"$TEST_TMP/unknown")
diag "401 after: known user $(tr '\n' ' ' <"$TEST_TMP/known")ms (median $k), unknown $(tr '\n' ' ' <"$TEST_TMP/unknown")ms (median $u)"
d=$((k > u ? k - u : u - k))
check_le "search mode: known vs unknown user answer within 120 ms of each other ($d ms)" "$d" 120

# ---- 5. rate limit by IPv6 /64
webd_stop
if ! webd_start '"login_rate": {"max_failures": 5, "window_s": 60},'; then
	fail "tandem-webd restarts"
	finish
fi
webd_stop
jq --arg l "[$SW_C_IP6]:$WEBD_PORT" '.listen = $l' "$WEBD_CONF" >"$WEBD_CONF.v6" &&
	mv "$WEBD_CONF.v6" "$WEBD_CONF"
setsid ip netns exec "$NS_SW" "$WEBD_BIN" -v -c "$WEBD_CONF" </dev/null >>"$WEBD_LOG" 2>&1 &
WEBD_PID=$!
at_exit "kill $WEBD_PID"
WEBD_URL="https://[$SW_C_IP6]:$WEBD_PORT"
check "webd answers on $WEBD_URL" wait_for 10 _webd_up
for i in 1 2 3 4 5 6; do
	in c1 ip addr add "fd77:1::a:$i/64" dev eth0 nodad
done
for i in 1 2 3 4 5 6; do
	o=$(api_login c1 "six$i" wrong "$TEST_TMP/6.jar" --interface "fd77:1::a:$i")
	diag "fd77:1::a:$i six$i: HTTP $(st "$o")"
done
expect "6th login from another address of the same /64 -> 429" 429 "$o" '.error | test("too many")'

# ---- 6. concurrent logins while LDAP hangs: counted at submission
WEBD_URL="https://$SW_C_IP4:$WEBD_PORT"
webd_stop
if ! webd_start '"login_rate": {"max_failures": 5, "window_s": 60},'; then
	fail "tandem-webd restarts"
	finish
fi
slapd_pid=$(cat "$LDAP_DIR/slapd.pid")	# slapd itself ($LDAP_PID may be its wrapper)
kill -STOP "$slapd_pid"
at_exit "kill -CONT $slapd_pid"
pids=()
for i in $(seq 1 20); do
	api_login c2 "burst$i" wrong "$TEST_TMP/b.jar" >"$TEST_TMP/burst.$i" 2>&1 &
	pids+=($!)
done
burst_done() { [ "$(cat "$TEST_TMP"/burst.* 2>/dev/null | grep -c '^HTTP ')" -ge 20 ]; }
wait_for 40 burst_done
kill -CONT "$slapd_pid"
wait "${pids[@]}"
n429=$(cat "$TEST_TMP"/burst.* | grep -c '^HTTP 429')
other=$(cat "$TEST_TMP"/burst.* | grep '^HTTP ' | grep -vc '^HTTP 429')
diag "20 concurrent logins from c2 while slapd is stopped: $n429 x 429, $other others ($(cat "$TEST_TMP"/burst.* | grep '^HTTP ' | sort | uniq -c | tr '\n' ' '))"
check_le "at most 5 of 20 concurrent logins reach LDAP" "$other" 5
check_eq "the other 15 get 429 at once" 15 "$n429"
o=$(api_login c2 alice alice-pw "$TEST_TMP/y.jar")
expect "c2 stays blocked after the burst (even the right password) -> 429" 429 "$o"
check "webd still runs" kill -0 "$WEBD_PID"

finish
