#!/bin/bash
# t_nfs_hardening: tandem-nasd's NFSv3 service against a client on the LAN
# that misbehaves on purpose (tests/tools/nfs_rpc.py sends what no real
# client would).  One node serves; the clients talk to its own address.
#
#   c1 .10 (allowed)   c2 .11 (refused)     client LAN 10.77.1.0/24
#        \               /
#         [brc]-----[sw] (routes only: no lbd)
#                     |                      storage LAN 10.77.2.0/24
#             n1 .11: tandem-nasd, NFS on 10.77.2.11:2049, export /export
#             n2 .12: a second allowed client (per-client limit)
#   "clients": [ c1, n2 ]; max_sessions 64 (the HTTP limit bounds NFS too).
#
# Checks:
#   - root_squash is the default (-t says so): a file CREATEd as uid 0 is
#     owned by 65534; "root_squash": false lets uid 0 be root (-t says so);
#   - 64 connections from a refused host, each holding most of a 1 MiB
#     record, are closed at accept (refused_clients moves by exactly 64),
#     hold no memory (nasd's RSS) and do not stop an allowed client;
#   - an idle connection is closed after idle_timeout_s; one client address
#     gets max_conns_per_client connections, the next is closed at accept,
#     another client still gets in;
#   - a stale (validly signed) handle scans the export once, not at every
#     call (scans, latency after the first);
#   - a FIFO in the export: CREATE over it does not block the daemon, nor
#     does one swapped by rename for a file being READ and COMMITted (a
#     concurrent GETATTR answers);
#   - the duplicate request cache answers a retransmission, but not another
#     uid's call with the same xid;
#   - READDIRPLUS of a directory the caller may read but not search gives
#     names without handles or attributes; LOOKUP "." and ".." need search
#     permission; MNT of a subdirectory is walked as the caller;
#   - a MNT path with control characters is logged escaped, and a flood of
#     them rate-limited.
. "$(dirname "$0")/lib.sh"

TEST_TIMEOUT=${TEST_TIMEOUT:-300}
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
lab_up

N1=$(node_ip4 n1)
EXP=$LAB_DIR/nfs
RPC=$REPO/tests/tools/nfs_rpc.py
rpc() { local c=$1 m=$2; shift 2; in_ns "$c" "$PY" "$RPC" "$m" "$N1" "$@"; }
nstat() { nctl n1 '{"cmd":"status"}' | jq -r ".nfs$1 // 0"; }	# a counter (0: none)
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(nasd_pid n1)/status"; }
export NASD_NFS=1 NASD_NFS_CLIENTS='"10.77.1.10/32", "10.77.2.12/32"'
export NASD_EXTRA='"max_sessions": 64,'
restart() {	# restart [SQUASH]: nasd on n1 again, NASD_NFS_SQUASH=SQUASH
	local p
	p=$(nasd_pid n1)
	[ -n "$p" ] && kill "$p" 2>/dev/null && wait_for 5 pid_gone "$p"
	NASD_NFS_SQUASH=${1:-default} nasd_start n1
}

