# shellcheck shell=bash
# lab-bgp.sh - scale-out mode (LAB_BGP=N lab.sh up NAME, N 2..4, default 3):
# N switches behind an upstream router that spreads the VIP's flows over
# them by ECMP, each switch announcing the VIP by BGP (BIRD 2) while its
# lbd says it can serve it; BFD between the router and every switch.
# Commands: member-start, member-stop, member-links, router-bird.  Sourced
# by lab.sh.
#
#   c1 .10  c2 .11  c3 .12          client LAN 10.77.3.0/24 (bridge brc)
#        |     |     |
#        +-----+-----+--- eth0 .1 [r] BIRD: AS 65000, ECMP (merge paths),
#                              eth1 .1   fib_multipath_hash_policy=1, BFD
#                               |        uplink 10.77.5.0/24 (bridge brx)
#          +--------------------+--------------------+
#      eth0 .11             eth0 .12             eth0 .13
#      [sw1]                [sw2]                [sw3]    lbd + BPF on eth0,
#      eth1 .2              eth1 .3              eth1 .4  BIRD AS 65001
#          +--------------------+--------------------+--- eth2 .1 [r]
#                        n1 .11  n2 .12  n3 .13           storage LAN
#                                                          10.77.2.0/24 (brs)
#
# The router is also the storage LAN's gateway: the nodes' replies (direct
# server return) go straight to it, never through a switch, so a switch's
# death costs only its share of the client -> VIP direction.  Every switch
# gets the same lbd config (nodes, VIPs, Maglev size: the same tables) but
# its own instance, bpffs, sockets and BGP router id.  sw4 (N = 4) exists
# from the start and stays silent until member-start.
#
# LAB_BGP_SYNC=1: the switches also replicate their flows to each other
# (tandem-syncd, a "sync" group of every member's storage LAN address,
# 10.77.2.2..; sw4's too), and lbd announces only while syncd is ready.
# The VIP then also has tcp/5201 (iperf3 on the nodes): a node whose port 80
# fails its check leaves the port 80 table but stays up (its flows stay).

bgp_members() { seq 1 "$(cat "$LAB_DIR/bgp")"; }

member_arg() {
	case "$1" in
	[1-4]) [ "$1" -le "$(cat "$LAB_DIR/bgp" 2>/dev/null || echo 0)" ] ||
		die "member $1: lab $NAME has $(cat "$LAB_DIR/bgp" 2>/dev/null || echo no) members" ;;
	*) die "member: 1..4, not '$1'" ;;
	esac
}

# sync_json K: the "sync" section of switch K with LAB_BGP_SYNC=1, else "".
sync_json() {
	[ "${LAB_BGP_SYNC:-0}" = 1 ] || return 0
	local m group
	group=$(for m in $(bgp_members); do printf '"10.77.2.%s",' $((m + 1)); done)
	cat <<EOF
,
  "sync": { "switch_id": $1, "local": "10.77.2.$(($1 + 1))", "group": [ ${group%,} ],
            "key_file": "$LAB_DIR/sync.key", "control_socket": "$LAB_DIR/sw-$1/syncd.sock",
            "peer_dead_ms": ${LAB_PEER_DEAD_MS:-1500}, "idle_timeout_s": ${LAB_IDLE_S:-3600} }
EOF
}

sync_svc() {
	[ "${LAB_BGP_SYNC:-0}" = 1 ] && printf ', { "proto": "tcp", "port": 5201 }'
	return 0
}

# write_member_config K: lbd's config of switch K (the "bgp" section too).
write_member_config() {
	local k=$1 d=$LAB_DIR/sw-$1
	mkdir -p "$d/bpffs"
	cat >"$d/tandem.json" <<EOF
{
  "instance": "$NAME$k",
  "bpffs": "$d/bpffs",
  "control_socket": "$d/lbd.sock",
  "client_interface": "eth0",
  "storage_interface": "eth1",
  "attach": "tc",
  "flow_table_size": 65536,
  "health": { "interval_ms": 300, "timeout_ms": 200, "rise": 2, "fall": 2 },
  "nodes": [
    { "name": "n1", "address": "10.77.2.11", "weight": 100 },
    { "name": "n2", "address": "10.77.2.12", "weight": 100 },
    { "name": "n3", "address": "10.77.2.13", "weight": 100 }
  ],
  "vips": [
    { "name": "v4", "address": "$VIP4",
      "services": [ { "proto": "tcp", "port": 80 }$(sync_svc) ] }
  ],
  "bgp": { "local_as": 65001, "router_id": "10.77.5.1$k",
           "neighbors": [ { "address": "10.77.5.1", "as": 65000 } ],
           "hold_s": 3, "bfd": { "interval_ms": ${LAB_BFD_MS:-100}, "multiplier": 3 },
           "socket": "$d/bird.ctl", "refresh_ms": 1000 },
  "handoff": { "port": 7406, "key_file": "$LAB_DIR/handoff.key" }$(sync_json "$k")
}
EOF
}

# write_router_conf: the upstream router's BIRD: a session with every
# member, BFD, and ECMP into the kernel (merge paths).
write_router_conf() {
	local k
	mkdir -p "$LAB_DIR/r"
	{
		cat <<EOF
router id 10.77.5.1;
protocol device { scan time 10; }
protocol bfd { interface "eth1" { interval ${LAB_BFD_MS:-100} ms; multiplier 3; }; }
protocol kernel {
    merge paths on;
    ipv4 { import none; export all; };
}
EOF
		for k in $(bgp_members); do
			cat <<EOF
protocol bgp sw$k {
    local as 65000;
    neighbor 10.77.5.1$k as 65001;
    hold time 3;
    connect retry time 2;
    error wait time 1, 10;
    bfd on;
    ipv4 { import all; export none; };
}
EOF
		done
	} >"$LAB_DIR/r/bird.conf"
}

