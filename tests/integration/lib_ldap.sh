# shellcheck shell=bash
# A real slapd and tandem-webd for integration tests; source after lib.sh:
#
#     . "$(dirname "$0")/lib.sh"
#     . "$(dirname "$0")/lib_ldap.sh"
#     require_webd
#     lab_up; lbd_start
#     ldap_start sw          # slapd in the switch namespace (127.0.0.1:3389 + ldapi;
#                            # StartTLS with a certificate from a test CA)
#     webd_start             # HTTPS on $SW_C_IP4:8443 in the switch, next to lbd
#     api c1 GET /api/v1/session      # curl from c1 (see api below)
#
# The fixed test directory (other tests rely on it):
#   base dc=tandem,dc=test
#   uid=alice,ou=people,...   password alice-pw    member of cn=tandem-admins,ou=groups,...
#   uid=victor,ou=people,...  password victor-pw   member of cn=tandem-viewers,ou=groups,...
#   uid=mallory,ou=people,... password mallory-pw  in no group
# Passwords are stored as {SSHA} hashes.  The directory's root DN
# (cn=admin,dc=tandem,dc=test) gets a random password: $LDAP_ROOTPW.
#
# Variables after ldap_start: LDAP_DIR, LDAP_URI (ldap://127.0.0.1:3389, valid
# inside the namespace slapd runs in), LDAP_LDAPI (ldapi://..., valid
# everywhere), LDAP_BASE, LDAP_ADMINS, LDAP_VIEWERS, LDAP_PID.
# After webd_start: WEBD_DIR, WEBD_CONF, WEBD_LOG, WEBD_PID, WEBD_URL
# (https://10.77.1.1:8443), WEBD_CA (the self-signed certificate), WEBD_WWW.

LDAP_BASE="dc=tandem,dc=test"
LDAP_ADMINS="cn=tandem-admins,ou=groups,$LDAP_BASE"
LDAP_VIEWERS="cn=tandem-viewers,ou=groups,$LDAP_BASE"
LDAP_PORT=${LDAP_PORT:-3389}
WEBD_BIN=$TANDEM_BUILD/tandem-webd
WEBD_PORT=${WEBD_PORT:-8443}

# require_webd: the binaries and tools these helpers need.
require_webd() {
	require_lbd
	[ -x "$WEBD_BIN" ] || skip_all "no $WEBD_BIN (run make)"
	require_cmd slapd slappasswd ldapadd ldapsearch openssl curl jq
}

# _ldap_ns_run NS CMD...: CMD in namespace NS ("" = here).
_ldap_ns_run() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then
		in_ns "$ns" "$@"
	else
		"$@"
	fi
}

# ldap_start [HOST]: start slapd (mdb backend, own config and data under
# TEST_TMP/ldap) in HOST's namespace (default: the current one), load the
# test directory, wait until it answers.  Stopped at exit.
# _ldap_certs DIR: a test CA (DIR/ca.crt) and slapd's certificate for
# 127.0.0.1 (StartTLS).  1 (with a diag) if openssl fails.
_ldap_certs() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=tandem test LDAP CA" -keyout "$d/ca.key" -out "$d/ca.crt" >"$d/openssl.log" 2>&1 &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
			-keyout "$d/slapd.key" -out "$d/slapd.csr" >>"$d/openssl.log" 2>&1 &&
		openssl x509 -req -in "$d/slapd.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$d/slapd.crt" \
			>>"$d/openssl.log" 2>&1 || {
		diag "openssl (LDAP certificates): $(tail -n 3 "$d/openssl.log")"
		return 1
	}
}

# _ldap_conf DIR: slapd.conf (mdb under DIR/data, the TLS files, LDAP_BASE,
# the root password LDAP_ROOTPW).
_ldap_conf() {
	local d=$1
	cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $d/slapd.pid
argsfile $d/slapd.args
TLSCACertificateFile $d/ca.crt
TLSCertificateFile $d/slapd.crt
TLSCertificateKeyFile $d/slapd.key
database mdb
maxsize 16777216
suffix "$LDAP_BASE"
rootdn "cn=admin,$LDAP_BASE"
rootpw $(slappasswd -s "$LDAP_ROOTPW")
directory $d/data
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by anonymous auth
EOF
}

