#!/bin/bash
# Tandem network-namespace lab: one switch, two clients, three storage nodes.
#
#   tdm-NAME-c1  tdm-NAME-c2                    client LAN 10.77.1.0/24, fd77:1::/64
#   .10 ::10     .11 ::11                       VIP 10.77.1.100, fd77:1::100
#    eth0         eth0
#     |            |
#   [c1]---------[c2]------[sw0]    brc  (bridge in tdm-NAME-hub)
#                            |
#                          eth0  .1 ::1, VIP too (answers ARP/ND for it)
#   +----------------- tdm-NAME-sw  (lbd runs here; forwarding on) ----------+
#   |                                                                        |
#   |   br1  .1 ::1  storage LAN bridge: one port per node (the switch sees  |
#   |    |           each node's link: a node's eth0 down = its port down)   |
#   |   [p1]---------[p2]---------[p3]                                       |
#   +----|------------|------------|-----------------------------------------+
#       eth0         eth0         eth0               storage LAN 10.77.2.0/24, fd77:2::/64
#   .11 ::11     .12 ::12     .13 ::13
#   tdm-NAME-n1 .. n3: VIP on lo, arp_ignore=1, arp_announce=2 (direct server
#   return); nginx on :80 (VIP and own address), iperf3 -s on :5201.
#
# Client LAN: hub ends of the veth pairs are named after their host (c1, c2,
# sw0) and live in tdm-NAME-hub; the host ends are eth0.  Storage LAN: the
# bridge br1 lives in the switch itself, its ports p1..p3 are the switch ends
# of the nodes' veth pairs (node end: eth0).  lbd's config names br1 as
# storage_interface and pN as node nX's "port", so it follows each node's
# carrier through netlink.  Nothing is created in the root namespace except
# the state directory /run/tandem-lab/NAME (with its own bpffs mount).
#
# Usage: see usage() below.  NAME: [a-z0-9]{1,8}.
set -eu

LAB_ROOT=/run/tandem-lab
SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
HOSTS="c1 c2 sw n1 n2 n3"
NODES="n1 n2 n3"
VIP4=10.77.1.100
VIP6=fd77:1::100

usage() {
	cat <<EOF
usage: lab.sh up NAME                    create the lab (env: LAB_WEIGHTS="100 100 200")
       lab.sh down NAME                  remove it completely (idempotent)
       lab.sh exec NAME HOST CMD...      run CMD in HOST (hub c1 c2 sw n1 n2 n3)
       lab.sh shell NAME HOST            interactive shell in HOST
       lab.sh lbd-start NAME [ARGS...]   start tandem-lbd in the switch, wait for its socket
       lab.sh lbd-stop NAME              SIGTERM lbd and wait
       lab.sh node-stop NAME nX nginx|iperf3
       lab.sh node-start NAME nX nginx|iperf3
       lab.sh link NAME nX down|up       node nX's eth0 (its switch port pX loses carrier)
       lab.sh list                       labs under $LAB_ROOT
Pair mode (LAB_PAIR=1 lab.sh up NAME): two switches swa and swb instead of sw,
both on the client LAN and on a shared storage LAN (bridge brs in the hub),
joined by a sync link; the VIPs and gateways move by VRRP (keepalived).
(env at up: LAB_ADVERT_MS VRRP advert interval, default 200; LAB_PEER_DEAD_MS 1500;
LAB_FLOWS flow_table_size of both switches, default 262144)
       lab.sh switch-start NAME a|b      lbd, syncd, then keepalived in switch a or b
       lab.sh switch-stop NAME a|b [hard] stop them (hard: SIGKILL and cut its links)
       lab.sh switch-links NAME a|b down|up   all links of a switch
       lab.sh sync-link NAME down|up     the dedicated sync link only
       lab.sh role NAME a|b              VRRP role lbd was told (master/backup/fault/init)
State: $LAB_ROOT/NAME/ (env, tandem.json, lbd.sock, lbd.log, bpffs/, www/, nX/;
       pair mode: sw-a/ and sw-b/ with tandem.json, bpffs/, *.sock, *.log, keepalived.conf)
EOF
}

die() {
	echo "lab.sh: $*" >&2
	exit 1
}

