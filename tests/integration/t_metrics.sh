#!/bin/bash
# t_metrics: Prometheus scrapes the switch's and the nodes' /metrics, and its
# figures equal tandemctl's and tandem-nasd's after known traffic.
#
#   c1, c2 --- brc --- eth0 10.77.1.1 [sw: lbd, tandem-webd :8443 (HTTPS /metrics),
#                                      plain /metrics on 10.77.2.1:9101,
#                                      slapd, prometheus 127.0.0.1:9090]
#                       br1 10.77.2.1 --- n1 n2 n3 (tandem-nasd: HTTP, NFS, handoff,
#                                                   /metrics on 10.77.2.1X:9100)
#
#  1. webd -t describes the metrics section; /metrics: no token 401 (with
#     WWW-Authenticate: Bearer), a wrong token 403, the token 200 (text
#     format 0.0.4), a client certificate of the scrapers' CA 200, one of
#     another CA 401; the plain listener wants the token too and serves
#     nothing else (404); nasd's listener the same (401, 200).
#  2. `promtool check metrics` finds no problem in raw scrapes of webd and nasd.
#  3. Debian's prometheus (config, storage in TEST_TMP, 1 s scrapes) scrapes
#     webd with the bearer token and with a client certificate, the nodes
#     with the token; a job with a wrong token is down (refused).
#  4. Known traffic: 20 connections through the VIP, a 1 MiB download
#     (sha256 checked), an NFS read of a known file, an operator handoff of
#     a live download, a VRRP role change, logins (one wrong, one right).
#  5. After the traffic, once Prometheus has scraped again: every per-node,
#     per-service and verdict counter, flows, role changes, handoff counts
#     and latency histograms, nasd's requests/bytes/NFS ops equal what
#     tandemctl and the nodes' control sockets say (exactly), and the
#     traffic's own figures are in them (20 + 1 new flows, 1 MiB served).
#  6. appliance/grafana/tandem.json parses and every metric its panels
#     query exists in Prometheus.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
. "$(dirname "$0")/lib_ldap.sh"
require_nasd
require_webd
require_cmd prometheus promtool nfs-cat openssl curl jq python3
TEST_TIMEOUT=420
export LAB_NFS=1	# the VIP's NFS services (tcp/111, tcp/2049)
handoff_lab_up

TOKEN_FILE=$TEST_TMP/metrics.token
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN_FILE")
TOKEN=$(cat "$TOKEN_FILE")
SW_S_IP4=10.77.2.1

