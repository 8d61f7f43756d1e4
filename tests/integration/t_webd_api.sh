#!/bin/bash
# t_webd_api: tandem-webd's REST API over HTTPS with LDAP logins (real slapd).
#
#   c1, c2 --- brc --- eth0 10.77.1.1 [sw: lbd, tandem-webd :8443 (HTTPS),
#                                      slapd 127.0.0.1:3389 + ldapi]
#                       br1 --- p1..p3 --- n1 n2 n3 (nginx)
#
#   curl --cacert (the test's self-signed certificate) from c1 (and c2 for
#   the per-address rate limit):
#   1. no session -> 401 on every API path; static / serves index.html;
#   2. logins: wrong password 401, empty password 401, unknown user 401,
#      mallory (no group) 403, alice admin 200 with cookie flags HttpOnly,
#      Secure, SameSite=Strict, victor viewer 200;
#   3. CSRF: POST without / with a wrong X-CSRF-Token -> 403;
#   4. viewer reads nodes but drain -> 403;
#   5. bad JSON -> 400 with the parser's message;
#   6. admin drains n1 through the API: tandemctl nodes shows it drained,
#      and the API's nodes equal tandemctl's; undrain;
#   7. sessions paging/filters equal lbd's flows;
#   8. config validate: a broken config -> 400 with lib/config.c's message;
#      the lab's own config -> valid;
#   9. history grows every second with per-node counters;
#  10. rate limit: 5 failures from c2 -> 429 with Retry-After (even with the
#      right password); the user is blocked from c1 too; logout ends a session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ldap.sh"

require_webd
require_root
lab_up
lbd_up
if ! ldap_start sw; then
	fail "slapd starts with the test directory"
	finish
fi
ok "slapd runs with the test directory"
if ! webd_start '"login_rate": {"max_failures": 5, "window_s": 60},'; then
	fail "tandem-webd starts"
	finish
fi
ok "tandem-webd answers on $WEBD_URL"

# st OUT: the status of an api reply; body OUT: the rest.
st() { tail -n 1 <<<"$1" | awk '{ print $2 }'; }
body() { sed '$d' <<<"$1"; }
# expect DESC STATUS OUT [JQ]: status equals, and JQ (if given) holds on the body.
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

# ---- 1. no login
for p in session status vips nodes stats sessions failover history config; do
	o=$(api c1 GET "/api/v1/$p")
	expect "no login: GET /api/v1/$p -> 401" 401 "$o" '.error | test("not logged in")'
done
o=$(api c1 POST /api/v1/nodes/n1/drain)
expect "no login: POST drain -> 401" 401 "$o"
o=$(api c1 GET /api/v1/nosuch)
expect "unknown API path -> 404 (JSON error)" 404 "$o" '.error'
o=$(api c1 DELETE /api/v1/nodes)
expect "DELETE /api/v1/nodes -> 405" 405 "$o" '.error | test("not allowed")'
if [ -f "$WEBD_WWW/index.html" ]; then
	o=$(api c1 GET / -D "$TEST_TMP/static.h")
	expect "GET / serves index.html without login" 200 "$o"
	check "index.html has Content-Type text/html" grep -qi '^content-type: text/html' "$TEST_TMP/static.h"
fi
o=$(in_ns c1 curl -sS -m 5 --cacert "$WEBD_CA" --path-as-is -w '\nHTTP %{http_code}\n' \
	"$WEBD_URL/../../../../etc/passwd")
expect "path traversal /../../etc/passwd -> 404" 404 "$o"
o=$(in_ns c1 curl -sS -m 5 --cacert "$WEBD_CA" --path-as-is -w '\nHTTP %{http_code}\n' \
	"$WEBD_URL/%2e%2e/%2e%2e/etc/passwd")
expect "path traversal %2e%2e -> 404" 404 "$o"