# set_name NAME: validate and derive the per-lab variables.
set_name() {
	case "$1" in
	'' | *[!a-z0-9]*) die "bad lab name '$1' (want [a-z0-9], at most 8 chars)" ;;
	esac
	[ ${#1} -le 8 ] || die "bad lab name '$1' (at most 8 chars)"
	NAME=$1
	LAB_DIR=$LAB_ROOT/$NAME
	NS_HUB=tdm-$NAME-hub
	LBD_SOCK=$LAB_DIR/lbd.sock
	LBD_CONF=$LAB_DIR/tandem.json
	LBD_PID=$LAB_DIR/lbd.pid
}

ns_of() {
	case "$1" in
	hub | c1 | c2 | sw | swa | swb | n1 | n2 | n3) echo "tdm-$NAME-$1" ;;
	*) die "unknown host '$1' (hub c1 c2 sw swa swb n1 n2 n3)" ;;
	esac
}

is_pair() { [ -e "$LAB_DIR/pair" ]; }

node_of() {
	case "$1" in
	n1 | n2 | n3) ;;
	*) die "unknown node '$1' (n1 n2 n3)" ;;
	esac
}

# on HOST CMD...: run CMD in HOST's namespace.
on() {
	local h=$1
	shift
	ip netns exec "tdm-$NAME-$h" "$@"
}

# sc HOST key=value...: set sysctls in HOST's namespace.
sc() {
	local h=$1
	shift
	on "$h" sysctl -q -w "$@" >/dev/null
}

# The namespaces of this lab that exist right now.
lab_namespaces() {
	ip netns list 2>/dev/null | awk -v re="^tdm-$NAME-[a-z0-9]+\$" '$1 ~ re { print $1 }'
}

# now_ms: monotonic-enough wall clock in ms, for poll deadlines.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# poll MS CMD...: run CMD every 0.1 s until it succeeds or MS elapse.
poll() {
	local end
	end=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# pid_alive PID: PID runs (a zombie counts as dead: our init reaps lazily).
pid_alive() {
	local st
	[ -n "$1" ] && st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

pid_gone() { ! pid_alive "$1"; }

# all_dead PID...: none of the PIDs is alive.
all_dead() {
	local p
	for p in "$@"; do
		pid_alive "$p" && return 1
	done
	return 0
}

# listening HOST PROTO PORT: something listens on PORT in HOST.
listening() {
	local out
	out=$(on "$1" ss -Hln"${2:0:1}" "sport = :$3" 2>/dev/null) || return 1
	[ -n "$out" ]
}

not_listening() { ! listening "$@"; }

# ---------------------------------------------------------------- up ----

node_ip4() { echo "10.77.2.1${1#n}"; }
node_ip6() { echo "fd77:2::1${1#n}"; }

write_nginx_conf() {
	local n=$1 d=$LAB_DIR/$1
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
# nginx of lab node $n (generated by lab.sh up $NAME)
user root;
worker_processes 1;
master_process on;
daemon on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	default_type application/octet-stream;
	access_log $d/access.log;
	client_body_temp_path $d/tmp/client_body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 10000;
	server {
		listen $VIP4:80;
		listen [$VIP6]:80;
		listen $(node_ip4 "$n"):80;
		listen [$(node_ip6 "$n")]:80;
		server_name _;
		root $LAB_DIR/www;
		location = /node { default_type text/plain; return 200 "$n\n"; }
		location /slow/ { alias $LAB_DIR/www/; limit_rate 1m; }
		# /rate/F?bps=N: F at N bytes/s (long sessions of the pair tests)
		location /rate/ { alias $LAB_DIR/www/; limit_rate \$arg_bps; }
	}
}
EOF
}

start_service() {
	local n=$1 svc=$2 d=$LAB_DIR/$1
	case "$svc" in
	nginx)
		if pid_alive "$(cat "$d/nginx.pid" 2>/dev/null)"; then
			return 0
		fi
		on "$n" /usr/sbin/nginx -c "$d/nginx.conf" -p "$d/" -e "$d/error.log" ||
			die "$n: nginx failed to start (see $d/error.log)"
		poll 5000 listening "$n" tcp 80 || die "$n: nginx is not listening on :80"
		;;
	iperf3)
		if pid_alive "$(cat "$d/iperf3.pid" 2>/dev/null)"; then
			return 0
		fi
		on "$n" iperf3 -s -D -p 5201 --logfile "$d/iperf3.log" -I "$d/iperf3.pid" ||
			die "$n: iperf3 failed to start (see $d/iperf3.log)"
		poll 5000 listening "$n" tcp 5201 || die "$n: iperf3 is not listening on :5201"
		;;
	*) die "unknown service '$svc' (nginx iperf3)" ;;
	esac
}

