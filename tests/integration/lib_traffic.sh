# shellcheck shell=bash
# lib_traffic.sh - client traffic through a lab's VIP for the harness
# (sourced by lib.sh; see there): many short sessions at once, each knowing
# the node that served it, and a long download followed from start to end.

# sessions DIR N BASE [PATH]: N new client sessions through the VIP at once,
# the even ones from c1, the odd ones from c2 (SESSION_HOSTS="c1 c2 c3":
# session i from host i mod 3, and so on).  BASE is "http://ADDR" (IPv6:
# "http://[ADDR]").  Session i fetches BASE/node, then BASE/PATH if given, on
# ONE keep-alive connection (curl reuses it for the second URL), so i.node
# names the node that served i.bin.  Files per session: DIR/i.host, i.node,
# i.bin, i.err, i.w (curl -w per URL: "http_code num_connects local_port").
# Then DIR/summary gets one line per session: "i host node lport status",
# status "ok" or what went wrong (http codes, connection count, ports).
# Each curl has 60 s at most.
sessions() {
	local dir=$1 n=$2 base=$3 path=${4:-} h j=0 pids=()
	local hosts
	read -r -a hosts <<<"${SESSION_HOSTS:-c1 c2}"
	mkdir -p "$dir"
	for h in "${hosts[@]}"; do
		# shellcheck disable=SC2016
		in_ns "$h" bash -c '
			dir=$1 n=$2 base=$3 path=$4 first=$5 step=$7
			for ((i = first; i < n; i += step)); do
				echo "$6" >"$dir/$i.host"
				if [ -n "$path" ]; then
					curl -sS -m 60 -w "%{http_code} %{num_connects} %{local_port}\n" \
						-o "$dir/$i.node" "$base/node" -o "$dir/$i.bin" "$base$path" \
						>"$dir/$i.w" 2>"$dir/$i.err" &
				else
					curl -sS -m 60 -w "%{http_code} %{num_connects} %{local_port}\n" \
						-o "$dir/$i.node" "$base/node" >"$dir/$i.w" 2>"$dir/$i.err" &
				fi
			done
			wait' _ "$dir" "$n" "$base" "$path" "$j" "$h" "${#hosts[@]}" &
		pids+=($!)
		j=$((j + 1))
	done
	wait "${pids[@]}"	# only these: the test may have other jobs running
	local i urls=1 host node st codes conns ports
	[ -z "$path" ] || urls=2
	: >"$dir/summary"
	for ((i = 0; i < n; i++)); do
		host=$(cat "$dir/$i.host" 2>/dev/null)
		node=$(cat "$dir/$i.node" 2>/dev/null)
		node=${node:-none}
		codes=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 }' "$dir/$i.w" 2>/dev/null)
		conns=$(awk '{ s += $2 } END { print s + 0 }' "$dir/$i.w" 2>/dev/null)
		ports=$(awk '{ print $3 }' "$dir/$i.w" 2>/dev/null | sort -u | paste -sd,)
		st=ok
		if [ "$codes" != "$([ "$urls" = 2 ] && echo 200,200 || echo 200)" ]; then
			st="http:${codes:-none}:$(head -c 100 "$dir/$i.err" 2>/dev/null | tr ' \n' '_.')"
		elif [ "$conns" != 1 ] || [[ $ports == *,* ]]; then
			st="connections:$conns:ports:$ports"
		fi
		case "$node" in n1 | n2 | n3) ;; *) [ "$st" != ok ] || st="node:$node" ;; esac
		echo "$i ${host:-?} $node ${ports:-0} $st" >>"$dir/summary"
	done
}

# tally DIR: "N1 N2 N3 FAILED" session counts per node from DIR/summary.
tally() {
	awk '$5 != "ok" { f++; next } { c[$3]++ }
		END { printf "%d %d %d %d\n", c["n1"], c["n2"], c["n3"], f }' "$1/summary"
}

# sessions_fail_lines DIR: the failed sessions of DIR/summary (max 10 lines).
sessions_fail_lines() {
	awk '$5 != "ok"' "$1/summary" | head -n 10
}

# long_start TAG HOST BASE PATH: in the background, HOST fetches BASE/node and
# then BASE/PATH on ONE connection (say /slow/10m.bin: 10 s at nginx's 1 MiB/s).
# Waits up to 10 s for /node's answer, then sets LONG_PID (curl), LONG_NODE
# (who serves it), LONG_PORT (the client's port), LONG_FILE (the download).
# Files: TEST_TMP/TAG.{node,bin,w} (.w: curl -w lines and curl's errors).
# Returns 1 if /node did not answer.
long_start() {
	local tag=$1 h=$2 base=$3 path=$4 f
	f=$TEST_TMP/$tag
	rm -f "$f".node "$f".bin "$f".w
	# -w to stderr: curl flushes stdout only at exit, stderr at once.
	in_ns "$h" curl -sS -m 90 -w "%{stderr}%{http_code} %{num_connects} %{local_port}\n" \
		-o "$f.node" "$base/node" -o "$f.bin" "$base$path" 2>"$f.w" &
	LONG_PID=$!
	LONG_FILE=$f.bin
	LONG_NODE="" LONG_PORT=""
	wait_for 10 grep -qx 'n[123]' "$f.node" || return 1
	wait_for 5 grep -q '^200 1 [0-9]' "$f.w" || return 1
	LONG_NODE=$(cat "$f.node")
	LONG_PORT=$(awk '/^200 1 [0-9]+$/ { print $3; exit }' "$f.w")
	[ -n "$LONG_PORT" ]
}

# long_finish PID FILE WANT_FILE TIMEOUT_S: wait for the download PID (TIMEOUT_S
# at most; it is killed after that), then compare FILE's sha256 with
# WANT_FILE's from SHA256SUMS.  0 if it finished and matches; else 1 and
# LONG_WHY says why.  Call it directly, not in $(...): a subshell cannot
# wait for the test's children.
long_finish() {
	local pid=$1 file=$2 want=$3 t=$4 rc=0 got
	LONG_WHY=""
	if ! wait_for "$t" pid_gone "$pid"; then
		kill "$pid" 2>/dev/null
		LONG_WHY="download still running after ${t}s ($(file_size "$file") bytes)"
		return 1
	fi
	wait "$pid" || rc=$?
	got=$(sha256sum <"$file" | cut -d' ' -f1)
	if [ "$rc" -ne 0 ] || [ "$got" != "$(want_sha "$want")" ]; then
		LONG_WHY="curl exit $rc, $(file_size "$file") bytes, sha256 $got, want $(want_sha "$want")
$(grep -v '^[0-9]* [0-9]* [0-9]*$' "${file%.bin}.w" 2>/dev/null)"
		return 1
	fi
}

# long_begin TAG HOST BASE PATH: long_start; reports "ok - slow download
# HOST:PORT -> VIP:80 on NODE", or fails and ends the test (with curl's
# output) if the download does not start.  Sets the LONG_* variables.
long_begin() {
	if ! long_start "$@"; then
		fail "slow download through the VIP starts" "$(cat "$TEST_TMP/$1.w" 2>/dev/null)"
		finish
	fi
	ok "slow download $2:$LONG_PORT -> VIP:80 on $LONG_NODE"
}

# long_check DESC PID FILE WANT_FILE TIMEOUT_S: long_finish as a check: ok
# DESC, or not ok DESC with LONG_WHY.
long_check() {
	local desc=$1
	shift
	if long_finish "$@"; then
		ok "$desc"
	else
		fail "$desc" "$LONG_WHY"
		return 1
	fi
}
