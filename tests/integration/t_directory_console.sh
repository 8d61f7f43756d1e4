#!/bin/bash
# shellcheck disable=SC2317	# (helpers run through check and wait_for)
# t_directory_console: the console's operator logins against the pair's own
# directory, by default: each switch's tandem-webd has no "ldap.uri" and
# takes its switch's slapd (over ldapi) from tandem.json's "directory".
#
#   c1 --- client LAN --- swa 10.77.1.2:8443 webd -> swa's slapd (ldapi)
#                     \-- swb 10.77.1.3:8443 webd -> swb's slapd (ldapi)
#                         swa slapd <== mirror mode ==> swb slapd
#
#   1. the pair up (lbd, syncd, keepalived), the directory up, the console
#      users (alice admin, victor viewer, mallory in no group) added on A;
#      webd -t on each switch names its own slapd's ldapi socket;
#   2. on both consoles: alice logs in as admin, victor as viewer, mallory
#      is refused (403), a wrong password too (401);
#   3. A's slapd killed: B's console still logs in; an admin added on B
#      while A's slapd is dead logs in at A's console once it is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ldap.sh"
. "$(dirname "$0")/lib_directory.sh"

require_pair
require_webd
require_directory
LAB_DIRECTORY=1 pair_up
dir_up
GROUPS_DN="ou=groups,$DIR_BASE"

# 1. The console's users, on A.
{
	dir_user_ldif alice 20001 "$(slappasswd -s alice-pw)"
	dir_user_ldif victor 20002 "$(slappasswd -s victor-pw)"
	dir_user_ldif mallory 20003 "$(slappasswd -s mallory-pw)"
	printf 'dn: cn=tandem-admins,%s\nchangetype: add\nobjectClass: groupOfNames\ncn: tandem-admins\nmember: uid=alice,ou=people,%s\n\n' \
		"$GROUPS_DN" "$DIR_BASE"
	printf 'dn: cn=tandem-viewers,%s\nchangetype: add\nobjectClass: groupOfNames\ncn: tandem-viewers\nmember: uid=victor,ou=people,%s\n\n' \
		"$GROUPS_DN" "$DIR_BASE"
} >"$TEST_TMP/users.ldif"
check "the console's users and groups go into A's directory" dir_write swa <"$TEST_TMP/users.ldif"
check "... and reach B's" wait_for 5 dir_has_val swb "cn=tandem-viewers,$GROUPS_DN" member \
	"uid=victor,ou=people,$DIR_BASE"

# webd_on X: tandem-webd on switch X (its client-LAN address, port 8443),
# webd.json without "ldap": the directory's defaults.  URL_X, CA_X.
webd_on() {
	local x=$1 ip d
	ip=10.77.1.$([ "$x" = a ] && echo 2 || echo 3)
	d=$TEST_TMP/webd-$x
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=tandem-webd" -addext "subjectAltName=IP:$ip" \
		-keyout "$d/webd.key" -out "$d/webd.crt" >"$d/openssl.log" 2>&1 || return 1
	chmod 600 "$d/webd.key"
	cat >"$d/webd.json" <<EOF
{ "listen": "$ip:8443", "cert": "$d/webd.crt", "key": "$d/webd.key",
  "www": "$REPO/mgmt-web/www", "lbd_socket": "$LAB_DIR/sw-$x/lbd.sock",
  "config_path": "$LAB_DIR/sw-$x/tandem.json", "session_idle_s": 600 }
EOF
	"$WEBD_BIN" -t -c "$d/webd.json" >"$d/check.log" 2>&1 || return 1
	setsid ip netns exec "tdm-$LAB_NAME-sw$x" "$WEBD_BIN" -v -c "$d/webd.json" </dev/null \
		>>"$d/webd.log" 2>&1 &
	at_exit "kill $!"
	printf -v "URL_${x^^}" '%s' "https://$ip:8443"
	printf -v "CA_${x^^}" '%s' "$d/webd.crt"
	wait_for 10 in_ns c1 curl -sS -m 2 --cacert "$d/webd.crt" -o /dev/null "https://$ip:8443/api/v1/session"
}

for x in a b; do
	if webd_on "$x"; then
		ok "tandem-webd on switch $x answers, its ldap from tandem.json"
	else
		fail "tandem-webd on switch $x starts" "$(cat "$TEST_TMP/webd-$x/check.log")" \
			"$(tail -n 5 "$TEST_TMP/webd-$x/webd.log")"
		finish
	fi
	want="LDAP $(dir_ldapi "sw$x")"
	check "webd -t on $x: logins go to its own slapd ($want)" grep -qF "$want" "$TEST_TMP/webd-$x/check.log"
done

# login X USER PASSWORD: "HTTP-status role" of a login at switch X's console.
login() {
	local url ca out
	url=URL_${1^^} ca=CA_${1^^}
	out=$(in_ns c1 curl -sS -m 20 --cacert "${!ca}" -H 'Content-Type: application/json' \
		-w '\n%{http_code}' --data-binary "$(jq -cn --arg u "$2" --arg p "$3" '{user: $u, password: $p}')" \
		"${!url}/api/v1/login")
	echo "$(tail -n 1 <<<"$out") $(sed '$d' <<<"$out" | jq -r '.role // empty' 2>/dev/null)"
}

# 2. Both consoles.
for x in a b; do
	check_eq "switch $x: alice logs in as admin" "$(login "$x" alice alice-pw)" "200 admin"
	check_eq "switch $x: victor logs in as viewer" "$(login "$x" victor victor-pw)" "200 viewer"
	check_eq "switch $x: mallory (in no group) is refused" "$(login "$x" mallory mallory-pw)" "403 "
	check_eq "switch $x: a wrong password is refused" "$(login "$x" alice wrong-pw)" "401 "
done

# 3. A's slapd dies.
lab dir-stop swa hard
check_eq "A's slapd dead: B's console still logs in" "$(login b victor victor-pw)" "200 viewer"
{
	dir_user_ldif olga 20004 "$(slappasswd -s olga-pw)"
	printf 'dn: cn=tandem-admins,%s\nchangetype: modify\nadd: member\nmember: uid=olga,ou=people,%s\n\n' \
		"$GROUPS_DN" "$DIR_BASE"
} >"$TEST_TMP/olga.ldif"
check "B takes a new admin while A's slapd is dead" dir_write swb <"$TEST_TMP/olga.ldif"
check_eq "... who logs in at B's console" "$(login b olga olga-pw)" "200 admin"
if out=$(lab dir-start swa 2>&1); then ok "A's slapd restarts"; else fail "A's slapd restarts" "$out"; fi
# (wait for the entry first: each refused login counts against the rate limit)
check "A's slapd catches up with the new admin within 10 s" \
	wait_for 10 dir_has_val swa "uid=olga,ou=people,$DIR_BASE" uidNumber 20004
check_eq "the admin made on B logs in at A's console" "$(login a olga olga-pw)" "200 admin"

finish