stop_service() {
	local n=$1 svc=$2 d=$LAB_DIR/$1 pid port
	case "$svc" in
	nginx) port=80 ;;
	iperf3) port=5201 ;;
	*) die "unknown service '$svc' (nginx iperf3)" ;;
	esac
	pid=$(cat "$d/$svc.pid" 2>/dev/null || true)
	if pid_alive "$pid"; then
		kill -TERM "$pid"
		poll 5000 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$d/$svc.pid"
	poll 5000 not_listening "$n" tcp "$port" || die "$n: $svc still listening on :$port"
}

write_config() {
	local w1 w2 w3 extra
	# shellcheck disable=SC2086
	read -r w1 w2 w3 extra <<<"${LAB_WEIGHTS:-100 100 100}"
	for w in "$w1" "$w2" "$w3"; do
		case "$w" in
		'' | *[!0-9]*) die "LAB_WEIGHTS wants three integers, got '${LAB_WEIGHTS:-}'" ;;
		esac
	done
	[ -z "$extra" ] || die "LAB_WEIGHTS wants three integers, got '$LAB_WEIGHTS'"
	# LAB_NFS=1 (NFS tests): VIP services tcp 111 (portmapper) and
	# tcp 2049 (NFS + MOUNT) on the v4 VIP.  Only this variable and its use below.
	local nfs_svcs=""
	[ "${LAB_NFS:-}" = 1 ] && nfs_svcs=',
                    { "proto": "tcp", "port": 111 }, { "proto": "tcp", "port": 2049 }'
	# LAB_NFS=1 also: the NFS namespace map that lbd hands to the
	# nodes: alpha, beta, gamma homed on n1, n2, n3.  Only used by nodes whose
	# tandem-nasd takes its namespace from the switch (NASD_NFS_NS=switch).
	local nfs_map=""
	[ "${LAB_NFS:-}" = 1 ] && nfs_map=',
  "nfs": { "export": "/export", "clients": [ "10.77.1.0/24" ],
           "homes": [ { "dir": "alpha", "node": "n1" }, { "dir": "beta", "node": "n2" },
                      { "dir": "gamma", "node": "n3" } ] }'
	cat >"$LBD_CONF" <<EOF
{
  "instance": "$NAME",
  "bpffs": "$LAB_DIR/bpffs",
  "control_socket": "$LBD_SOCK",
  "client_interface": "eth0",
  "storage_interface": "br1",
  "attach": "tc",
  "flow_table_size": 65536,
  "health": { "interval_ms": 300, "timeout_ms": 200, "rise": 2, "fall": 2 },
  "nodes": [
    { "name": "n1", "address": "10.77.2.11", "weight": $w1, "port": "p1" },
    { "name": "n2", "address": "10.77.2.12", "weight": $w2, "port": "p2" },
    { "name": "n3", "address": "10.77.2.13", "weight": $w3, "port": "p3" }
  ],
  "vips": [
    { "name": "v4", "address": "$VIP4",
      "services": [ { "proto": "tcp", "port": 80 },
                    { "proto": "tcp", "port": 5201, "affinity": "client" },
                    { "proto": "udp", "port": 5201, "affinity": "client" }$nfs_svcs ] },
    { "name": "v6", "address": "$VIP6",
      "services": [ { "proto": "tcp", "port": 80 },
                    { "proto": "tcp", "port": 5201, "affinity": "client" } ] }
  ],
  "handoff": { "port": 7406, "key_file": "$LAB_DIR/handoff.key" }$nfs_map
}
EOF
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/handoff.key")
	chmod 600 "$LAB_DIR/handoff.key"
}