# the nodes: tandem-nasd with handoff, NFS and its /metrics listener
nasd_extra_json() {
	echo "\"metrics\": { \"listen\": \"$(node_ip4 "$1"):9100\", \"token_file\": \"$TOKEN_FILE\" },"
}
export NASD_NFS=1
nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3
svc3() { [ "$(svc_nodes v4 tcp "$1")" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3 2049
echo "metrics test file" >"$LAB_DIR/nfs/hello.txt"
head -c 300000 /dev/urandom >"$LAB_DIR/nfs/data.bin"

# ---- the scrapers' CA and two client certificates (one of another CA)
cert() {	# cert DIR NAME CA_NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$3" -keyout "$1/$3.key" -out "$1/$3.crt" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
		-keyout "$1/$2.key" -out "$1/$2.csr" &&
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.crt" -CAkey "$1/$3.key" -CAcreateserial \
		-days 2 -out "$1/$2.crt"
} >>"$TEST_TMP/openssl.log" 2>&1
PKI=$TEST_TMP/pki
mkdir -p "$PKI"
check "a scrapers' CA and a client certificate" cert "$PKI" prometheus scrapers-ca
check "another CA and its client certificate" cert "$PKI" intruder other-ca

if ! ldap_start sw; then
	fail "slapd starts with the test directory"
	finish
fi
if ! webd_start "\"metrics\": { \"token_file\": \"$TOKEN_FILE\", \"client_ca\": \"$PKI/scrapers-ca.crt\",
		\"listen\": \"$SW_S_IP4:9101\" },"; then
	fail "tandem-webd starts with a metrics section"
	finish
fi
ok "tandem-webd answers on $WEBD_URL"

# ---- 1. who may scrape
check "webd -t describes the metrics section" grep -q \
	"metrics: /metrics for the bearer token in $TOKEN_FILE or a client certificate of $PKI/scrapers-ca.crt; plain HTTP on $SW_S_IP4:9101 with the bearer token" \
	"$WEBD_DIR/check.log"
scrape() {	# scrape HOST URL [CURL ARGS]: the body, then "HTTP <code>" on the last line
	local h=$1 u=$2
	shift 2
	in_ns "$h" curl -sS -m 10 -w '\nHTTP %{http_code}\n' "$@" "$u"
}
code() { tail -n 1 <<<"$1" | awk '{ print $2 }'; }
M=$WEBD_URL/metrics
o=$(scrape c1 "$M" --cacert "$WEBD_CA" -D "$TEST_TMP/h401")
check_eq "/metrics without credentials: 401" 401 "$(code "$o")"
check "401 asks for a bearer token" grep -qi '^www-authenticate: bearer' "$TEST_TMP/h401"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" -H "Authorization: Bearer ${TOKEN//[0-9]/f}")
check_eq "/metrics with a wrong token: 403" 403 "$(code "$o")"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" -H "Authorization: Basic dXNlcjpwYXNz")
check_eq "/metrics with Basic credentials: 401" 401 "$(code "$o")"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" -H "Authorization: Bearer $TOKEN" -D "$TEST_TMP/h200")
check_eq "/metrics with the token: 200" 200 "$(code "$o")"
check "Content-Type text/plain; version=0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$TEST_TMP/h200"
check "the page has lbd's figures" grep -q '^tandem_daemon_up{daemon="lbd"} 1$' <<<"$o"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" --cert "$PKI/prometheus.crt" --key "$PKI/prometheus.key")
check_eq "/metrics with a client certificate of the scrapers' CA: 200" 200 "$(code "$o")"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" --cert "$PKI/intruder.crt" --key "$PKI/intruder.key")
check_eq "/metrics with a certificate of another CA: 401" 401 "$(code "$o")"
o=$(scrape c1 "$M" --cacert "$WEBD_CA" -X POST -H "Authorization: Bearer $TOKEN")
check_eq "POST /metrics: 405" 405 "$(code "$o")"
P=http://$SW_S_IP4:9101
check_eq "plain listener without the token: 401" 401 "$(code "$(scrape n1 "$P/metrics")")"
check_eq "plain listener with the token: 200" 200 \
	"$(code "$(scrape n1 "$P/metrics" -H "Authorization: Bearer $TOKEN")")"
check_eq "plain listener serves nothing but /metrics: 404" 404 \
	"$(code "$(scrape n1 "$P/api/v1/status" -H "Authorization: Bearer $TOKEN")")"
N1M=http://$(node_ip4 n1):9100/metrics
check_eq "nasd's /metrics without the token: 401" 401 "$(code "$(scrape sw "$N1M")")"
o=$(scrape sw "$N1M" -H "Authorization: Bearer $TOKEN")
check_eq "nasd's /metrics with the token: 200" 200 "$(code "$o")"
check "nasd's page names its node" grep -q '^tandem_nasd_http_requests_total{node="n1"} ' <<<"$o"

# ---- 2. promtool's lint on raw scrapes
scrape c1 "$M" --cacert "$WEBD_CA" -H "Authorization: Bearer $TOKEN" | sed '$d' >"$TEST_TMP/webd.prom"
scrape sw "$N1M" -H "Authorization: Bearer $TOKEN" | sed '$d' >"$TEST_TMP/nasd.prom"
for f in webd nasd; do
	if promtool check metrics <"$TEST_TMP/$f.prom" >"$TEST_TMP/$f.lint" 2>&1 &&
		[ ! -s "$TEST_TMP/$f.lint" ]; then
		ok "promtool check metrics: no problem in $f's page ($(grep -c '^# TYPE' "$TEST_TMP/$f.prom") families)"
	else
		fail "promtool check metrics on $f's page" "$(head -n 10 "$TEST_TMP/$f.lint")"
	fi
done

# ---- 3. prometheus
PROM=$TEST_TMP/prometheus
mkdir -p "$PROM/data"
cat >"$PROM/prometheus.yml" <<EOF
global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: switch
    scheme: https
    tls_config: { ca_file: $WEBD_CA }
    authorization: { type: Bearer, credentials_file: $TOKEN_FILE }
    static_configs: [ { targets: ['$SW_C_IP4:$WEBD_PORT'] } ]
  - job_name: switch-mtls
    scheme: https
    tls_config: { ca_file: $WEBD_CA, cert_file: $PKI/prometheus.crt, key_file: $PKI/prometheus.key }
    static_configs: [ { targets: ['$SW_C_IP4:$WEBD_PORT'] } ]
  - job_name: switch-wrong-token
    scheme: https
    tls_config: { ca_file: $WEBD_CA }
    authorization: { type: Bearer, credentials: '${TOKEN//[0-9]/f}' }
    static_configs: [ { targets: ['$SW_C_IP4:$WEBD_PORT'] } ]
  - job_name: nodes
    authorization: { type: Bearer, credentials_file: $TOKEN_FILE }
    static_configs: [ { targets: ['$(node_ip4 n1):9100', '$(node_ip4 n2):9100', '$(node_ip4 n3):9100'] } ]
EOF
check "promtool check config" promtool check config "$PROM/prometheus.yml"
setsid ip netns exec "$NS_SW" prometheus --config.file="$PROM/prometheus.yml" \
	--storage.tsdb.path="$PROM/data" --web.listen-address=127.0.0.1:9090 \
	</dev/null >"$PROM/log" 2>&1 &
PROM_PID=$!
at_exit "kill $PROM_PID"

# pq QUERY: the value of an instant query's first result ("none" without one).
pq() {
	in_ns sw curl -sS -m 5 --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
		jq -r '.data.result[0].value[1] // "none"'
}
# pqs QUERY LABEL: "LABEL-value value" lines of every result, sorted.
pqs() {
	in_ns sw curl -sS -m 5 --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query |
		jq -r --arg l "$2" '.data.result[] | "\(.metric[$l]) \(.value[1])"' | sort
}
targets_up() {
	[ "$(pq 'sum(up{job="switch"}) + sum(up{job="switch-mtls"}) + sum(up{job="nodes"})')" = 5 ] &&
		[ "$(pq 'up{job="switch-wrong-token"}')" = 0 ]
}
if ! check "prometheus scrapes webd (token, certificate) and the 3 nodes; a wrong token is refused" \
	wait_for 60 targets_up; then
	diag "$(in_ns sw curl -sS -m 5 http://127.0.0.1:9090/api/v1/targets | jq -c '.data.activeTargets[] | {job: .labels.job, health, lastError}')"
	diag "$(tail -n 5 "$PROM/log")"
	finish
fi

# ---- 4. known traffic
lbd_req() {	# lbd_req JSON: one request on lbd's control socket
	python3 - "$LBD_SOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); print(s.recv(65536).decode().strip())
EOF
}
before_new=$(jctl stats | jq '[.nodes[].new_flows] | add')
before_served=$(for n in n1 n2 n3; do nctl "$n" '{"cmd":"status"}'; done | jq -s '[.[].bytes_served] | add')
for i in $(seq 1 20); do
	in_ns c1 curl -sS -m 10 -o /dev/null "http://$VIP4/node" || fail "connection $i through the VIP"
done
check "a 1 MiB download through the VIP, sha256 correct" sh -c \
	"ip netns exec $NS_C2 curl -sS -m 30 -o $TEST_TMP/1m.bin http://$VIP4/1m.bin &&
	 [ \"\$(sha256sum <$TEST_TMP/1m.bin | cut -d' ' -f1)\" = $(want_sha 1m.bin) ]"
check_eq "NFS read of a known file through the VIP" "metrics test file" \
	"$(in_ns c1 timeout 20 nfs-cat "nfs://$VIP4/export/hello.txt")"
check "NFS read of 300000 bytes" sh -c "ip netns exec $NS_C1 timeout 30 nfs-cat nfs://$VIP4/export/data.bin | cmp - $LAB_DIR/nfs/data.bin"
# a live session handed to another node by the operator
in_ns c1 curl -sS -m 60 -o /dev/null "http://$VIP4/slow/10m.bin" &
slow_pid=$!
wait_for 5 has_session '.path == "/slow/10m.bin"'
read -r X CEP < <(find_session '.path == "/slow/10m.bin"')
if [ -n "${CEP:-}" ] && ctl handoff "$C1_IP4:${CEP##*:}" "$VIP4:80" "$(other "$X")" >"$TEST_TMP/ho.out" 2>&1; then
	ok "operator handoff of a live download from $X"
else
	fail "operator handoff of a live download" "$(cat "$TEST_TMP/ho.out" 2>/dev/null)"
fi
kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null
role_master() { lbd_req '{"cmd":"role","role":"master"}' | grep -q '"ok": *true'; }
check "VRRP role change: keepalived's hook would tell lbd master" role_master
o=$(api_login c1 alice wrong-pw "$TEST_TMP/x.jar")
check_eq "a wrong console login" 401 "$(tail -n 1 <<<"$o" | awk '{ print $2 }')"
o=$(api_login c1 alice alice-pw "$TEST_TMP/x.jar")
check_eq "a right console login" 200 "$(tail -n 1 <<<"$o" | awk '{ print $2 }')"

# ---- 5. after the traffic, once every job was scraped again
slow_gone() { ! has_session '.path == "/slow/10m.bin"'; }
check "the handed-off download's session is gone from the nodes" wait_for 15 slow_gone
# settled: the data plane's counters hold still for a second (the last
# segments of the connections are through)
settled() {
	local a
	a=$(jctl stats | jq -c '[.nodes[] | [.packets, .bytes, .flows]], [.vips[].services[].packets]')
	sleep 1
	[ "$a" = "$(jctl stats | jq -c '[.nodes[] | [.packets, .bytes, .flows]], [.vips[].services[].packets]')" ]
}
check "the switch's counters settle after the traffic" wait_for 30 settled
t_end=$(date +%s.%N)
scraped_since() {
	awk -v a="$(pq 'min(timestamp(up{job=~"switch|nodes"}))')" -v b="$t_end" 'BEGIN { exit !(a > b + 0.2) }'
}
check "prometheus scraped every target after the traffic" wait_for 30 scraped_since
J=$TEST_TMP/now
jctl stats >"$J.stats"
jctl status >"$J.status"
for n in n1 n2 n3; do nctl "$n" '{"cmd":"status"}' >"$J.$n"; done

# eq DESC QUERY LABEL JQ_FILE JQ: Prometheus's "label value" lines = jq's.
eq() {
	local want got
	got=$(pqs "$2" "$3")
	want=$(jq -r "$5" "$4" | sort)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "$1 ($(wc -l <<<"$want") series)"
	else
		fail "$1" "prometheus: $(tr '\n' ' ' <<<"$got")" "tandemctl: $(tr '\n' ' ' <<<"$want")"
	fi
}
S='{job="switch"}'
for c in packets bytes new_flows handoffs_in handoffs_out flows; do
	f=tandem_node_${c}_total
	[ "$c" = flows ] && f=tandem_node_flows
	eq "$f per node = tandemctl nodes .$c" "$f$S" node "$J.stats" ".nodes[] | \"\(.name) \(.$c)\""
done
eq "tandem_node_up per node = tandemctl nodes state" "tandem_node_up$S" node "$J.stats" \
	'.nodes[] | "\(.name) \(if .state == "up" then 1 else 0 end)"'
eq "tandem_node_health_up per node and service = tandemctl" \
	"sum by (node) (tandem_node_health_up$S)" node "$J.stats" '.nodes[] | "\(.name) \([.health[] | select(.ok)] | length)"'
for c in packets bytes new_flows; do
	eq "tandem_vip_${c}_total per VIP service = tandemctl vips" \
		"sum by (vip) (tandem_vip_${c}_total$S)" vip "$J.stats" \
		".vips[] | \"\(.name) \([.services[].$c] | add)\""
done
for v in fwd_hit fwd_new fwd_midstream drop_no_node; do
	check_eq "tandem_verdicts_total{verdict=\"$v\"} = tandemctl stats" \
		"$(jq -r ".verdicts.$v" "$J.stats")" "$(pq "tandem_verdicts_total{job=\"switch\",verdict=\"$v\"}")"
done
check_eq "tandem_flows = tandemctl status flows" "$(jq -r .flows "$J.status")" "$(pq "tandem_flows$S")"
check_eq "tandem_vrrp_role_changes_total = lbd status role_changes (1: init -> master)" \
	"1 1" "$(jq -r .role_changes "$J.status") $(pq "tandem_vrrp_role_changes_total$S")"
check_eq "tandem_vrrp_role{role=\"master\"} = 1" 1 "$(pq "tandem_vrrp_role{job=\"switch\",role=\"master\"}")"
check_eq "handoff MOVEs ok = lbd status handoffs.ok (1)" "1 1" \
	"$(jq -r .handoffs.ok "$J.status") $(pq "tandem_handoff_moves_total{job=\"switch\",result=\"ok\"}")"
check_eq "MOVE duration histogram: count 1, sum (µs) = lbd's" \
	"1 $(jq -r '.handoffs.duration.sum_us' "$J.status")" \
	"$(pq "tandem_handoff_move_duration_seconds_count$S") $(pq "tandem_handoff_move_duration_seconds_sum$S" |
		awk '{ printf "%.0f", $1 * 1e6 }')"
new=$(jq '[.nodes[].new_flows] | add' "$J.stats")
check_le "the traffic's 20 + 1 + 1 (+ NFS) connections are new flows" $((before_new + 22)) "$new"
check_eq "the switch's page counts the logins: 1 success, 1 failure" "1 1" \
	"$(pq "tandem_webd_logins_total{job=\"switch\",result=\"success\"}") $(pq "tandem_webd_logins_total{job=\"switch\",result=\"failure\"}")"

# the nodes: nasd's own figures, by its control socket
N='{job="nodes"}'
nodes_jq() { for n in n1 n2 n3; do jq -r "$1" "$J.$n"; done; }
nq() {	# nq DESC SELECTOR JQ: per node, Prometheus's = the node's status reply
	local want got
	want=$(nodes_jq "\"\(.node) \($3)\"" | sort)
	got=$(pqs "$2" node)
	check_eq "$1" "$want" "$got"
}
nq "nasd requests per node = status requests" "tandem_nasd_http_requests_total$N" .requests
nq "nasd bytes sent per node = status bytes_served" "tandem_nasd_http_sent_bytes_total$N" .bytes_served
nq "nasd NFS READs per node = status nfs.procs.read" \
	'tandem_nasd_nfs_ops_total{job="nodes",procedure="read"}' .nfs.procs.read
nq "nasd NFS bytes read per node = status nfs.bytes_read" "tandem_nasd_nfs_read_bytes_total$N" .nfs.bytes_read
nq "nasd handoffs out ok per node = status handoff.out_ok" \
	'tandem_nasd_handoffs_total{job="nodes",direction="out",result="ok"}' .handoff.out_ok
nq "nasd frozen-time histogram count per node = status handoff.frozen.count" \
	"tandem_nasd_handoff_frozen_seconds_count$N" .handoff.frozen.count
served=$(nodes_jq .bytes_served | awk '{ s += $1 } END { print s }')
check_le "the nodes served the 1 MiB download (bytes_served grew by >= 1048576)" \
	$((before_served + 1048576)) "$served"
check_le "NFS: at least 300000 bytes read" 300000 "$(pq "sum(tandem_nasd_nfs_read_bytes_total$N)" | cut -d. -f1)"
check_eq "one handoff done on the nodes, one frozen time recorded" "1 1" \
	"$(pq "sum(tandem_nasd_handoffs_total{job=\"nodes\",direction=\"out\",result=\"ok\"})") $(pq "sum(tandem_nasd_handoff_frozen_seconds_count$N)")"

# ---- 6. the Grafana dashboard's queries name metrics that exist
DASH=$REPO/appliance/grafana/tandem.json
if jq -e '.panels | length > 0' "$DASH" >/dev/null 2>&1; then
	ok "appliance/grafana/tandem.json parses ($(jq '.panels | length' "$DASH") panels)"
else
	fail "appliance/grafana/tandem.json parses"
fi
in_ns sw curl -sS -m 5 http://127.0.0.1:9090/api/v1/label/__name__/values | jq -r '.data[]' >"$TEST_TMP/names"
# This lab's switch runs no tandem-syncd (a pair does), so the sync
# families have no samples here: those names are held to the families
# webd's page declares (mgmt-web/metrics_page.c) instead.
missing="" nosync=""
for m in $(jq -r '.. | objects | select(has("expr")) | .expr' "$DASH" | grep -oE '\btandem_[a-z0-9_]+' | sort -u); do
	grep -qx "$m" "$TEST_TMP/names" && continue
	if [[ $m == tandem_sync_* ]] && [ "$(pq 'tandem_daemon_up{daemon="syncd"}')" = none ] &&
		grep -q "{ \"${m%_bucket}\", " "$REPO/mgmt-web/metrics_page.c"; then
		nosync+=" $m"
	else
		missing+=" $m"
	fi
done
check_eq "every metric the dashboard queries is in Prometheus" "" "$missing"
diag "sync families (no syncd in this lab), declared by webd's page:$nosync"
check "lbd, nasd and webd still running" sh -c "kill -0 $(lbd_pid) && kill -0 $WEBD_PID && kill -0 $(nasd_pid n1)"

finish