# ------------------------------------------------------------ fixtures --
# pub: anyone may write; nosearch: readable, not searchable by others;
# open: a searchable twin; many: entries for a handle scan to read.
mkdir -p "$EXP/pub" "$EXP/nosearch/sub" "$EXP/open/sub" "$EXP/many"
chmod 1777 "$EXP/pub"
chmod 0744 "$EXP/nosearch"
touch "$EXP/nosearch/secret" "$EXP/open/plain"
mkfifo -m 0666 "$EXP/pub/fifo" "$EXP/pub/vfifo"
echo "victim data" >"$EXP/pub/victim"
chmod 0666 "$EXP/pub/victim"
"$PY" - "$EXP/many" <<'EOF'
import os, sys
for d in range(15):
    p = os.path.join(sys.argv[1], "d%02d" % d)
    os.mkdir(p)
    for i in range(10000):
        os.close(os.open(os.path.join(p, "f%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
EOF

at_exit "kill -9 \$(nasd_pid n1) 2>/dev/null"
export NASD_NFS_EXTRA='"idle_timeout_s": 3, "max_conns_per_client": 8,'
check "tandem-nasd starts on n1 (root_squash left to its default)" restart default || {
	diag "$(tail -n 5 "$LAB_DIR/n1/nasd.log" 2>/dev/null)"
	finish
}

# ---------------------------------------------------------- root_squash --
t=$("$NASD" -t -c "$LAB_DIR/n1/nasd.json")
check "-t says root is squashed by default" grep -q "root_squash: AUTH_SYS uid/gid 0 act as 65534/65534" <<<"$t"
check_eq "CREATE as uid 0 (default config): NFS3_OK" 0 "$(rpc c1 create pub squashed 0 | jq -r .create)"
check_eq "... the file is owned by 65534:65534 (root squashed)" "65534:65534" "$(stat -c %u:%g "$EXP/pub/squashed" 2>/dev/null)"

# ------------------------------------------------- refused host, early --
r0=$(nstat .refused_clients)
rss0=$(rss_kb)
rm -f "$TEST_TMP/ready"
rpc c2 hold 64 8 1048000 "$TEST_TMP/ready" >"$TEST_TMP/hold.json" 2>"$TEST_TMP/hold.err" &
hold=$!
wait_for 20 test -e "$TEST_TMP/ready"
sleep 1
rss1=$(rss_kb)
check_eq "c1 (allowed) answered while c2 holds 64 connections" 0 "$(rpc c1 null | jq -r .null)"
check_eq "c1 MNT works meanwhile" 0 "$(rpc c1 mnt /export | jq -r .mnt)"
diag "nasd RSS ${rss0} kB before, ${rss1} kB with c2's 64 connections and ~64 MiB sent"
check "... nasd holds no buffers for them (RSS grew < 8 MiB)" test $((rss1 - rss0)) -lt 8192
wait "$hold"
j=$(cat "$TEST_TMP/hold.json")
diag "hold: $j"
check_eq "c2 (refused): all 64 connections closed by nasd" 64 "$(jq -r .closed_by_server <<<"$j")"
check_eq "refused_clients moved by exactly 64 (once per connection)" 64 "$(($(nstat .refused_clients) - r0))"
check_eq "c2: MNT gets no answer (closed at accept)" closed "$(rpc c2 mnt /export | jq -r .mnt)"
check_eq "... refused_clients moved by 1 more" 65 "$(($(nstat .refused_clients) - r0))"

# ------------------------------------------- idle timeout, client limit --
j=$(rpc c1 idle 10)
diag "idle: $j"
check_eq "idle connection: NULL answered" 0 "$(jq -r .null <<<"$j")"
check "... closed by nasd after idle_timeout_s (3 s): 2.5..6 s" \
	test "$(jq -r '.closed_after_ms // 0' <<<"$j")" -ge 2500 -a "$(jq -r '.closed_after_ms // 99999' <<<"$j")" -le 6000
check "... counted in idle_closed" test "$(nstat .idle_closed)" -ge 1
l0=$(nstat .client_limit)
rpc n2 conns 9 4 >"$TEST_TMP/conns.json" &
cpid=$!
sleep 2
check_eq "c1 still gets in while n2 holds its 8" 0 "$(rpc c1 null | jq -r .null)"
wait "$cpid"
check_eq "n2: 8 connections answered, the 9th closed at accept (max_conns_per_client 8)" \
	'{"answered":8,"closed":1}' "$(jq -c . "$TEST_TMP/conns.json")"
check_eq "client_limit counted once" 1 "$(($(nstat .client_limit) - l0))"

# ---------------------------------------------------------- stale handle --
s0=$(nstat .scans)
j=$(rpc c1 stale pub 20)
check_eq "stale handle: every GETATTR answers NFS3ERR_STALE" "[70]" "$(jq -c .statuses <<<"$j")"
check_eq "... the export was scanned once, not 20 times" 1 "$(($(nstat .scans) - s0))"
first=$(jq -r '.ms[0]' <<<"$j")
rest=$(jq -r '.ms[1:] | sort | .[length / 2 | floor]' <<<"$j")
diag "stale GETATTR: first ${first} ms (a scan of 150 000 entries), median of the next 19 ${rest} ms"
check "... the calls after the first take under a third of it" awk -v f="$first" -v r="$rest" 'BEGIN { exit !(r * 3 < f) }'
# an inode number reused by a new file under the same name (ext4 gives it
# back at once; tmpfs never): the removed file's handle must stay STALE,
# whatever nasd caches by inode (paths, generations by birth time, signed
# handles)
j=$(rpc c1 reuse pub 10)
diag "inode reuse: $j"
check_eq "a removed file's handle is STALE, its successor's answers, inode number reused or not" \
	"[70] [0]" "$(jq -c .old <<<"$j") $(jq -c .new <<<"$j")"

# ------------------------------------------------------------------ FIFO --
# unblock: a writer for every FIFO, so that an open blocked on one (the
# defect) ends and the checks after it still run
unblock() { local f; for f in fifo vfifo victim; do [ -p "$EXP/pub/$f" ] && timeout 1 sh -c "echo >'$EXP/pub/$f'"; done; true; }
j=$(rpc c1 fifo pub fifo)
unblock
check_eq "CREATE UNCHECKED over a FIFO: EXIST, and a GETATTR meanwhile answers" \
	'{"create":17,"getattr":0}' "$(jq -c . <<<"$j")"
j=$(rpc c1 race pub victim 4 vfifo "$EXP/pub/victim" "$EXP/pub/vfifo")
unblock
diag "race: $j"
check "READ/COMMIT of a file swapped with a FIFO by rename: many calls answered" test "$(jq -r .reads <<<"$j")" -ge 50
check_eq "... none blocked the daemon (concurrent GETATTRs all answered)" 0 "$(jq -r .getattr_timeouts <<<"$j")"
check_eq "... and none timed out" null "$(jq -r '.statuses.timeout' <<<"$j")"

# ------------------------------------------------ duplicate request cache --
check_eq "DRC: CREATE GUARDED OK, the same xid again (uid 1000) from the cache, another uid runs it (EXIST)" \
	"[0,0,17]" "$(rpc c1 drc pub drc-x | jq -c .statuses)"

# ----------------------------------------------------- search permission --
j=$(rpc c1 rdplus nosearch 1000)
check_eq "READDIRPLUS of a readable, unsearchable directory: the names" '[".","..","secret","sub"]' "$(jq -c .names <<<"$j")"
check_eq "... without handles or attributes" "0 0" "$(jq -r '"\(.with_fh) \(.with_attr)"' <<<"$j")"
j=$(rpc c1 rdplus open 1000)
check_eq "READDIRPLUS of a searchable directory: handles and attributes" "4 4" "$(jq -r '"\(.with_fh) \(.with_attr)"' <<<"$j")"
check_eq "LOOKUP \".\" and \"..\" without search permission: ACCES" '{"dot":13,"dotdot":13}' "$(rpc c1 dots nosearch 1000 | jq -c .)"
check_eq "LOOKUP \".\" and \"..\" with it: OK" '{"dot":0,"dotdot":0}' "$(rpc c1 dots open 1000 | jq -c .)"
check_eq "MNT of a subdirectory below an unsearchable one as uid 1000: MNT3ERR_ACCES" 13 "$(rpc c1 mnt /export/nosearch/sub 1000 | jq -r .mnt)"
check_eq "MNT of a subdirectory below a searchable one as uid 1000: OK" 0 "$(rpc c1 mnt /export/open/sub 1000 | jq -r .mnt)"

# --------------------------------------------------------------- MNT log --
log=$LAB_DIR/n1/nasd.log
l0=$(wc -l <"$log")
check_eq "MNT of a path with control characters: NOENT" 2 "$(rpc c1 mnt '/export/\x1b[2J\nFAKE nasd: log line' | jq -r .mnt)"
rpc c2 mnt '/export/\x1b[2J\nFAKE nasd: log line' >/dev/null	# refused: never logged raw either
mnt_esc='nfs_mount_refused client=[^ ]+ client_port=[0-9]+ path="/export/\\x1b\[2J\\nFAKE nasd: log line"'
wait_for 2 grep -qE "$mnt_esc" "$log"
check "... logged escaped" grep -qE "$mnt_esc" "$log"
check "... no escape character or forged line in the log" sh -c "! tail -n +$((l0 + 1)) '$log' | grep -q -e \"\$(printf '\\033')\" -e '^FAKE'"
l1=$(wc -l <"$log")
check_eq "200 failed MNTs on one connection: all answered NOENT" "[2]" "$(rpc c1 mntflood '/export/nope\x07' 200 | jq -c .statuses)"
sleep 1.2
rpc c1 mnt /export/nope2 >/dev/null
n=$(($(wc -l <"$log") - l1))
diag "$n log lines for 201 failed MNTs"
check "... at most a burst of them logged (<= 12 lines)" test "$n" -le 12
check "... the next line says how many were not logged" grep -Eq "nfs_mount_refused .* not_logged=[0-9]+" "$log"

# ------------------------------------------------------- no_root_squash --
check "tandem-nasd restarts with \"root_squash\": false" restart false
t=$("$NASD" -t -c "$LAB_DIR/n1/nasd.json")
check "-t says uid 0 acts as root" grep -q "NO root_squash: AUTH_SYS uid 0 from any allowed client acts as root" <<<"$t"
check_eq "CREATE as uid 0: NFS3_OK" 0 "$(rpc c1 create pub rooted 0 | jq -r .create)"
check_eq "... the file is owned by root" "0:0" "$(stat -c %u:%g "$EXP/pub/rooted" 2>/dev/null)"
check "nasd still running at the end" kill -0 "$(nasd_pid n1)"
finish
