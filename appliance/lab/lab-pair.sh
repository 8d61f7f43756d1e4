# shellcheck shell=bash
# lab-pair.sh - pair mode (LAB_PAIR=1 lab.sh up NAME): two switches a and b
# with lbd, tandem-syncd and keepalived each; switch-start, switch-stop,
# switch-links, role.  Sourced by lab.sh.

# ---------------------------------------------------------- pair mode ---
#
# LAB_AA=1 (active-active): a second VIP $VIP4B (v4b, the services of v4
# and tcp 9001, its own: a test can fail v4b alone) in VRRP group g2, preferred by b; group g1 (v4, v6 and the gateways) is
# preferred by a.  Both switches forward at once.
#
#   c1 c2 ---- brc (hub) ----+-----------------+        client LAN
#                         eth0 .2           eth0 .3     VIP, 10.77.1.1: VRRP
#                        [swa] ==eth2 sync== [swb]      10.77.9.1 / 10.77.9.2
#                         eth1 .2           eth1 .3     10.77.2.1: VRRP
#   n1 n2 n3 -- brs (hub) ---+-----------------+        storage LAN

sw_arg() {
	case "$1" in
	a | b) ;;
	c | d) is_pair2 || die "switch $1: only with LAB_PAIR2=1" ;;
	*) die "switch: a or b (c or d with LAB_PAIR2=1), not '$1'" ;;
	esac
}