# _ldap_data DIR: DIR/data.ldif: the base, people alice, victor, mallory
# (password USER-pw), the admins group (alice) and the viewers (victor).
_ldap_data() {
	local d=$1 u
	{
		cat <<EOF
dn: $LDAP_BASE
objectClass: dcObject
objectClass: organization
o: Tandem test
dc: tandem

dn: ou=people,$LDAP_BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$LDAP_BASE
objectClass: organizationalUnit
ou: groups

EOF
		for u in alice victor mallory; do
			cat <<EOF
dn: uid=$u,ou=people,$LDAP_BASE
objectClass: inetOrgPerson
uid: $u
cn: $u
sn: $u
userPassword: $(slappasswd -s "$u-pw")

EOF
		done
		cat <<EOF
dn: $LDAP_ADMINS
objectClass: groupOfNames
cn: tandem-admins
member: uid=alice,ou=people,$LDAP_BASE

dn: $LDAP_VIEWERS
objectClass: groupOfNames
cn: tandem-viewers
member: uid=victor,ou=people,$LDAP_BASE
EOF
	} >"$d/data.ldif"
}

ldap_start() {
	local ns=${1:-} d enc i
	d=$TEST_TMP/ldap
	mkdir -p "$d/data"
	# shellcheck disable=SC2034  # for the tests that source this
	LDAP_DIR=$d
	LDAP_NS=$ns
	LDAP_ROOTPW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	enc=$(printf '%s' "$d/ldapi" | jq -sRr @uri)
	LDAP_LDAPI="ldapi://$enc"
	LDAP_URI="ldap://127.0.0.1:$LDAP_PORT"
	_ldap_certs "$d" || return 1
	_ldap_conf "$d"
	_ldap_data "$d"
	# -d 0: stay in the foreground (our child, stopped at exit); no -u: the
	# files are root's anyway.
	_ldap_ns_run "$ns" slapd -d 0 -f "$d/slapd.conf" -h "$LDAP_LDAPI $LDAP_URI/" \
		>"$d/slapd.log" 2>&1 &
	LDAP_PID=$!
	at_exit "kill $LDAP_PID"
	for ((i = 0; i < 100; i++)); do
		ldapsearch -x -H "$LDAP_LDAPI" -b "" -s base namingContexts >/dev/null 2>&1 && break
		if ! kill -0 "$LDAP_PID" 2>/dev/null; then
			diag "slapd exited: $(tail -n 5 "$d/slapd.log")"
			return 1
		fi
		sleep 0.1
	done
	ldapadd -x -H "$LDAP_LDAPI" -D "cn=admin,$LDAP_BASE" -w "$LDAP_ROOTPW" -f "$d/data.ldif" \
		>"$d/ldapadd.log" 2>&1 || {
		diag "ldapadd failed: $(tail -n 5 "$d/ldapadd.log")"
		return 1
	}
}

