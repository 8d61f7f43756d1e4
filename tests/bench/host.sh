# tests/bench/host.sh - what a results file says about the machine it was
# measured on.  Sourced (bash) by tests/bench/run.sh and tests/fuzz/long.sh.

# cpu_model: "NAME (family F model M), N CPUs[, virtual machine]"
cpu_model() {
	local m fam mod
	m=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	fam=$(awk -F': ' '/^cpu family/ { print $2; exit }' /proc/cpuinfo)
	mod=$(awk -F': ' '/^model\t/ { print $2; exit }' /proc/cpuinfo)
	echo "$m (family $fam model $mod), $(nproc) CPUs$(grep -qw hypervisor /proc/cpuinfo && echo ', virtual machine')"
}

# cpu_reference CPUREF: the machine-speed reference (tests/bench/cpuref.c,
# built as build/cpuref) run three times, one after the other; prints
# "CPU_MS WALL_MS", each the median of the three.  1 if it could not run.
cpu_reference() {
	local i out cpu=() wall=()
	for i in 1 2 3; do
		out=$("$1") || return 1
		[[ $out =~ cpu_ms=([0-9]+)\ wall_ms=([0-9]+) ]] || return 1
		cpu+=("${BASH_REMATCH[1]}")
		wall+=("${BASH_REMATCH[2]}")
	done
	echo "$(printf '%s\n' "${cpu[@]}" | sort -n | sed -n 2p)" \
		"$(printf '%s\n' "${wall[@]}" | sort -n | sed -n 2p)"
}