# ---- 2. logins
o=$(api_login c1 alice wrong-pw "$TEST_TMP/x.jar")
expect "alice with a wrong password -> 401" 401 "$o" '.error == "wrong user or password"'
o=$(api_login c1 alice "" "$TEST_TMP/x.jar")
expect "empty password -> 401 (no unauthenticated bind)" 401 "$o"
o=$(api_login c1 nobody some-pw "$TEST_TMP/x.jar")
expect "unknown user -> 401" 401 "$o"
o=$(api_login c1 mallory mallory-pw "$TEST_TMP/x.jar")
expect "mallory (in no group) -> 403" 403 "$o" '.error | test("neither")'
o=$(api_login c1 'alice)(uid=*' x "$TEST_TMP/x.jar")
expect "LDAP injection in the user name -> 401" 401 "$o"
o=$(api c1 POST /api/v1/login "${J[@]}" --data-binary '{"user": "alice", "password": 7}')
expect "login with a non-string password -> 400" 400 "$o" '.error | test("password")'

o=$(api_login c1 alice alice-pw "$TEST_TMP/alice.jar" -D "$TEST_TMP/login.h")
expect "alice logs in as admin" 200 "$o" '.user == "alice" and .role == "admin" and (.csrf | length) == 64'
CSRF_A=$(body "$o" | jq -r .csrf)
cookie=$(grep -i '^set-cookie:' "$TEST_TMP/login.h" | tr -d '\r')
diag "$cookie"
check "cookie tandem_session is HttpOnly" grep -qi 'set-cookie: tandem_session=[0-9a-f]\{64\};.*HttpOnly' <<<"$cookie"
check "cookie is Secure" grep -qi '; *Secure' <<<"$cookie"
check "cookie is SameSite=Strict" grep -qi '; *SameSite=Strict' <<<"$cookie"
check "cookie is Path=/" grep -qi '; *Path=/' <<<"$cookie"
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/alice.jar")
expect "GET session: alice, admin, the same csrf" 200 "$o" \
	".user == \"alice\" and .role == \"admin\" and .csrf == \"$CSRF_A\""

o=$(api_login c1 victor victor-pw "$TEST_TMP/victor.jar")
expect "victor logs in as viewer" 200 "$o" '.role == "viewer"'
CSRF_V=$(body "$o" | jq -r .csrf)

# ---- 3. CSRF
o=$(api c1 POST /api/v1/nodes/n1/drain -b "$TEST_TMP/alice.jar")
expect "admin drain without X-CSRF-Token -> 403" 403 "$o" '.error | test("CSRF")'
o=$(api c1 POST /api/v1/nodes/n1/drain -b "$TEST_TMP/alice.jar" -H "X-CSRF-Token: $CSRF_V")
expect "admin drain with another session's token -> 403" 403 "$o" '.error | test("CSRF")'
check "n1 still not drained after the refused requests" node_is n1 '.drain == false'

# ---- 4. viewer
o=$(api c1 GET /api/v1/nodes -b "$TEST_TMP/victor.jar")
expect "viewer reads nodes" 200 "$o" '.nodes | length == 3'
o=$(api c1 POST /api/v1/nodes/n1/drain -b "$TEST_TMP/victor.jar" -H "X-CSRF-Token: $CSRF_V")
expect "viewer drain (with a valid token) -> 403" 403 "$o" '.error | test("viewer")'
check "n1 not drained by the viewer" node_is n1 '.drain == false'
o=$(api c1 POST /api/v1/migrate -b "$TEST_TMP/victor.jar" -H "X-CSRF-Token: $CSRF_V" "${J[@]}" \
	--data-binary '{"node": "n1", "to": "n2"}')
expect "viewer migrate -> 403" 403 "$o"

# ---- 5. bad JSON
A=(-b "$TEST_TMP/alice.jar" -H "X-CSRF-Token: $CSRF_A" "${J[@]}")
o=$(api c1 POST /api/v1/migrate "${A[@]}" --data-binary '{"node": "n1", "to": ')
expect "bad JSON -> 400 with the parser's message" 400 "$o" '.error | test("bad JSON at line 1")'
o=$(api c1 POST /api/v1/migrate "${A[@]}" --data-binary '{"node": "n1"}')
expect "migrate without \"to\" -> 400 naming the field" 400 "$o" '.error | test("\"to\"")'
o=$(api c1 POST /api/v1/handoff "${A[@]}" --data-binary '{"flow": {"client": "1.2.3.4", "client_port": 0, "vip": "10.77.1.100", "port": 80}, "to": "n2"}')
expect "handoff with client_port 0 -> 400" 400 "$o" '.error | test("client_port")'
o=$(api c1 POST /api/v1/migrate "${A[@]}" --data-binary '{"node": "n1", "to": "n9"}')
expect "migrate to an unknown node -> 409 with lbd's message" 409 "$o" '.error | test("n9")'