write_env() {
	{
		echo "# lab $NAME (generated by lab.sh up); source me"
		printf "%s='%s'\n" LAB_NAME "$NAME" LAB_DIR "$LAB_DIR" LAB_BPFFS "$LAB_DIR/bpffs" \
			LAB_WWW "$LAB_DIR/www" LAB_NODES "$NODES" LAB_HOSTS "$HOSTS" \
			NS_HUB "$NS_HUB" NS_SW "tdm-$NAME-sw" NS_C1 "tdm-$NAME-c1" NS_C2 "tdm-$NAME-c2" \
			NS_N1 "tdm-$NAME-n1" NS_N2 "tdm-$NAME-n2" NS_N3 "tdm-$NAME-n3" \
			VIP4 "$VIP4" VIP6 "$VIP6" \
			C1_IP4 10.77.1.10 C1_IP6 fd77:1::10 C2_IP4 10.77.1.11 C2_IP6 fd77:1::11 \
			SW_C_IP4 10.77.1.1 SW_C_IP6 fd77:1::1 SW_S_IP4 10.77.2.1 SW_S_IP6 fd77:2::1 \
			N1_IP4 10.77.2.11 N1_IP6 fd77:2::11 N2_IP4 10.77.2.12 N2_IP6 fd77:2::12 \
			N3_IP4 10.77.2.13 N3_IP6 fd77:2::13 \
			SW_CLIENT_IF eth0 SW_STORAGE_IF br1 N1_PORT p1 N2_PORT p2 N3_PORT p3 \
			LBD_SOCK "$LBD_SOCK" LBD_CONF "$LBD_CONF" LBD_LOG "$LAB_DIR/lbd.log" \
			LBD_PIDFILE "$LBD_PID" LAB_WEIGHTS "${LAB_WEIGHTS:-100 100 100}" \
			HANDOFF_KEY "$LAB_DIR/handoff.key" HANDOFF_PORT 7406
		if is_pair; then
			printf "%s='%s'\n" LAB_PAIR 1 NS_SWA "tdm-$NAME-swa" NS_SWB "tdm-$NAME-swb" \
				SWA_DIR "$LAB_DIR/sw-a" SWB_DIR "$LAB_DIR/sw-b" \
				LBD_SOCK_A "$LAB_DIR/sw-a/lbd.sock" LBD_SOCK_B "$LAB_DIR/sw-b/lbd.sock" \
				SYNCD_SOCK_A "$LAB_DIR/sw-a/syncd.sock" SYNCD_SOCK_B "$LAB_DIR/sw-b/syncd.sock" \
				CONF_A "$LAB_DIR/sw-a/tandem.json" CONF_B "$LAB_DIR/sw-b/tandem.json" \
				SWA_C_IP4 10.77.1.2 SWB_C_IP4 10.77.1.3 SYNC_A 10.77.9.1 SYNC_B 10.77.9.2
		fi
	} >"$LAB_DIR/env"
	cat >"$LAB_DIR/bashrc" <<EOF
[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -r ~/.bashrc ] && . ~/.bashrc
. $LAB_DIR/env
PS1="[\$LAB_NAME:\$LAB_HOST \\W]# "
EOF
}

# veth HUBEND HOST HOSTEND BRIDGE: connect HOST to BRIDGE (in the hub).
veth() {
	ip -n "$NS_HUB" link add "$1" type veth peer name "$3" netns "tdm-$NAME-$2"
	ip -n "$NS_HUB" link set "$1" master "$4" up
	ip -n "tdm-$NAME-$2" link set "$3" up
}

# bridge HOST BR [ip link options]: a plain bridge in HOST: no STP delay, no
# multicast snooping, and no bridge-netfilter (its sysctls are per netns, and
# exist only while br_netfilter is loaded).
bridge() {
	local h=$1 br=$2
	shift 2
	ip -n "tdm-$NAME-$h" link add "$br" "$@" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "tdm-$NAME-$h" link set "$br" up
	on "$h" sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 >/dev/null 2>&1 || true
}

# node_port_of nX: the switch port of node nX (p1..p3).
node_port_of() { echo "p${1#n}"; }

# node_routes nX: node nX's default routes via the switch.  Setting eth0
# down removes them (addresses stay: IPv4 always, IPv6 by keep_addr_on_down),
# so `link up` puts them back.
node_routes() {
	local ns=tdm-$NAME-$1
	ip -n "$ns" route replace default via 10.77.2.1 dev eth0
	ip -n "$ns" -6 route replace default via fd77:2::1 dev eth0
}

up_cleanup() {
	local rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ]; then
		echo "lab.sh: up $NAME failed; removing the partial lab" >&2
		(cmd_down) >/dev/null 2>&1 || true
	fi
	exit "$rc"
}

