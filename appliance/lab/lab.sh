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
State: $LAB_ROOT/NAME/ (env, tandem.json, lbd.sock, lbd.log, bpffs/, www/, nX/)
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
	hub | c1 | c2 | sw | n1 | n2 | n3) echo "tdm-$NAME-$1" ;;
	*) die "unknown host '$1' (hub c1 c2 sw n1 n2 n3)" ;;
	esac
}

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
                    { "proto": "udp", "port": 5201, "affinity": "client" } ] },
    { "name": "v6", "address": "$VIP6",
      "services": [ { "proto": "tcp", "port": 80 },
                    { "proto": "tcp", "port": 5201, "affinity": "client" } ] }
  ]
}
EOF
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
			LBD_PIDFILE "$LBD_PID" LAB_WEIGHTS "${LAB_WEIGHTS:-100 100 100}"
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

	trap - EXIT INT TERM
	echo "lab $NAME is up: . $LAB_DIR/env; lab.sh shell $NAME c1"
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
		if mountpoint -q "$LAB_DIR/bpffs" 2>/dev/null; then
			umount "$LAB_DIR/bpffs" 2>/dev/null || umount -l "$LAB_DIR/bpffs"
		fi
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