# ---- 6. drain through the API
o=$(api c1 POST /api/v1/nodes/n1/drain "${A[@]}")
expect "admin drains n1 through the API" 200 "$o" '.node == "n1" and .drain == true'
check_eq "tandemctl nodes: n1 DRAIN yes" yes "$(ctl nodes | awk '$1 == "n1" { print $7 }')"
check "tandemctl --json nodes: n1 drain true" node_is n1 '.drain == true'
check "tandemctl --json nodes: n2, n3 not drained" node_is n2 '.drain == false'
api_nodes=$(body "$(api c1 GET /api/v1/nodes -b "$TEST_TMP/alice.jar")" | jq -c '[.nodes[] | {name, drain, state, weight}]')
ctl_nodes=$(jctl nodes | jq -c '[.nodes[] | {name, drain, state, weight}]')
check_eq "API nodes = tandemctl nodes (name, drain, state, weight)" "$ctl_nodes" "$api_nodes"
o=$(api c1 POST /api/v1/nodes/n1/undrain "${A[@]}")
expect "admin undrains n1" 200 "$o" '.drain == false'
check "tandemctl: n1 drain false again" node_is n1 '.drain == false'
o=$(api c1 POST /api/v1/nodes/n9/drain "${A[@]}")
expect "drain of an unknown node -> 409 with lbd's message" 409 "$o" '.error | test("n9")'

# ---- 7. sessions: 12 client sessions, then paging and filters vs lbd flows
sessions "$TEST_TMP/s" 12 "http://$VIP4" >/dev/null
read -r -a t < <(tally "$TEST_TMP/s")
check_eq "12 client sessions through the VIP succeed" 0 "${t[3]}"
jctl flows --limit 100000 >"$TEST_TMP/flows.json"
want_total=$(jq '.total' "$TEST_TMP/flows.json")
diag "lbd holds $want_total flows"
o=$(api c1 GET '/api/v1/sessions?limit=5&offset=2' -b "$TEST_TMP/alice.jar")
expect "sessions?limit=5&offset=2: total = lbd's, 5 rows" 200 "$o" \
	".total == $want_total and (.sessions | length) == 5 and .offset == 2 and .limit == 5"
check_eq "those 5 rows are lbd's rows 2..6" \
	"$(jq -c '[.flows[2:7][] | [.client, .client_port, .node]]' "$TEST_TMP/flows.json")" \
	"$(body "$o" | jq -c '[.sessions[] | [.client, .client_port, .node]]')"
o=$(api c1 GET "/api/v1/sessions?client=$C2_IP4&proto=tcp&limit=1000" -b "$TEST_TMP/alice.jar")
check_eq "sessions?client=c2&proto=tcp = lbd's flows of c2 (tcp)" \
	"$(jq -c --arg c "$C2_IP4" '[.flows[] | select(.client == $c and .proto == "tcp") | [.client_port, .node]] | sort' "$TEST_TMP/flows.json")" \
	"$(body "$o" | jq -c '[.sessions[] | [.client_port, .node]] | sort')"
want_n2=$(jctl flows --node n2 --limit 100000 | jq -c '[.flows[] | [.client, .client_port]] | sort')
o=$(api c1 GET '/api/v1/sessions?node=n2&limit=1000' -b "$TEST_TMP/alice.jar")
check_eq "sessions?node=n2 = lbd flows --node n2" "$want_n2" \
	"$(body "$o" | jq -c '[.sessions[] | [.client, .client_port]] | sort')"
o=$(api c1 GET '/api/v1/sessions?limit=0' -b "$TEST_TMP/alice.jar")
expect "sessions?limit=0 -> 400 naming limit" 400 "$o" '.error | test("limit")'
o=$(api c1 GET '/api/v1/sessions?proto=icmp' -b "$TEST_TMP/alice.jar")
expect "sessions?proto=icmp -> 400 naming proto" 400 "$o" '.error | test("proto")'

# ---- reads pass lbd's replies through
o=$(api c1 GET /api/v1/status -b "$TEST_TMP/victor.jar")
expect "status: lbd's status, sync null (no syncd), role" 200 "$o" \
	'.lbd.nodes_total == 3 and .sync == null and (.role | type) == "string" and (.lbd | has("ok") | not)'