# webd_start [EXTRA_JSON]: self-signed certificate for $SW_C_IP4, webd.json,
# tandem-webd in the switch namespace next to lbd; waits until it answers
# over HTTPS from c1.  EXTRA_JSON (e.g. '"login_rate": {...},') is inserted
# at the top of the configuration.  Uses LDAP_URI when slapd runs in the
# switch namespace (TCP, as in production), else LDAP_LDAPI (set
# WEBD_LDAP_URI to choose).  WEBD_LDAP_SEARCH=1: find users by an LDAP
# search under a service bind instead of a DN template.
webd_start() {
	local extra=${1:-} d www
	d=$TEST_TMP/webd
	mkdir -p "$d"
	# shellcheck disable=SC2034  # for the tests that source this
	WEBD_DIR=$d
	WEBD_CONF=$d/webd.json
	WEBD_LOG=$d/webd.log
	WEBD_CA=$d/webd.crt
	WEBD_URL="https://$SW_C_IP4:$WEBD_PORT"
	www=${WEBD_WWW:-$REPO/mgmt-web/www}
	[ -d "$www" ] || { mkdir -p "$d/www" && www=$d/www; }
	WEBD_WWW=$www
	if [ -z "${WEBD_LDAP_URI:-}" ]; then
		case "${LDAP_NS:-}" in
		sw | "$NS_SW") WEBD_LDAP_URI=$LDAP_URI ;;
		*) WEBD_LDAP_URI=$LDAP_LDAPI ;;
		esac
	fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=tandem-webd" -addext "subjectAltName=IP:$SW_C_IP4,IP:$SW_C_IP6" \
		-keyout "$d/webd.key" -out "$d/webd.crt" >"$d/openssl.log" 2>&1 || {
		diag "openssl: $(tail -n 3 "$d/openssl.log")"
		return 1
	}
	chmod 600 "$d/webd.key"
	# WEBD_LDAP_SEARCH=1: search-then-bind (a service bind, a subtree search
	# for the user's entry) instead of the DN template
	local who="\"user_dn_template\": \"uid=%s,ou=people,$LDAP_BASE\","
	# WEBD_LDAP_STARTTLS=1: StartTLS, verified against WEBD_LDAP_CA (default
	# the test CA that signed slapd's certificate)
	local tls=""
	if [ "${WEBD_LDAP_STARTTLS:-0}" = 1 ]; then
		tls="\"starttls\": true, \"ca_file\": \"${WEBD_LDAP_CA:-$LDAP_DIR/ca.crt}\","
	elif [ "${WEBD_LDAP_URI#ldap://}" != "$WEBD_LDAP_URI" ]; then
		# plain ldap:// to the test's own slapd on 127.0.0.1: webd refuses
		# that (passwords in clear) unless told it is a lab
		tls="\"allow_cleartext\": true,"
	fi
	if [ "${WEBD_LDAP_SEARCH:-0}" = 1 ]; then
		printf '%s' "$LDAP_ROOTPW" >"$d/bind.pw"
		chmod 600 "$d/bind.pw"
		who="\"search\": { \"base\": \"ou=people,$LDAP_BASE\", \"filter\": \"(uid=%s)\",
      \"bind_dn\": \"cn=admin,$LDAP_BASE\", \"bind_password_file\": \"$d/bind.pw\" },"
	fi
	cat >"$WEBD_CONF" <<EOF
{
  $extra
  "listen": "$SW_C_IP4:$WEBD_PORT",
  "cert": "$d/webd.crt",
  "key": "$d/webd.key",
  "www": "$www",
  "lbd_socket": "$LBD_SOCK",
  "config_path": "$LBD_CONF",
  "ldap": {
    "uri": "$WEBD_LDAP_URI",
    $who
    $tls
    "admin_group": "$LDAP_ADMINS",
    "viewer_group": "$LDAP_VIEWERS",
    "timeout_ms": 3000
  },
  "session_idle_s": 600
}
EOF
	"$WEBD_BIN" -t -c "$WEBD_CONF" >"$d/check.log" 2>&1 || {
		diag "tandem-webd -t: $(cat "$d/check.log")"
		return 1
	}
	setsid ip netns exec "$NS_SW" "$WEBD_BIN" -v -c "$WEBD_CONF" </dev/null >>"$WEBD_LOG" 2>&1 &
	WEBD_PID=$!
	at_exit "kill $WEBD_PID"
	# shellcheck disable=SC2317  # called through wait_for
	_webd_up() { in_ns c1 curl -sS -m 2 --cacert "$WEBD_CA" -o /dev/null "$WEBD_URL/api/v1/session"; }
	if ! wait_for 10 _webd_up; then
		diag "tandem-webd does not answer on $WEBD_URL: $(tail -n 10 "$WEBD_LOG")"
		return 1
	fi
}

# webd_stop: stop the tandem-webd of webd_start (to start it again with
# another configuration).
webd_stop() {
	kill "$WEBD_PID" 2>/dev/null
	wait_for 5 pid_gone "$WEBD_PID"
}

# api HOST METHOD PATH [CURL ARGS...]: an API call from HOST; prints the body
# and then a last line "HTTP NNN".  Use a cookie jar with -b/-c FILE.
api() {
	local h=$1 m=$2 p=$3
	shift 3
	in_ns "$h" curl -sS -m 20 --cacert "$WEBD_CA" -X "$m" -w '\nHTTP %{http_code}\n' "$@" \
		"$WEBD_URL$p"
}

# api_login HOST USER PASSWORD JAR [CURL ARGS...]: log in, keep the cookie
# in JAR; prints the JSON reply (user, role, csrf) and "HTTP NNN".
api_login() {
	api "$1" POST /api/v1/login -c "$4" -H 'Content-Type: application/json' "${@:5}" \
		--data-binary "$(jq -cn --arg u "$2" --arg p "$3" '{user: $u, password: $p}')"
}
