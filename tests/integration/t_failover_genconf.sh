#!/bin/bash
# tandem-failover genconf: the keepalived.conf generated from an appliance
# config is accepted by the real keepalived (--config-test), holds what the
# config says, and the notify/check hooks behave when the daemons are absent.
#
#   tdm-gcPID: a namespace holding only eth0 and eth1 (a veth pair), so
#   keepalived's config test finds the interfaces it is told to use.
#
#   appliance config --tandem-failover genconf--> keepalived.conf --keepalived -t--> ok
. "$(dirname "$0")/lib.sh"

require_root
require_cmd keepalived ip
[ -x "$TANDEM_BUILD/tandem-failover" ] || skip_all "no $TANDEM_BUILD/tandem-failover (run make)"
# keepalived runs scripts only from paths no other user can write: a copy
# under /run (TEST_TMP is under /tmp, which everyone can write).
SAFE=/run/tandem-test-$$
at_exit "rm -rf $SAFE"
mkdir -m 755 "$SAFE"
install -m 755 "$TANDEM_BUILD/tandem-failover" "$SAFE/tandem-failover"
FO=$SAFE/tandem-failover
conf=$TEST_TMP/tandem.json
cat >"$conf" <<JSON
{
  "instance": "t", "client_interface": "eth0", "storage_interface": "eth1",
  "control_socket": "$TEST_TMP/lbd.sock",
  "nodes": [ { "name": "n1", "address": "10.77.2.11" } ],
  "vips": [ { "name": "v4", "address": "10.77.1.100", "services": [ { "proto": "tcp", "port": 80 } ] },
            { "name": "v6", "address": "fd77:1::100", "services": [ { "proto": "tcp", "port": 80 } ] } ],
  "sync": { "switch_id": 7, "local": "10.77.9.1", "peer": "10.77.9.2", "key_file": "$TEST_TMP/k",
            "control_socket": "$TEST_TMP/syncd.sock" },
  "vrrp": { "router_id": 60, "priority": 120, "advert_int_ms": 250, "notify": "$SAFE/tandem-failover",
            "client_gateways": [ "10.77.1.1/24" ], "storage_gateways": [ "10.77.2.1/24", "fd77:2::1/64" ] }
}
JSON
ka=$TEST_TMP/keepalived.conf
check "genconf writes a configuration" "$FO" -c "$conf" genconf -o "$ka"
NS=tdm-gc$$
at_exit "ip netns del $NS 2>/dev/null || true"
ip netns add "$NS"
ip -n "$NS" link add eth0 type veth peer name eth1
check "keepalived --config-test accepts it" ip netns exec "$NS" keepalived -t -f "$ka" -l
check_grep() { grep -qE "$2" "$ka" || { fail "$1" "pattern: $2"; return; }; ok "$1"; }
check_grep "VRRPv3" "vrrp_version 3"
check_grep "one sync group of both instances" "vrrp_sync_group tandem"
check_grep "client instance on eth0 with router id 60" "virtual_router_id 60"
check_grep "storage instance with router id 61" "virtual_router_id 61"
check_grep "priority from the config" "priority 120"
check_grep "advert interval 0.25 s" "advert_int 0\.25"
check_grep "IPv4 VIP moves with the client instance" "10\.77\.1\.100/32 dev eth0"
check_grep "IPv6 VIP as an excluded address" "fd77:1::100/128 dev eth0"
check_grep "storage gateway" "10\.77\.2\.1/24 dev eth1"
# excluded INSTANCE: "ADDRESS DEV" of INSTANCE's virtual_ipaddress_excluded
# block (VRRPv3 adverts are single-family: the v6 addresses ride along)
excluded() {
	awk -v inst="$1" '$1 == "vrrp_instance" { cur = $2 } cur == inst && /virtual_ipaddress_excluded/ { e = 1; next }
		e && /}/ { e = 0 } e { print $1, $3 }' "$ka" | paste -sd' '
}
check_eq "client instance: the v6 VIP moves with it, excluded from its v4 adverts" \
	"fd77:1::100/128 eth0" "$(excluded client)"
check_eq "storage instance: the v6 storage gateway moves with it (the nodes' v6 route)" \
	"fd77:2::1/64 eth1" "$(excluded storage)"
check_grep "track script is tandem-failover check" "script \".*tandem-failover -c .* check\""
check_grep "notify hook is tandem-failover notify" "notify \".*tandem-failover -c .* notify\""
check_grep "GARP again when a split brain heals" "garp_lower_prio_repeat"
check_grep "the master repeats its GARPs" "garp_master_refresh 2"
check_grep "the VRRP process runs real-time (default rt_priority 50)" "vrrp_rt_priority 50"
check_grep "... and may use 200 ms of CPU between blocking calls" "vrrp_rlimit_rttime 200000"
check_grep "... with its memory locked" "vrrp_no_swap"
# The defaults: adverts every 20 ms (crash takeover under 100 ms); rt_priority 0
# turns real-time scheduling off.
jq 'del(.vrrp.advert_int_ms) | .vrrp.rt_priority = 0' "$conf" >"$TEST_TMP/defaults.json"
check "genconf with the default advert interval, no real-time" \
	"$FO" -c "$TEST_TMP/defaults.json" genconf -o "$TEST_TMP/defaults.conf"