o=$(api c1 GET /api/v1/vips -b "$TEST_TMP/victor.jar")
check_eq "vips = tandemctl vips" "$(jctl vips | jq -c '[.vips[] | {name, address}]')" \
	"$(body "$o" | jq -c '[.vips[] | {name, address}]')"
o=$(api c1 GET /api/v1/stats -b "$TEST_TMP/victor.jar")
expect "stats has verdicts, vips, nodes" 200 "$o" '(.verdicts | type) == "object" and (.nodes | length) == 3'
o=$(api c1 GET /api/v1/failover -b "$TEST_TMP/victor.jar")
expect "failover: role, sync, vrrp" 200 "$o" 'has("role") and has("sync") and (.vrrp | has("failovers"))'
o=$(api c1 GET /api/v1/config -b "$TEST_TMP/victor.jar")
check_eq "GET config = the lab's tandem.json" "$(jq -cS . "$LBD_CONF")" "$(body "$o" | jq -cS .)"

# ---- 8. config validate
o=$(api c1 POST /api/v1/config/validate -b "$TEST_TMP/victor.jar" -H "X-CSRF-Token: $CSRF_V" \
	"${J[@]}" --data-binary @"$LBD_CONF")
expect "validate: the lab's config is valid (viewer may validate)" 200 "$o" '.valid == true'
jq '.nodes[1].weight = 5000' "$LBD_CONF" >"$TEST_TMP/broken.json"
o=$(api c1 POST /api/v1/config/validate "${A[@]}" --data-binary @"$TEST_TMP/broken.json")
expect "validate: weight 5000 -> 400 with the parser's message" 400 "$o" \
	'.valid == false and (.error | test("nodes\\[1\\].*weight"))'
diag "parser says: $(body "$o" | jq -r .error)"
o=$(api c1 POST /api/v1/config/apply -b "$TEST_TMP/victor.jar" -H "X-CSRF-Token: $CSRF_V" \
	"${J[@]}" --data-binary @"$LBD_CONF")
expect "viewer config apply -> 403" 403 "$o"
o=$(api c1 POST /api/v1/config/apply "${A[@]}" --data-binary @"$TEST_TMP/broken.json")
expect "apply of a broken config -> 400, nothing written" 400 "$o"
check "the lab's config file is unchanged" jq -e '.nodes[1].weight == 100' "$LBD_CONF"
reloads=$(jctl status | jq .reloads)
jq '.nodes[2].weight = 200' "$LBD_CONF" >"$TEST_TMP/w200.json"
o=$(api c1 POST /api/v1/config/apply "${A[@]}" --data-binary @"$TEST_TMP/w200.json")
expect "apply: n3 weight 200 written and reloaded" 200 "$o" ".applied == true and .reload.reloads == $((reloads + 1))"
check "tandemctl: n3 weight 200 after apply" node_is n3 '.weight == 200'

# ---- 9. history
hist_n() { api c1 GET /api/v1/history -b "$TEST_TMP/alice.jar" | sed '$d' | jq '.samples | length'; }
n0=$(hist_n)
hist_grew() { [ "$(hist_n)" -ge $((n0 + 2)) ]; }
check "history gains a sample every second" wait_for 5 hist_grew
o=$(api c1 GET /api/v1/history -b "$TEST_TMP/alice.jar")
expect "history sample: t, per-node bytes/packets/flows/handoffs, flows, role" 200 "$o" \
	'.interval_ms == 1000 and (.samples[-1] | (.t > 1600000000000) and (.nodes | keys) == ["n1","n2","n3"]
	 and (.nodes.n1 | has("bytes") and has("packets") and has("flows") and has("handoffs_in") and has("handoffs_out"))
	 and has("flows") and has("handoffs") and has("failovers") and has("role"))'
last_t=$(body "$o" | jq '.samples[-1].t')
o=$(api c1 GET "/api/v1/history?since=$last_t" -b "$TEST_TMP/alice.jar")
expect "history?since=<last t> returns only newer samples" 200 "$o" "[.samples[].t | select(. <= $last_t)] | length == 0"

