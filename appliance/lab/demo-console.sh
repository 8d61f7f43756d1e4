# shellcheck shell=bash
# The web console for `make demo` (sourced by demo.sh and demo-down.sh): a
# demo directory, tandem-webd over HTTPS in the switch of lab $NAME, and a
# forward that makes it reachable from the host at 127.0.0.1:PORT only.
#
#   browser on the host --HTTPS--> 127.0.0.1:PORT (socat, host namespace)
#     --> LAB_DIR/console/fwd.sock --> socat in the switch --> tandem-webd on
#     SW_C_IP4:8443 (the switch's client-LAN address: c1 and c2 reach it too)
#   tandem-webd --ldapi (a unix socket, no port)--> slapd in the switch
#               --unix socket--> tandem-lbd's control socket
#
# The directory (base dc=tandem,dc=demo) holds one user, "admin", in the
# admin group, with a password generated here (printed, and kept in
# console/admin.pw, mode 0600).  The certificate: a CA made for this lab
# (console/ca.crt: import it into a browser, or accept the warning) signs
# webd's certificate for 127.0.0.1, localhost and SW_C_IP4.  Nothing is
# sent anywhere: the forward listens on 127.0.0.1 only.
#
# Lifetime: slapd, webd and the switch-side socat run in the switch's
# namespace and end with the lab (lab.sh down); the host-side socat is the
# one process outside the lab: console_stop (demo-down.sh) ends its process
# group through console/forward.pid.
#
# Needs the lab's env (LAB_DIR, NS_SW, SW_C_IP4, LBD_SOCK, LBD_CONF), REPO,
# TANDEM_BUILD and demo-lib.sh (DEMO_CONSOLE_PORT, say/good/bad).

CONSOLE_LDAP_BASE="dc=tandem,dc=demo"
CONSOLE_WEBD_PORT=8443

# console_files DIR: the lab CA, webd's certificate, slapd.conf and the
# directory's entries (LDIF) with the admin password CONSOLE_PW.
console_files() {
	local d=$1 b=$CONSOLE_LDAP_BASE
	(umask 077 && printf '%s\n' "$CONSOLE_PW" >"$d/admin.pw")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj "/CN=Tandem demo lab CA ($NAME)" -keyout "$d/ca.key" -out "$d/ca.crt" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=tandem-webd" -keyout "$d/webd.key" -out "$d/webd.csr" &&
		openssl x509 -req -in "$d/webd.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-days 30 -out "$d/webd.crt" -extfile <(printf '%s\n' \
			"subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$SW_C_IP4" \
			"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth") || return 1
	chmod 600 "$d/webd.key" "$d/ca.key"
	cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $d/slapd.pid
database mdb
maxsize 16777216
suffix "$b"
directory $d/ldap
access to attrs=userPassword by anonymous auth by * none
access to * by users read by anonymous auth
EOF
	cat >"$d/directory.ldif" <<EOF
dn: $b
objectClass: dcObject
objectClass: organization
o: Tandem demo
dc: tandem

dn: ou=people,$b
objectClass: organizationalUnit
ou: people

dn: ou=groups,$b
objectClass: organizationalUnit
ou: groups

dn: uid=admin,ou=people,$b
objectClass: inetOrgPerson
uid: admin
cn: Tandem demo administrator
sn: admin
userPassword: $(slappasswd -s "$CONSOLE_PW")

dn: cn=tandem-admins,ou=groups,$b
objectClass: groupOfNames
cn: tandem-admins
member: uid=admin,ou=people,$b

dn: cn=tandem-viewers,ou=groups,$b
objectClass: groupOfNames
cn: tandem-viewers
member: uid=admin,ou=people,$b
EOF
}

# console_webd_conf DIR LDAPI: tandem-webd's configuration.
console_webd_conf() {
	local d=$1 b=$CONSOLE_LDAP_BASE
	cat >"$d/webd.json" <<EOF
{
  "listen": "$SW_C_IP4:$CONSOLE_WEBD_PORT",
  "cert": "$d/webd.crt",
  "key": "$d/webd.key",
  "www": "$REPO/mgmt-web/www",
  "lbd_socket": "$LBD_SOCK",
  "config_path": "$LBD_CONF",
  "ldap": {
    "uri": "$2",
    "user_dn_template": "uid=%s,ou=people,$b",
    "admin_group": "cn=tandem-admins,ou=groups,$b",
    "viewer_group": "cn=tandem-viewers,ou=groups,$b",
    "timeout_ms": 3000
  },
  "history_s": 900
}
EOF
}

# console_ldap_up LDAPI: the directory answers.
console_ldap_up() { ldapsearch -x -H "$1" -b "" -s base namingContexts >/dev/null 2>&1; }
# console_webd_up: webd answers in the switch.
console_webd_up() {
	ip netns exec "$NS_SW" curl -s -m 2 --cacert "$LAB_DIR/console/ca.crt" -o /dev/null \
		"https://$SW_C_IP4:$CONSOLE_WEBD_PORT/api/v1/session"
}