cmd_up() {
	local h n ns port
	[ "$(id -u)" = 0 ] || die "must run as root"
	for c in ip ss iperf3 sha256sum mount mountpoint; do
		command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || die "missing command: $c"
	done
	[ -x /usr/sbin/nginx ] || die "missing /usr/sbin/nginx (apt-get install nginx-light)"
	[ -z "$(lab_namespaces)" ] || die "lab $NAME exists (namespaces); run: lab.sh down $NAME"
	mkdir -p "$LAB_ROOT"
	# mkdir is the claim on NAME: only from here on do we own (and clean) it.
	mkdir "$LAB_DIR" 2>/dev/null || die "lab $NAME exists ($LAB_DIR); run: lab.sh down $NAME"
	trap up_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "${LAB_PAIR:-0}" = 1 ]; then
		cmd_up_pair
		up_common
		trap - EXIT INT TERM
		echo "lab $NAME (pair) is up: . $LAB_DIR/env; lab.sh switch-start $NAME a; lab.sh switch-start $NAME b"
		return 0
	fi
	write_config

	for h in hub $HOSTS; do
		ns=tdm-$NAME-$h
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# New interfaces inherit "default": no DAD anywhere, no SLAAC surprises.
		sc "$h" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	done

	# Hub: the client LAN bridge, no IP.
	sc hub net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	bridge hub brc

	# Switch sysctls first so eth0 and br1 inherit them.  accept_local: the
	# nodes' replies come from the VIP, which the switch holds too (DSR).
	sc sw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
	veth sw0 sw eth0 brc
	# Storage LAN: br1 in the switch, a fixed MAC (a bridge otherwise takes
	# its lowest port's, which may change under lbd's feet).
	bridge sw br1 address 02:77:02:00:00:01
	sc sw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.br1.rp_filter=0 \
		net.ipv4.conf.br1.accept_local=1
	ip -n "tdm-$NAME-sw" addr add 10.77.1.1/24 dev eth0
	ip -n "tdm-$NAME-sw" addr add "$VIP4/32" dev eth0
	ip -n "tdm-$NAME-sw" addr add fd77:1::1/64 dev eth0 nodad
	ip -n "tdm-$NAME-sw" addr add "$VIP6/128" dev eth0 nodad
	ip -n "tdm-$NAME-sw" addr add 10.77.2.1/24 dev br1
	ip -n "tdm-$NAME-sw" addr add fd77:2::1/64 dev br1 nodad

	for h in c1 c2; do
		local last=$(( ${h#c} + 9 ))
		ns=tdm-$NAME-$h
		veth "$h" "$h" eth0 brc
		ip -n "$ns" addr add "10.77.1.$last/24" dev eth0
		ip -n "$ns" addr add "fd77:1::$last/64" dev eth0 nodad
		ip -n "$ns" route add default via 10.77.1.1
		ip -n "$ns" -6 route add default via fd77:1::1
	done

	for n in $NODES; do
		ns=tdm-$NAME-$n
		port=$(node_port_of "$n")
		sc "$n" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv6.conf.default.keep_addr_on_down=1
		ip -n "tdm-$NAME-sw" link add "$port" type veth peer name eth0 netns "$ns"
		ip -n "tdm-$NAME-sw" link set "$port" master br1 up
		ip -n "$ns" link set eth0 up
		sc "$n" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
			net.ipv6.conf.eth0.keep_addr_on_down=1
		ip -n "$ns" addr add "$VIP4/32" dev lo
		ip -n "$ns" addr add "$VIP6/128" dev lo nodad
		ip -n "$ns" addr add "$(node_ip4 "$n")/24" dev eth0
		ip -n "$ns" addr add "$(node_ip6 "$n")/64" dev eth0 nodad
		node_routes "$n"
	done

	mkdir "$LAB_DIR/bpffs"
	mount -t bpf bpf "$LAB_DIR/bpffs"
	up_common
	trap - EXIT INT TERM
	echo "lab $NAME is up: . $LAB_DIR/env; lab.sh shell $NAME c1"
}

# up_common: content, env and servers (both modes).
up_common() {
	local n
	mkdir "$LAB_DIR/www"
	head -c 4096 /dev/urandom >"$LAB_DIR/www/small.bin"
	head -c 1048576 /dev/urandom >"$LAB_DIR/www/1m.bin"
	head -c 10485760 /dev/urandom >"$LAB_DIR/www/10m.bin"
	(cd "$LAB_DIR/www" && sha256sum small.bin 1m.bin 10m.bin >SHA256SUMS)

	write_env
	for n in $NODES; do
		write_nginx_conf "$n"
		start_service "$n" nginx
		start_service "$n" iperf3
	done
}

# ---------------------------------------------------------- pair mode ---
#
#   c1 c2 ---- brc (hub) ----+-----------------+        client LAN
#                         eth0 .2           eth0 .3     VIP, 10.77.1.1: VRRP
#                        [swa] ==eth2 sync== [swb]      10.77.9.1 / 10.77.9.2
#                         eth1 .2           eth1 .3     10.77.2.1: VRRP
#   n1 n2 n3 -- brs (hub) ---+-----------------+        storage LAN

sw_arg() {
	case "$1" in a | b) ;; *) die "switch: a or b, not '$1'" ;; esac
}