# write_pair_config a|b: lbd + syncd + vrrp config of one switch.
write_pair_config() {
	local x=$1 d=$LAB_DIR/sw-$1 id local peer prio
	case "$x" in
	a) id=1 local=10.77.9.1 peer=10.77.9.2 prio=150 ;;
	b) id=2 local=10.77.9.2 peer=10.77.9.1 prio=100 ;;
	esac
	mkdir -p "$d/bpffs"
	# LAB_NFS=1: VIP services tcp 111 and tcp 2049 here too (NFS failover
	# test), and udp 111 and udp 2049 (the portmapper and MOUNT over UDP)
	local nfs_svcs="" nfs6_svcs=""
	[ "${LAB_NFS:-}" = 1 ] && nfs_svcs=',
                    { "proto": "tcp", "port": 111 }, { "proto": "tcp", "port": 2049 },
                    { "proto": "udp", "port": 111 }, { "proto": "udp", "port": 2049 }'
	# LAB_NFS6=1 as well: the same on the v6 VIP
	[ "${LAB_NFS6:-}" = 1 ] && nfs6_svcs=$nfs_svcs
	# active-active (LAB_AA=1): a second IPv4 VIP v4b with the same services,
	# in group g2 preferred by b; g1 (v4, v6, the gateways) preferred by a
	local aa_vip="" aa_groups=""
	if is_aa; then
		aa_vip=",
    { \"name\": \"v4b\", \"address\": \"$VIP4B\",
      \"services\": [ { \"proto\": \"tcp\", \"port\": 80 },
                    { \"proto\": \"tcp\", \"port\": 5201, \"affinity\": \"client\" },
                    { \"proto\": \"udp\", \"port\": 5201, \"affinity\": \"client\" },
                    { \"proto\": \"tcp\", \"port\": 9000 },
                    { \"proto\": \"tcp\", \"port\": 9001 }$nfs_svcs$(smb_svc) ] }"
		aa_groups=',
            "groups": [ { "name": "g1", "vips": [ "v4", "v6" ], "preferred": 1 },
                        { "name": "g2", "vips": [ "v4b" ], "preferred": 2 } ]'
	fi
	cat >"$d/tandem.json" <<EOF
{
  "instance": "$NAME$x",
  "bpffs": "$d/bpffs",
  "control_socket": "$d/lbd.sock",
  "client_interface": "eth0",
  "storage_interface": "eth1",
  "attach": "tc",
  "flow_table_size": ${LAB_FLOWS:-262144},
  "health": { "interval_ms": 300, "timeout_ms": 200, "rise": 2, "fall": 2 },
  "nodes": [
    { "name": "n1", "address": "10.77.2.11", "weight": 100 },
    { "name": "n2", "address": "10.77.2.12", "weight": 100 },
    { "name": "n3", "address": "10.77.2.13", "weight": 100 }
  ],
  "vips": [
    { "name": "v4", "address": "$VIP4",
      "services": [ { "proto": "tcp", "port": 80 },
                    { "proto": "tcp", "port": 5201, "affinity": "client" },
                    { "proto": "udp", "port": 5201, "affinity": "client" },
                    { "proto": "tcp", "port": 9000 }$nfs_svcs$(smb_svc) ] },
    { "name": "v6", "address": "$VIP6",
      "services": [ { "proto": "tcp", "port": 80 }, { "proto": "tcp", "port": 9000 }$nfs6_svcs$(smb_svc) ] }$aa_vip
  ],
  "sync": { "switch_id": $id, "local": "$local", "peer": "$peer",
            "key_file": "$LAB_DIR/sync.key", "control_socket": "$d/syncd.sock",
            "peer_dead_ms": ${LAB_PEER_DEAD_MS:-1500}, "idle_timeout_s": ${LAB_IDLE_S:-3600} },
  "vrrp": { "router_id": 77, "priority": $prio,$(advert_json)
            "client_gateways": [ "10.77.1.1/24", "fd77:1::1/64" ],
            "storage_gateways": [ "10.77.2.1/24", "fd77:2::1/64" ],
            "notify": "$LAB_DIR/bin/tandem-failover", "pid_dir": "$d",
            "snmp_socket": "unix:$d/agentx.sock"$aa_groups },
  "handoff": { "port": 7406, "key_file": "$LAB_DIR/handoff.key" }$(dns_section "$x")$(dir_section "$x")
}
EOF
}

cmd_up_pair() {
	local h n ns x last
	HOSTS="c1 c2 swa swb n1 n2 n3"
	[ -x "$TANDEM_BUILD/tandem-failover" ] || die "no $TANDEM_BUILD/tandem-failover (run make)"
	command -v keepalived >/dev/null || [ -x /usr/sbin/keepalived ] ||
		die "missing keepalived (apt-get install keepalived)"
	touch "$LAB_DIR/pair"
	[ "${LAB_AA:-0}" = 1 ] && touch "$LAB_DIR/aa"
	if [ "${LAB_DIRECTORY:-0}" = 1 ]; then
		command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || die "missing slapd (apt-get install slapd ldap-utils)"
		dir_keygen
	fi
	if [ "${LAB_DNS:-0}" = 1 ]; then
		command -v tsig-keygen >/dev/null && [ -x /usr/sbin/named ] ||
			die "missing named/tsig-keygen (apt-get install bind9)"
		dns_keygen
		HOSTS="$HOSTS dns"
		[ "${LAB_DNS6:-0}" = 1 ] && touch "$LAB_DIR/dns6"
		if [ "${LAB_PAIR2:-0}" = 1 ]; then
			touch "$LAB_DIR/pair2"
			HOSTS="$HOSTS swc swd"
		fi
	fi
	# keepalived runs scripts only from paths no other user can write (the
	# build tree may sit anywhere, /tmp included): a private root-only copy.
	mkdir -m 755 "$LAB_DIR/bin"
	install -m 755 "$TANDEM_BUILD/tandem-failover" "$LAB_DIR/bin/tandem-failover"
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/sync.key")
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/handoff.key")
	chmod 600 "$LAB_DIR/sync.key" "$LAB_DIR/handoff.key"
	for x in a b; do
		write_pair_config "$x"
	done
	if is_pair2; then
		write_pair2_config c
		write_pair2_config d
	fi
	# shellcheck disable=SC2086 # a list of host names
	make_namespaces hub $HOSTS
	sc hub net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	bridge hub brc
	bridge hub brs
	for x in a b; do
		last=$([ "$x" = a ] && echo 2 || echo 3)
		h=sw$x
		ns=tdm-$NAME-$h
		sc "$h" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 \
			net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
		veth "${h}0" "$h" eth0 brc
		veth "${h}1" "$h" eth1 brs
		ip -n "$ns" addr add "10.77.1.$last/24" dev eth0
		ip -n "$ns" addr add "fd77:1::$last/64" dev eth0 nodad
		ip -n "$ns" addr add "10.77.2.$last/24" dev eth1
		ip -n "$ns" addr add "fd77:2::$last/64" dev eth1 nodad
		mount -t bpf bpf "$LAB_DIR/sw-$x/bpffs"
	done
	ip -n "tdm-$NAME-swa" link add eth2 type veth peer name eth2 netns "tdm-$NAME-swb"
	ip -n "tdm-$NAME-swa" addr add 10.77.9.1/30 dev eth2
	ip -n "tdm-$NAME-swb" addr add 10.77.9.2/30 dev eth2
	ip -n "tdm-$NAME-swa" link set eth2 up
	ip -n "tdm-$NAME-swb" link set eth2 up
	if is_pair2; then pair2_links; fi
	if is_dns; then dns_up; fi
	for h in c1 c2; do
		last=$(( ${h#c} + 9 ))
		ns=tdm-$NAME-$h
		veth "$h" "$h" eth0 brc
		ip -n "$ns" addr add "10.77.1.$last/24" dev eth0
		ip -n "$ns" addr add "fd77:1::$last/64" dev eth0 nodad
		ip -n "$ns" route add default via 10.77.1.1 dev eth0 onlink
		ip -n "$ns" -6 route add default via fd77:1::1 dev eth0 onlink
	done
	for n in $NODES; do
		ns=tdm-$NAME-$n
		sc "$n" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv6.conf.default.keep_addr_on_down=1
		veth "$n" "$n" eth0 brs
		node_addrs "$n"
	done
}

# sw_pid a|b DAEMON: pid of lbd/syncd/keepalived in switch a|b, if alive there.
sw_pid() { host_pid "sw$1" "$LAB_DIR/sw-$1" "$2"; }

# sw_spawn a|b DAEMON CMD...: run CMD in switch a|b, detached, pid in DAEMON.pid.
sw_spawn() {
	local x=$1
	shift
	host_spawn "sw$x" "$LAB_DIR/sw-$x" "$@"
}

# sw_stop_daemons X SIG DAEMON...: signal each DAEMON of switch X in turn
# (SIGKILL after 10 s), then SIGKILL whatever is left in the switch
# (keepalived's VRRP child, scripts).
sw_stop_daemons() {
	local x=$1 sig=$2 dmn p
	shift 2
	for dmn in "$@"; do
		p=$(sw_pid "$x" "$dmn")
		[ -n "$p" ] || continue
		kill -"$sig" "$p" 2>/dev/null || true
		poll 10000 pid_gone "$p" || kill -KILL "$p" 2>/dev/null || true
		rm -f "$LAB_DIR/sw-$x/$dmn.pid"
	done
	for p in $(ip netns pids "tdm-$NAME-sw$x" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

ctl_answers() { "$TANDEM_BUILD/tandemctl" -s "$1" status >/dev/null 2>&1; }

cmd_switch_start() {
	local x=$1 d=$LAB_DIR/sw-$1
	is_pair || die "lab $NAME is not a pair lab"
	if [ -z "$(sw_pid "$x" lbd)" ]; then
		sw_spawn "$x" lbd "$TANDEM_BUILD/tandem-lbd" -c "$d/tandem.json"
		poll 10000 ctl_answers "$d/lbd.sock" || die "lbd in sw$x does not answer (log: $d/lbd.log)"
	fi
	if [ -z "$(sw_pid "$x" syncd)" ]; then
		sw_spawn "$x" syncd "$TANDEM_BUILD/tandem-syncd" -c "$d/tandem.json"
		poll 10000 test -S "$d/syncd.sock" || die "syncd in sw$x did not start (log: $d/syncd.log)"
	fi
	if [ -z "$(sw_pid "$x" keepalived)" ]; then
		"$TANDEM_BUILD/tandem-failover" -c "$d/tandem.json" genconf -o "$d/keepalived.conf"
		# -l: its log goes to keepalived.log.  -G: and nowhere else.  With -l
		# keepalived opens syslog with LOG_CONS, and where nothing listens on
		# /dev/log (a container, a CI runner) glibc writes every line to
		# /dev/console instead: on a VM with a serial console that is a
		# busy-wait of milliseconds per line, done by the real-time VRRP
		# process, which starved its CPU for ~50 ms at every transition
		# (the whole of the graceful takeover's outage; doc/failover.md).
		sw_spawn "$x" keepalived keepalived -P -n -l -G -D -f "$d/keepalived.conf" \
			-p "$d/keepalived-main.pid" -r "$d/keepalived-vrrp.pid"
	fi
	echo "sw$x: lbd $(sw_pid "$x" lbd), syncd $(sw_pid "$x" syncd), keepalived $(sw_pid "$x" keepalived)"
}

cmd_switch_stop() {
	local x=$1 how=${2:-soft} sig=TERM p
	is_pair || die "lab $NAME is not a pair lab"
	if [ "$how" = hard ]; then
		sig=KILL
		# A crash stops everything at once.  Freeze the switch's processes
		# before its links go down one by one: a running keepalived sees
		# its client link go and sends priority-0 adverts on the storage
		# link still up, a graceful handover in the middle of a "crash".
		for p in $(ip netns pids "tdm-$NAME-sw$x" 2>/dev/null); do
			kill -STOP "$p" 2>/dev/null || true
		done
		cmd_switch_links "$x" down
	fi
	# keepalived first: a graceful stop sends priority-0 adverts (fast takeover)
	sw_stop_daemons "$x" "$sig" keepalived syncd lbd
	# A killed keepalived leaves its pid files; while its pids linger as
	# zombies (our init reaps lazily) the next keepalived would take them
	# for a running instance and exit ("daemon is already running").
	rm -f "$LAB_DIR/sw-$x/keepalived-main.pid" "$LAB_DIR/sw-$x/keepalived-vrrp.pid"
}

cmd_switch_links() {
	local x=$1 st=$2
	is_pair || die "lab $NAME is not a pair lab"
	# both LAN ports in one ip process: a crash cuts them at once
	printf 'link set %s %s\nlink set %s %s\n' "sw${x}0" "$st" "sw${x}1" "$st" |
		ip -n "$NS_HUB" -batch -
	ip -n "tdm-$NAME-sw$x" link set eth2 "$st"
}

cmd_role() {
	# the first "role" of the reply is lbd's own (syncd's status follows it)
	"$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-$1/lbd.sock" --json status 2>/dev/null |
		sed -n 's/^  "role": *"\([a-z]*\)".*/\1/p' | head -n 1
}