cmd_up_bgp() {
	local h n ns k
	command -v bird >/dev/null || [ -x /usr/sbin/bird ] || die "missing bird (apt-get install bird2)"
	case "${LAB_BGP}" in [2-4]) ;; *) die "LAB_BGP: 2..4 switches, not '$LAB_BGP'" ;; esac
	echo "$LAB_BGP" >"$LAB_DIR/bgp"
	HOSTS="c1 c2 c3 r $(for k in $(bgp_members); do printf 'sw%s ' "$k"; done)n1 n2 n3"
	mkdir -m 755 "$LAB_DIR/bin"
	install -m 755 "$TANDEM_BUILD/tandem-failover" "$LAB_DIR/bin/tandem-failover"
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/handoff.key")
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/sync.key")
	for k in $(bgp_members); do
		write_member_config "$k"
		"$TANDEM_BUILD/tandem-failover" -c "$LAB_DIR/sw-$k/tandem.json" birdconf -o "$LAB_DIR/sw-$k/bird.conf"
	done
	write_router_conf
	# shellcheck disable=SC2086 # a list of host names
	make_namespaces hub $HOSTS
	sc hub net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	bridge hub brc
	bridge hub brx
	bridge hub brs
	sc r net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	veth r0 r eth0 brc
	veth r1 r eth1 brx
	veth r2 r eth2 brs
	ip -n "tdm-$NAME-r" addr add 10.77.3.1/24 dev eth0
	ip -n "tdm-$NAME-r" addr add 10.77.5.1/24 dev eth1
	ip -n "tdm-$NAME-r" addr add 10.77.2.1/24 dev eth2
	for k in $(bgp_members); do
		h=sw$k
		ns=tdm-$NAME-$h
		sc "$h" net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		veth "s${k}0" "$h" eth0 brx
		veth "s${k}1" "$h" eth1 brs
		ip -n "$ns" addr add "10.77.5.1$k/24" dev eth0
		ip -n "$ns" addr add "10.77.2.$((k + 1))/24" dev eth1
		mount -t bpf bpf "$LAB_DIR/sw-$k/bpffs"
	done
	for h in c1 c2 c3; do
		ns=tdm-$NAME-$h
		veth "$h" "$h" eth0 brc
		ip -n "$ns" addr add "10.77.3.$(( ${h#c} + 9 ))/24" dev eth0
		ip -n "$ns" route add default via 10.77.3.1
	done
	for n in $NODES; do
		sc "$n" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv6.conf.default.keep_addr_on_down=1
		veth "$n" "$n" eth0 brs
		node_addrs "$n"
	done
	mkdir -p "$LAB_DIR/r"
	host_spawn r "$LAB_DIR/r" bird bird -f -c "$LAB_DIR/r/bird.conf" -s "$LAB_DIR/r/bird.ctl"
	poll 10000 test -S "$LAB_DIR/r/bird.ctl" || die "the router's BIRD did not start ($LAB_DIR/r/bird.log)"
}

# member_pid K DAEMON: pid of bird or lbd in switch K, if alive there.
member_pid() { sw_pid "$@"; }

# member-start K [bird|lbd|syncd|all]: BIRD first (it announces nothing
# until lbd enables the VIPs), then lbd, then (LAB_BGP_SYNC=1) syncd.
cmd_member_start() {
	local k=$1 what=${2:-all} d=$LAB_DIR/sw-$1
	case "$what" in bird | lbd | syncd | all) ;; *) die "member-start: bird, lbd, syncd or all" ;; esac
	if [ "$what" != lbd ] && [ -z "$(member_pid "$k" bird)" ]; then
		rm -f "$d/bird.ctl"
		sw_spawn "$k" bird bird -f -c "$d/bird.conf" -s "$d/bird.ctl"
		poll 10000 test -S "$d/bird.ctl" || die "BIRD in sw$k did not start (log: $d/bird.log)"
	fi
	if { [ "$what" = all ] || [ "$what" = lbd ]; } && [ -z "$(member_pid "$k" lbd)" ]; then
		sw_spawn "$k" lbd "$TANDEM_BUILD/tandem-lbd" -c "$d/tandem.json"
		poll 10000 ctl_answers "$d/lbd.sock" || die "lbd in sw$k does not answer (log: $d/lbd.log)"
	fi
	if { [ "$what" = all ] || [ "$what" = syncd ]; } && grep -q '"sync"' "$d/tandem.json" &&
		[ -z "$(member_pid "$k" syncd)" ]; then
		rm -f "$d/syncd.sock"
		sw_spawn "$k" syncd "$TANDEM_BUILD/tandem-syncd" -c "$d/tandem.json"
		poll 10000 test -S "$d/syncd.sock" || die "syncd in sw$k did not start (log: $d/syncd.log)"
	fi
	echo "sw$k: bird $(member_pid "$k" bird), lbd $(member_pid "$k" lbd), syncd $(member_pid "$k" syncd)"
}

# member-stop K [hard]: lbd first (it withdraws the VIPs), then BIRD; hard:
# cut the switch's links and SIGKILL everything in it (a dead switch).
cmd_member_stop() {
	local k=$1 how=${2:-soft} sig=TERM
	if [ "$how" = hard ]; then
		sig=KILL
		cmd_member_links "$k" down
	fi
	sw_stop_daemons "$k" "$sig" lbd syncd bird
}

cmd_member_links() {
	ip -n "$NS_HUB" link set "s${1}0" "$2"
	ip -n "$NS_HUB" link set "s${1}1" "$2"
}