# write_pair_config a|b: lbd + syncd + vrrp config of one switch.
write_pair_config() {
	local x=$1 d=$LAB_DIR/sw-$1 id local peer prio
	case "$x" in
	a) id=1 local=10.77.9.1 peer=10.77.9.2 prio=150 ;;
	b) id=2 local=10.77.9.2 peer=10.77.9.1 prio=100 ;;
	esac
	mkdir -p "$d/bpffs"
	# LAB_NFS=1: VIP services tcp 111 and tcp 2049 here too (NFS failover test)
	local nfs_svcs=""
	[ "${LAB_NFS:-}" = 1 ] && nfs_svcs=',
                    { "proto": "tcp", "port": 111 }, { "proto": "tcp", "port": 2049 }'
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
                    { "proto": "tcp", "port": 9000 }$nfs_svcs ] },
    { "name": "v6", "address": "$VIP6",
      "services": [ { "proto": "tcp", "port": 80 } ] }
  ],
  "sync": { "switch_id": $id, "local": "$local", "peer": "$peer",
            "key_file": "$LAB_DIR/sync.key", "control_socket": "$d/syncd.sock",
            "peer_dead_ms": ${LAB_PEER_DEAD_MS:-1500}, "idle_timeout_s": ${LAB_IDLE_S:-3600} },
  "vrrp": { "router_id": 77, "priority": $prio, "advert_int_ms": ${LAB_ADVERT_MS:-200},
            "client_gateways": [ "10.77.1.1/24", "fd77:1::1/64" ],
            "storage_gateways": [ "10.77.2.1/24", "fd77:2::1/64" ],
            "notify": "$LAB_DIR/bin/tandem-failover", "pid_dir": "$d",
            "snmp_socket": "unix:$d/agentx.sock" },
  "handoff": { "port": 7406, "key_file": "$LAB_DIR/handoff.key" }
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
	for h in hub $HOSTS; do
		ns=tdm-$NAME-$h
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		sc "$h" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	done
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
		sc "$n" net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
			net.ipv6.conf.eth0.keep_addr_on_down=1
		ip -n "$ns" addr add "$VIP4/32" dev lo
		ip -n "$ns" addr add "$VIP6/128" dev lo nodad
		ip -n "$ns" addr add "$(node_ip4 "$n")/24" dev eth0
		ip -n "$ns" addr add "$(node_ip6 "$n")/64" dev eth0 nodad
		node_routes "$n"
	done
}

# sw_pid a|b DAEMON: pid of lbd/syncd/keepalived in switch a|b, if alive there.
sw_pid() {
	local p
	p=$(cat "$LAB_DIR/sw-$1/$2.pid" 2>/dev/null || true)
	if pid_alive "$p" && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = \
		"net:[$(stat -L -c %i "/run/netns/tdm-$NAME-sw$1" 2>/dev/null)]" ]; then
		echo "$p"
	fi
}

# sw_spawn a|b DAEMON CMD...: run CMD in switch a|b, detached, pid in DAEMON.pid.
sw_spawn() {
	local x=$1 dmn=$2 d=$LAB_DIR/sw-$1
	shift 2
	rm -f "$d/$dmn.pid"
	echo "=== $dmn start $(date '+%F %T.%N') ===" >>"$d/$dmn.log"
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; ns=$1; shift; exec ip netns exec "$ns" "$@"' \
		"$d/$dmn.pid" "tdm-$NAME-sw$x" "$@" </dev/null >>"$d/$dmn.log" 2>&1 &
	poll 2000 test -s "$d/$dmn.pid" || die "$dmn did not start in sw$x"
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
		sw_spawn "$x" keepalived keepalived -P -n -l -D -f "$d/keepalived.conf" \
			-p "$d/keepalived-main.pid" -r "$d/keepalived-vrrp.pid"
	fi
	echo "sw$x: lbd $(sw_pid "$x" lbd), syncd $(sw_pid "$x" syncd), keepalived $(sw_pid "$x" keepalived)"
}

