# shellcheck shell=bash
# lab-common.sh - the small helpers every part of lab.sh uses: namespace
# names, running a command in a lab host, sysctls, polling, process and
# listener checks.  Sourced by lab.sh (set_name has run: NAME, LAB_DIR ...).

ns_of() {
	case "$1" in
	hub | c1 | c2 | c3 | r | sw | swa | swb | swc | swd | sw[1-4] | dns | n1 | n2 | n3) echo "tdm-$NAME-$1" ;;
	*) die "unknown host '$1' (hub c1 c2 c3 r sw swa swb swc swd sw1..sw4 dns n1 n2 n3)" ;;
	esac
}

is_pair() { [ -e "$LAB_DIR/pair" ]; }
is_aa() { [ -e "$LAB_DIR/aa" ]; }
is_bgp() { [ -e "$LAB_DIR/bgp" ]; }

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

# make_namespaces HOST...: a namespace per HOST with lo up; new interfaces
# inherit "default": no DAD anywhere, no SLAAC surprises.
make_namespaces() {
	local h ns
	for h in "$@"; do
		ns=tdm-$NAME-$h
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		sc "$h" net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0
	done
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

# advert_json: the switches' "advert_int_ms" member (with its leading space
# and trailing comma) from LAB_ADVERT_MS (default 200); LAB_ADVERT_MS=default
# leaves it out, so the appliance's default applies (doc/config.md).
advert_json() {
	[ "${LAB_ADVERT_MS:-200}" = default ] || printf ' "advert_int_ms": %s,' "${LAB_ADVERT_MS:-200}"
}

# host_spawn HOST DIR DAEMON CMD...: run CMD in HOST's namespace, detached
# (its own session), its pid in DIR/DAEMON.pid, its output appended to
# DIR/DAEMON.log.
host_spawn() {
	local h=$1 d=$2 dmn=$3
	shift 3
	rm -f "$d/$dmn.pid"
	echo "=== $dmn start $(date '+%F %T.%N') ===" >>"$d/$dmn.log"
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; ns=$1; shift; exec ip netns exec "$ns" "$@"' \
		"$d/$dmn.pid" "tdm-$NAME-$h" "$@" </dev/null >>"$d/$dmn.log" 2>&1 &
	poll 2000 test -s "$d/$dmn.pid" || die "$dmn did not start in $h"
}

# host_pid HOST DIR DAEMON: the pid in DIR/DAEMON.pid, if it is alive in HOST.
host_pid() {
	local p
	p=$(cat "$2/$3.pid" 2>/dev/null || true)
	if pid_alive "$p" && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = \
		"net:[$(stat -L -c %i "/run/netns/tdm-$NAME-$1" 2>/dev/null)]" ]; then
		echo "$p"
	fi
}