# console_start: a new admin password (CONSOLE_PW), then everything
# above in the background: console_wait collects it.
console_start() {
	CONSOLE_PW=$(head -c 15 /dev/urandom | base64 | tr -d '/+=')
	console_run &
	CONSOLE_PID=$!
}

# console_wait: 0 once the console started, or 1 (the reason is the last
# line of LAB_DIR/console/start.log).
console_wait() { [ -n "${CONSOLE_PID:-}" ] && wait "$CONSOLE_PID"; }

# console_run: the files, slapd, webd, the forward; the output of each step
# goes to LAB_DIR/console/start.log, a failure's reason last.
console_run() {
	local d=$LAB_DIR/console ldapi
	rm -rf "$d"
	mkdir -p "$d/ldap"
	ldapi="ldapi://$(printf '%s' "$d/ldapi" | jq -sRr @uri)"
	{
		console_files "$d" || { echo "openssl failed"; return 1; }
		slapadd -q -f "$d/slapd.conf" -l "$d/directory.ldif" || { echo "slapadd failed"; return 1; }
		# slapd forks into the background, in the switch's namespace
		ip netns exec "$NS_SW" slapd -f "$d/slapd.conf" -h "$ldapi" || { echo "slapd failed"; return 1; }
		wait_ms 10000 console_ldap_up "$ldapi" || { echo "slapd does not answer"; return 1; }
		console_webd_conf "$d" "$ldapi"
		"$TANDEM_BUILD/tandem-webd" -t -c "$d/webd.json" || { echo "tandem-webd -t failed"; return 1; }
		setsid ip netns exec "$NS_SW" "$TANDEM_BUILD/tandem-webd" -c "$d/webd.json" \
			</dev/null >>"$d/webd.log" 2>&1 &
		# the forward: the switch's end, then the host's (its pid: the
		# process group demo-down ends)
		setsid ip netns exec "$NS_SW" socat "UNIX-LISTEN:$d/fwd.sock,fork,unlink-early,mode=600" \
			"TCP:$SW_C_IP4:$CONSOLE_WEBD_PORT" </dev/null >>"$d/fwd-switch.log" 2>&1 &
		# shellcheck disable=SC2016
		setsid sh -c 'echo $$ >"$0"; shift; exec "$@"' "$d/forward.pid" _ socat \
			"TCP-LISTEN:$DEMO_CONSOLE_PORT,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$d/fwd.sock" \
			</dev/null >>"$d/fwd-host.log" 2>&1 &
		wait_ms 10000 console_webd_up || { echo "tandem-webd does not answer: $(tail -n 3 "$d/webd.log")"; return 1; }
	} >>"$d/start.log" 2>&1
}

# console_url: the URL the host's browser uses.
console_url() { echo "https://127.0.0.1:$DEMO_CONSOLE_PORT/"; }

# console_api METHOD PATH [CURL ARGS]: an API call from the host through the
# forward; the body, then a last line "HTTP NNN".
console_api() {
	local m=$1 p=$2
	shift 2
	curl -sS -m 10 --cacert "$LAB_DIR/console/ca.crt" -X "$m" -w '\nHTTP %{http_code}\n' "$@" \
		"https://127.0.0.1:$DEMO_CONSOLE_PORT$p"
}

# console_port_free: nothing listens on the host's 127.0.0.1:PORT yet.
console_port_free() {
	[ -z "$(ss -Hltn "sport = :$DEMO_CONSOLE_PORT" 2>/dev/null)" ]
}

# console_check: through the host's forward, as a browser would: the page,
# a login as admin (role admin), the nodes through the API.  Narrated.
console_check() {
	local jar=$LAB_DIR/console/cookies out
	out=$(console_api GET / -o /dev/null) || true
	if [ "${out##*HTTP }" = 200 ]; then
		good "$(console_url) answers from the host (HTTPS, certificate signed by the lab's CA)"
	else
		bad "$(console_url) does not answer from the host (${out##*$'\n'})"
		return 1
	fi
	out=$(console_api POST /api/v1/login -c "$jar" -H 'Content-Type: application/json' \
		--data-binary "$(jq -cn --arg p "$CONSOLE_PW" '{user: "admin", password: $p}')")
	if [ "$(sed '$d' <<<"$out" | jq -r .role 2>/dev/null)" = admin ]; then
		good "login as admin: role admin (checked by slapd; session cookie, CSRF token)"
	else
		bad "login as admin failed: $(tr '\n' ' ' <<<"$out")"
		return 1
	fi
	out=$(console_api GET /api/v1/nodes -b "$jar" | sed '$d')
	say "the console's API sees: $(jq -r '[.nodes[] | "\(.name) \(.state)"] | join(", ")' <<<"$out" 2>/dev/null)"
}

# console_stop LAB_DIR: end the host's forward (its whole process group:
# socat forks one child per connection).  The rest ends with the lab.
console_stop() {
	local f=$1/console/forward.pid pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	kill -TERM -- "-$pid" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$f"
}