cmd_switch_stop() {
	local x=$1 how=${2:-soft} dmn p sig=TERM
	is_pair || die "lab $NAME is not a pair lab"
	if [ "$how" = hard ]; then
		sig=KILL
		cmd_switch_links "$x" down
	fi
	# keepalived first: a graceful stop sends priority-0 adverts (fast takeover)
	for dmn in keepalived syncd lbd; do
		p=$(sw_pid "$x" "$dmn")
		[ -n "$p" ] || continue
		kill -"$sig" "$p" 2>/dev/null || true
		poll 10000 pid_gone "$p" || kill -KILL "$p" 2>/dev/null || true
		rm -f "$LAB_DIR/sw-$x/$dmn.pid"
	done
	# whatever is left in that switch (keepalived's VRRP child, scripts)
	for p in $(ip netns pids "tdm-$NAME-sw$x" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	# A killed keepalived leaves its pid files; while its pids linger as
	# zombies (our init reaps lazily) the next keepalived would take them
	# for a running instance and exit ("daemon is already running").
	rm -f "$LAB_DIR/sw-$x/keepalived-main.pid" "$LAB_DIR/sw-$x/keepalived-vrrp.pid"
}

cmd_switch_links() {
	local x=$1 st=$2
	is_pair || die "lab $NAME is not a pair lab"
	ip -n "$NS_HUB" link set "sw${x}0" "$st"
	ip -n "$NS_HUB" link set "sw${x}1" "$st"
	ip -n "tdm-$NAME-sw$x" link set eth2 "$st"
}

cmd_role() {
	# the first "role" of the reply is lbd's own (syncd's status follows it)
	"$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-$1/lbd.sock" --json status 2>/dev/null |
		sed -n 's/^  "role": *"\([a-z]*\)".*/\1/p' | head -n 1
}

# --------------------------------------------------------------- down ---

cmd_down() {
	local nss ns pids p
	nss=$(lab_namespaces)
	# Kill everything running in the lab's namespaces (lbd, nginx, iperf3,
	# shells): TERM, then KILL whatever is left after 5 s.
	for sig in TERM KILL; do
		pids=""
		for ns in $nss; do
			pids="$pids $(ip netns pids "$ns" 2>/dev/null || true)"
		done
		for p in $pids; do
			[ "$p" = $$ ] || kill -"$sig" "$p" 2>/dev/null || true
		done
		# shellcheck disable=SC2086
		poll 5000 all_dead $pids && break
	done
	for ns in $nss; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -d "$LAB_DIR" ]; then
		for m in "$LAB_DIR/bpffs" "$LAB_DIR/sw-a/bpffs" "$LAB_DIR/sw-b/bpffs"; do
			if mountpoint -q "$m" 2>/dev/null; then
				umount "$m" 2>/dev/null || umount -l "$m"
			fi
		done
		rm -rf -- "$LAB_DIR"
	fi
	[ -z "$(lab_namespaces)" ] || die "down $NAME: namespaces remain: $(lab_namespaces | tr '\n' ' ')"
	[ ! -e "$LAB_DIR" ] || die "down $NAME: $LAB_DIR remains"
}

# ---------------------------------------------------------------- lbd ---

lbd_pid() {
	local p
	p=$(cat "$LBD_PID" 2>/dev/null || true)
	# Trust the pid file only while that pid still lives in our switch namespace.
	if pid_alive "$p" && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = \
		"net:[$(stat -L -c %i "/run/netns/tdm-$NAME-sw" 2>/dev/null)]" ]; then
		echo "$p"
	fi
}

lbd_answers() {
	if [ -x "$TANDEM_BUILD/tandemctl" ]; then
		"$TANDEM_BUILD/tandemctl" -s "$LBD_SOCK" status >/dev/null 2>&1
	else
		[ -S "$LBD_SOCK" ]
	fi
}

cmd_lbd_start() {
	local lbd=$TANDEM_BUILD/tandem-lbd p
	[ -d "$LAB_DIR" ] || die "no lab $NAME (lab.sh up $NAME)"
	[ -x "$lbd" ] || die "no $lbd (run make)"
	[ -z "$(lbd_pid)" ] || die "lbd already runs in lab $NAME (pid $(lbd_pid))"
	rm -f "$LBD_PID"
	local logstart
	logstart=$(($(stat -c %s "$LAB_DIR/lbd.log" 2>/dev/null || echo 0) + 1))
	echo "=== lbd start $(date '+%F %T') ===" >>"$LAB_DIR/lbd.log"
	# The shell writes its own pid, then execs through ip netns exec into lbd:
	# the pid stays lbd's.  setsid: Ctrl-C at the terminal does not reach lbd.
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; ns=$1 lbd=$2 conf=$3; shift 3; exec ip netns exec "$ns" "$lbd" -c "$conf" "$@"' \
		"$LBD_PID" "tdm-$NAME-sw" "$lbd" "$LBD_CONF" "$@" \
		</dev/null >>"$LAB_DIR/lbd.log" 2>&1 &
	poll 2000 test -s "$LBD_PID" || die "lbd did not start"
	p=$(cat "$LBD_PID")
	local end=$(($(now_ms) + 10000))
	while ! lbd_answers; do
		if ! pid_alive "$p"; then
			tail -c +"$logstart" "$LAB_DIR/lbd.log" | tail -n 20 >&2
			rm -f "$LBD_PID"
			die "lbd exited (log: $LAB_DIR/lbd.log)"
		fi
		if [ "$(now_ms)" -ge "$end" ]; then
			tail -c +"$logstart" "$LAB_DIR/lbd.log" | tail -n 20 >&2
			die "lbd (pid $p) does not answer on $LBD_SOCK after 10 s"
		fi
		sleep 0.1
	done
	echo "lbd running in tdm-$NAME-sw, pid $p, socket $LBD_SOCK"
}