check_eq "default advert interval 0.02 s, both instances" 2 "$(grep -c 'advert_int 0\.02$' "$TEST_TMP/defaults.conf")"
check_eq "rt_priority 0: no real-time scheduling" 0 "$(grep -c 'vrrp_rt_priority\|vrrp_no_swap' "$TEST_TMP/defaults.conf")"
check "keepalived --config-test accepts it" ip netns exec "$NS" keepalived -t -f "$TEST_TMP/defaults.conf" -l
jq '.vrrp.rt_priority = 100' "$conf" >"$TEST_TMP/rt100.json"
if "$FO" -c "$TEST_TMP/rt100.json" genconf -o "$TEST_TMP/rt100.conf" 2>"$TEST_TMP/rt100.err"; then
	fail "rt_priority 100 is refused"
else
	ok "rt_priority 100 is refused: $(head -c 120 "$TEST_TMP/rt100.err")"
fi

# Hooks without daemons: check fails (exit 1), notify reports the failure.
if "$FO" -c "$conf" check 2>"$TEST_TMP/check.err"; then
	fail "check fails while lbd is not running"
else
	ok "check fails while lbd is not running ($(head -c 80 "$TEST_TMP/check.err"))"
fi
rc=0
"$FO" -c "$conf" notify GROUP tandem MASTER 2>/dev/null || rc=$?
check_eq "notify exits 1 when lbd/syncd cannot be told" 1 "$rc"
rc=0
"$FO" -c "$conf" notify INSTANCE client MASTER || rc=$?
check_eq "per-instance notify lines are ignored (exit 0)" 0 "$rc"
rc=0
"$FO" -c "$conf" notify GROUP tandem SIDEWAYS 2>/dev/null || rc=$?
check_eq "an unknown state is a usage error (exit 2)" 2 "$rc"
# Active-active: vrrp.groups, as switch 7 (prefers g1) and switch 8 (prefers g2).
aa=$TEST_TMP/aa.json
jq '.vips += [ { "name": "v4b", "address": "10.77.1.101", "services": [ { "proto": "tcp", "port": 80 } ] } ] |
    .vrrp.groups = [ { "name": "g1", "vips": [ "v4", "v6" ], "preferred": 7 },
                     { "name": "g2", "vips": [ "v4b" ], "preferred": 8 } ]' "$conf" >"$aa"
check "genconf writes an active-active configuration" "$FO" -c "$aa" genconf -o "$ka"
check "keepalived --config-test accepts it" ip netns exec "$NS" keepalived -t -f "$ka" -l
check_grep "group g1: a sync group with the storage instance" "vrrp_sync_group tandem-g1"
check_grep "group g2: a lone instance client-g2" "vrrp_instance client-g2"
inst() { awk -v n="$1" '$1 == "vrrp_instance" { on = ($2 == n) } on' "$ka"; }
check_eq "client-g1: router id 60, priority 120 (preferred here), VIP4 and VIP6" \
	"60 120 1 1 0" "$(inst client-g1 | awk '/virtual_router_id/ { r = $2 } /priority/ { p = $2 }
		/10\.77\.1\.100\// { a++ } /fd77:1::100\// { b++ } /10\.77\.1\.101\// { c++ }
		END { print r, p, a + 0, b + 0, c + 0 }')"
check_eq "client-g2: router id 62, backup priority 50, VIP4B only, its own notify" \
	"62 50 0 1 1" "$(inst client-g2 | awk '/virtual_router_id/ { r = $2 } /priority/ { p = $2 }
		/10\.77\.1\.100\// { a++ } /10\.77\.1\.101\// { c++ } /notify/ { n++ }
		END { print r, p, a + 0, c + 0, n + 0 }')"
check_eq "the gateways go with g1 only" "0" "$(inst client-g2 | grep -c '10\.77\.1\.1/24')"
rc=0
"$FO" -c "$aa" notify INSTANCE client-g2 MASTER 2>/dev/null || rc=$?
check_eq "notify for group g2 (a lone instance) tells the daemons (exit 1: none runs)" 1 "$rc"
rc=0
"$FO" -c "$aa" notify INSTANCE client-g1 MASTER || rc=$?
check_eq "g1's instance lines are ignored: its sync group speaks (exit 0)" 0 "$rc"
rc=0
"$FO" -c "$aa" notify GROUP tandem MASTER || rc=$?
check_eq "the active-standby group name means nothing with groups (exit 0)" 0 "$rc"
# A config without vrrp cannot be turned into a keepalived.conf.
sed '/"vrrp"/,/}$/d; s/"control_socket": "[^"]*syncd.sock" },/"control_socket": "x" }/' "$conf" >"$TEST_TMP/novrrp.json"
if "$FO" -c "$TEST_TMP/novrrp.json" genconf >/dev/null 2>"$TEST_TMP/e"; then
	fail "genconf refuses a config without vrrp"
else
	ok "genconf refuses a config without vrrp: $(cat "$TEST_TMP/e")"
fi
finish
