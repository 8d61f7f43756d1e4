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