cmd_lbd_stop() {
	local p
	p=$(lbd_pid)
	if [ -n "$p" ]; then
		kill -TERM "$p"
		if ! poll 10000 pid_gone "$p"; then
			echo "lab.sh: lbd (pid $p) ignores SIGTERM; killing" >&2
			kill -KILL "$p" 2>/dev/null || true
			poll 2000 pid_gone "$p" || die "lbd pid $p does not die"
		fi
	fi
	rm -f "$LBD_PID"
}

# --------------------------------------------------------------- misc ---

cmd_list() {
	local d n nns lbd
	printf '%-9s %-4s %-12s %s\n' NAME NS LBD DIR
	for d in "$LAB_ROOT"/*/; do
		[ -d "$d" ] || continue
		n=$(basename "$d")
		case "$n" in *[!a-z0-9]*) continue ;; esac
		set_name "$n"
		nns=$(lab_namespaces | wc -l)
		lbd=$(lbd_pid)
		printf '%-9s %-4s %-12s %s\n' "$n" "$nns" "$([ -n "$lbd" ] && echo "pid $lbd" || echo stopped)" "$LAB_DIR"
	done
}

need_lab() {
	if [ ! -d "$LAB_DIR" ] || [ -z "$(lab_namespaces)" ]; then
		die "no lab $NAME (lab.sh up $NAME)"
	fi
}

[ $# -ge 1 ] || {
	usage >&2
	exit 2
}
cmd=$1
shift
case "$cmd" in
-h | --help | help)
	usage
	exit 0
	;;
list)
	cmd_list
	exit 0
	;;
esac
[ $# -ge 1 ] || {
	usage >&2
	exit 2
}
set_name "$1"
shift
case "$cmd" in
up) cmd_up ;;
down) cmd_down ;;
exec)
	[ $# -ge 2 ] || die "usage: lab.sh exec NAME HOST CMD..."
	ns=$(ns_of "$1")
	shift
	exec ip netns exec "$ns" "$@"
	;;
shell)
	[ $# -eq 1 ] || die "usage: lab.sh shell NAME HOST"
	ns=$(ns_of "$1")
	need_lab
	exec ip netns exec "$ns" env LAB_HOST="$1" bash --rcfile "$LAB_DIR/bashrc" -i
	;;
lbd-start) cmd_lbd_start "$@" ;;
switch-start)
	[ $# -eq 1 ] || die "usage: lab.sh switch-start NAME a|b"
	sw_arg "$1"
	need_lab
	cmd_switch_start "$1"
	;;
switch-stop)
	[ $# -ge 1 ] || die "usage: lab.sh switch-stop NAME a|b [hard]"
	sw_arg "$1"
	need_lab
	cmd_switch_stop "$@"
	;;
switch-links)
	[ $# -eq 2 ] || die "usage: lab.sh switch-links NAME a|b down|up"
	sw_arg "$1"
	need_lab
	cmd_switch_links "$1" "$2"
	;;
sync-link)
	[ $# -eq 1 ] || die "usage: lab.sh sync-link NAME down|up"
	need_lab
	ip -n "tdm-$NAME-swa" link set eth2 "$1"
	ip -n "tdm-$NAME-swb" link set eth2 "$1"
	;;
role)
	[ $# -eq 1 ] || die "usage: lab.sh role NAME a|b"
	sw_arg "$1"
	cmd_role "$1"
	;;
lbd-stop) cmd_lbd_stop ;;
node-stop | node-start)
	[ $# -eq 2 ] || die "usage: lab.sh $cmd NAME nX nginx|iperf3"
	node_of "$1"
	need_lab
	if [ "$cmd" = node-stop ]; then stop_service "$1" "$2"; else start_service "$1" "$2"; fi
	;;
link)
	[ $# -eq 2 ] || die "usage: lab.sh link NAME nX down|up"
	node_of "$1"
	case "$2" in up | down) ;; *) die "link state: up or down" ;; esac
	need_lab
	ip -n "tdm-$NAME-$1" link set eth0 "$2"
	[ "$2" = down ] || node_routes "$1"
	;;
*)
	usage >&2
	exit 2
	;;
esac