# ---- 10. rate limit, logout
for i in 1 2 3 4 5; do
	api_login c2 victor "bad-$i" "$TEST_TMP/y.jar" >/dev/null
done
o=$(api_login c2 victor victor-pw "$TEST_TMP/y.jar" -D "$TEST_TMP/rl.h")
expect "after 5 failures from c2: the right password -> 429" 429 "$o" '.error | test("too many")'
check "429 carries Retry-After" grep -qi '^retry-after: [0-9]' "$TEST_TMP/rl.h"
o=$(api_login c2 alice alice-pw "$TEST_TMP/y.jar")
expect "c2's address is blocked for other users too -> 429" 429 "$o"
o=$(api_login c1 victor victor-pw "$TEST_TMP/y.jar")
expect "victor is blocked from c1 too (per user) -> 429" 429 "$o"
o=$(api_login c1 alice alice-pw "$TEST_TMP/alice2.jar")
expect "alice from c1 still logs in" 200 "$o"
o=$(api c1 POST /api/v1/logout -b "$TEST_TMP/alice.jar" -H "X-CSRF-Token: $CSRF_A")
expect "logout" 200 "$o" '.user == "alice"'
o=$(api c1 GET /api/v1/session -b "$TEST_TMP/alice.jar")
expect "the old session is gone after logout -> 401" 401 "$o"
check "webd still runs" kill -0 "$WEBD_PID"

# ---- 11. search-then-bind: webd finds the user's entry by a subtree search
# under a service bind (ldap.search) instead of a DN template
webd_stop
if WEBD_LDAP_SEARCH=1 webd_start; then
	ok "webd restarts with ldap.search (service bind, subtree search)"
	o=$(api_login c1 alice alice-pw "$TEST_TMP/s.jar")
	expect "search: alice logs in as admin" 200 "$o" '.user == "alice" and .role == "admin"'
	o=$(api_login c1 victor victor-pw "$TEST_TMP/s.jar")
	expect "search: victor logs in as viewer" 200 "$o" '.role == "viewer"'
	o=$(api_login c1 alice wrong-pw "$TEST_TMP/s.jar")
	expect "search: a wrong password -> 401" 401 "$o" '.error == "wrong user or password"'
	o=$(api_login c1 nobody some-pw "$TEST_TMP/s.jar")
	expect "search: unknown user (no entry found) -> 401" 401 "$o"
	o=$(api_login c1 '*' alice-pw "$TEST_TMP/s.jar")
	expect "search: user name '*' (escaped, matches no entry) -> 401" 401 "$o"
	o=$(api_login c1 'alice)(uid=*' alice-pw "$TEST_TMP/s.jar")
	expect "search: LDAP filter injection -> 401" 401 "$o"
	o=$(api_login c1 mallory mallory-pw "$TEST_TMP/s.jar")
	expect "search: mallory (in no group) -> 403" 403 "$o"
	check "webd (search) still runs" kill -0 "$WEBD_PID"
else
	fail "webd restarts with ldap.search" "$(tail -n 5 "$WEBD_LOG")"
fi

# ---- 12. StartTLS: the directory's certificate must verify against ldap.ca_file
webd_stop
if WEBD_LDAP_STARTTLS=1 webd_start; then
	ok "webd restarts with ldap.starttls and ldap.ca_file (the test CA)"
	o=$(api_login c1 alice alice-pw "$TEST_TMP/t.jar")
	expect "StartTLS: alice logs in as admin" 200 "$o" '.user == "alice" and .role == "admin"'
	o=$(api_login c1 alice wrong-pw "$TEST_TMP/t.jar")
	expect "StartTLS: a wrong password -> 401" 401 "$o"
else
	fail "webd restarts with ldap.starttls" "$(tail -n 5 "$WEBD_LOG")"
fi
webd_stop
# another CA (webd's own self-signed certificate): the handshake must fail
if WEBD_LDAP_STARTTLS=1 WEBD_LDAP_CA=$WEBD_CA webd_start; then
	o=$(api_login c1 alice alice-pw "$TEST_TMP/t.jar")
	expect "StartTLS against a certificate of another CA: no login (502, StartTLS)" 502 "$o" \
		'.error | test("StartTLS")'
else
	fail "webd restarts with a wrong ldap.ca_file" "$(tail -n 5 "$WEBD_LOG")"
fi

finish
