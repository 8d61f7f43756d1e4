#!/bin/bash
# t_nasd_http: tandem-nasd replaces nginx on the storage nodes; unmodified
# curl (and raw sockets) through the VIP.
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100 (tc, Maglev)
#                        br1 .1             storage LAN 10.77.2.0/24
#              +----------+----------+
#             n1 .11     n2 .12     n3 .13
#   each node: nginx stopped; tandem-nasd on VIP:80, [VIP6]:80 and its own
#   address:80 (lbd's health check), exports
#       /     -> LAB_WWW            (shared by the nodes, read-only)
#       /up/  -> LAB_DIR/nX/up      (per node, writable)
#   /node answers the node's name, /slow/F is F at 1 MiB/s, /rate/F?bps=N at
#   N bytes/s (as the lab's nginx); control socket LAB_DIR/nX/nasd.sock.
#
# Checks: full GETs (sha256), Range forms (206/416/ignored), HEAD, keep-alive
# (20 requests, one connection), PUT (201/204, Expect: 100-continue or not)
# then GET back on the same connection and on the node's disk, 50 concurrent
# downloads, malformed requests answered with the right 4xx/5xx while every
# daemon stays up, path traversal and symlinks out of the export refused,
# pipelining, the control socket (status, sessions), and sessions frozen into
# their blob and rebuilt on the same socket in the middle of a download and of
# an upload (session-rebuild), still byte-exact.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
lab_up
lbd_up

# ------------------------------------------------------------ helpers --

# hdr FILE NAME: value of header NAME in a curl -D dump.
hdr() { tr -d '\r' <"$1" | awk -v n="$2" 'index(tolower($0), tolower(n) ":") == 1 { sub(/^[^:]*: */, ""); v = $0 } END { print v }'; }

# raw.py: send raw requests to HOST:PORT and report the status line(s).
cat >"$TEST_TMP/raw.py" <<'EOF'
import json, re, socket, sys
# argv: host port casefile; casefile: JSON lines {"name", "req" (latin-1), "want": [codes]}
host, port = sys.argv[1], int(sys.argv[2])
def status_lines(req, timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(req)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except socket.timeout:
        out += b"<timeout>"
    except ConnectionResetError:
        out += b"<reset>"
    s.close()
    # every response of ours: status line, then Server (error bodies may
    # quote "HTTP/1.1" but never this pair)
    codes = [int(m) for m in re.findall(rb"HTTP/1\.1 ([0-9]{3}) [^\r\n]*\r\nServer: tandem-nasd\r\n", out)]
    return codes, out
for line in open(sys.argv[3]):
    c = json.loads(line)
    codes, out = status_lines(c["req"].encode("latin-1"))
    print(json.dumps({"name": c["name"], "want": c["want"], "got": codes,
                      "head": out[:120].decode("latin-1")}))
EOF

# case NAME WANT REQ (bash $'..' escapes in REQ)
: >"$TEST_TMP/cases"
case_add() {
	"$PY" -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "want": [int(x) for x in sys.argv[2].split(",")], "req": sys.argv[3]}))' \
		"$1" "$2" "$3" >>"$TEST_TMP/cases"
}

# ------------------------------------------------------------- start --

nasd_all_up
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3

# --------------------------------------------------------------- GET --

BASE=http://$VIP4
for f in small.bin 1m.bin 10m.bin; do
	in c1 curl -sS -m 30 -D "$TEST_TMP/$f.h" -o "$TEST_TMP/$f" "$BASE/$f"
	check_eq "GET /$f via the VIP: sha256" "$(want_sha "$f")" "$(sha "$TEST_TMP/$f")"
done
check_eq "Content-Length of 10m.bin" 10485760 "$(hdr "$TEST_TMP/10m.bin.h" Content-Length)"
check "X-Tandem-Node names a node" grep -qE '^X-Tandem-Node: n[123]' "$TEST_TMP/10m.bin.h"
check "ETag and Last-Modified present" sh -c "grep -q '^ETag: \"' '$TEST_TMP/10m.bin.h' && grep -q '^Last-Modified: ' '$TEST_TMP/10m.bin.h'"
check_eq "GET over IPv6 VIP" "$(want_sha 1m.bin)" "$(in_ns c2 curl -sS -m 30 "http://[$VIP6]/1m.bin" | sha256sum | cut -d' ' -f1)"
check_eq "/node answers a node name" 1 "$(fetch c1 "$BASE/node" | grep -cE '^n[123]$')"

# -------------------------------------------------------------- HEAD --

in c1 curl -sS -m 10 -I -o "$TEST_TMP/head.h" "$BASE/10m.bin"
check_eq "HEAD: 200" "HTTP/1.1 200 OK" "$(head -n 1 "$TEST_TMP/head.h" | tr -d '\r')"
check_eq "HEAD: Content-Length of the GET" 10485760 "$(hdr "$TEST_TMP/head.h" Content-Length)"
check_eq "HEAD: Accept-Ranges: bytes" bytes "$(hdr "$TEST_TMP/head.h" Accept-Ranges)"
case_add "HEAD sends no body (next response follows the head at once)" 200,200 \
	$'HEAD /1m.bin HTTP/1.1\r\nHost: v\r\n\r\nHEAD /small.bin HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'

# ------------------------------------------------------------- Range --

W=$LAB_WWW/10m.bin
range_case() {	# range_case SPEC FIRST COUNT
	local spec=$1 first=$2 count=$3 got want code
	code=$(in_ns c1 curl -sS -m 10 -r "$spec" -D "$TEST_TMP/r.h" -o "$TEST_TMP/r.bin" -w '%{http_code}' "$BASE/10m.bin")
	got=$(sha "$TEST_TMP/r.bin")
	want=$(tail -c +$((first + 1)) "$W" | head -c "$count" | sha256sum | cut -d' ' -f1)
	check_eq "Range bytes=$spec: 206, the right $count bytes" "206 $want bytes $first-$((first + count - 1))/10485760" \
		"$code $got $(hdr "$TEST_TMP/r.h" Content-Range)"
}
range_case 0-99 0 100
range_case 100- 100 $((10485760 - 100))
range_case -100 $((10485760 - 100)) 100
range_case 5000000-5000099 5000000 100
range_case 10485700-99999999 10485700 60
code=$(in_ns c1 curl -sS -m 10 -r 10485760- -D "$TEST_TMP/r.h" -o /dev/null -w '%{http_code}' "$BASE/10m.bin")
check_eq "Range past the end: 416, Content-Range: bytes */size" "416 bytes */10485760" "$code $(hdr "$TEST_TMP/r.h" Content-Range)"
code=$(in_ns c1 curl -sS -m 10 -r 0-1,5-6 -o "$TEST_TMP/r.bin" -w '%{http_code}' "$BASE/10m.bin")
check_eq "several ranges: ignored, whole file 200" "200 $(want_sha 10m.bin)" "$code $(sha "$TEST_TMP/r.bin")"
code=$(in_ns c1 curl -sS -m 10 -H 'Range: bytes=0-9' -H 'If-Range: "nope"' -o "$TEST_TMP/r.bin" -w '%{http_code}' "$BASE/small.bin")
check_eq "If-Range not matching: whole file 200" "200 $(want_sha small.bin)" "$code $(sha "$TEST_TMP/r.bin")"
etag=$(hdr "$TEST_TMP/10m.bin.h" ETag)
code=$(in_ns c1 curl -sS -m 10 -H 'Range: bytes=0-9' -H "If-Range: $etag" -o "$TEST_TMP/r.bin" -w '%{http_code} %{size_download}' "$BASE/10m.bin")
check_eq "If-Range with the ETag (same on every node): 206" "206 10" "$code"

# -------------------------------------------------------- keep-alive --

args=()
for i in $(seq 0 19); do
	case $((i % 3)) in
	0) f=small.bin ;; 1) f=1m.bin ;; 2) f=node ;;
	esac
	args+=(-o "$TEST_TMP/ka.$i" "$BASE/$f")
	echo "$f" >"$TEST_TMP/ka.$i.name"
done
in c1 curl -sS -m 60 -w '%{http_code} %{num_connects}\n' "${args[@]}" >"$TEST_TMP/ka.w" 2>"$TEST_TMP/ka.err"
check_eq "keep-alive: 20 requests, all 200, one connection" "20 1" \
	"$(awk '$1 == 200 { n++ } { c += $2 } END { print n + 0, c + 0 }' "$TEST_TMP/ka.w")"
bad=0
for i in $(seq 0 19); do
	f=$(cat "$TEST_TMP/ka.$i.name")
	[ "$f" = node ] && continue
	[ "$(sha "$TEST_TMP/ka.$i")" = "$(want_sha "$f")" ] || bad=$((bad + 1))
done
check_eq "keep-alive: every body sha256-correct" 0 "$bad"

# --------------------------------------------------------------- PUT --

head -c 3145728 /dev/urandom >"$TEST_TMP/put3m"
head -c 100000 /dev/urandom >"$TEST_TMP/put100k"
: >"$TEST_TMP/put0"
put_case() {	# put_case LABEL FILE NAME EXPECT_HDR WANT_CODES
	local label=$1 f=$2 name=$3 exp=$4 want=$5 node codes got
	in_ns c1 curl -sS -m 60 -H "$exp" -H "$NASD_AUTH" -w '%{http_code} %{num_connects}\n' -T "$f" -o /dev/null "$BASE/up/$name" \
		--next -w '%{http_code} %{num_connects}\n' -o "$TEST_TMP/put.back" "$BASE/up/$name" \
		--next -w '%{http_code} %{num_connects}\n' -o "$TEST_TMP/put.node" "$BASE/node" \
		>"$TEST_TMP/put.w" 2>"$TEST_TMP/put.err"
	node=$(cat "$TEST_TMP/put.node" 2>/dev/null)
	codes=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 } END { printf " %d", c } { c += $2 }' "$TEST_TMP/put.w")
	got=$(sha "$TEST_TMP/put.back")
	check_eq "$label: PUT then GET on one connection ($node)" "$want 1 $(sha "$f")" "$codes $got" ||
		diag "$(cat "$TEST_TMP/put.err")"
	case "$node" in
	n1 | n2 | n3) check_eq "$label: stored on $node's disk" "$(sha "$f")" "$(sha "$LAB_DIR/$node/up/$name")" ;;
	*) fail "$label: node known" "node: '$node'" ;;
	esac
}
put_case "3 MiB with Expect: 100-continue" "$TEST_TMP/put3m" a.bin 'Expect: 100-continue' 201,200,200
put_case "100 KiB without Expect" "$TEST_TMP/put100k" b.bin 'Expect:' 201,200,200
put_case "empty file" "$TEST_TMP/put0" empty.bin 'Expect:' 201,200,200
# replacing: PUT to the same name on each node until it existed there
head -c 5000 /dev/urandom >"$TEST_TMP/put5k"
for n in n1 n2 n3; do cp "$TEST_TMP/put5k" "$LAB_DIR/$n/up/r.bin"; done
head -c 7000 /dev/urandom >"$TEST_TMP/put7k"
put_case "replacing an existing file" "$TEST_TMP/put7k" r.bin 'Expect:' 204,200,200
check_eq "no temp files left in the upload dirs" "" "$(ls -A "$LAB_DIR"/n[123]/up | grep '^\.nasd-put' || true)"

# ------------------------------------------------ 50 concurrent downloads --

t0=$(now_ms)
sessions "$TEST_TMP/conc" 50 "$BASE" /1m.bin
read -r t1 t2 t3 failed < <(tally "$TEST_TMP/conc")
diag "50 concurrent downloads: n1 $t1, n2 $t2, n3 $t3, failed $failed, $(($(now_ms) - t0)) ms"
check_eq "50 concurrent downloads: all 200 on one connection each" 0 "$failed" ||
	diag "$(sessions_fail_lines "$TEST_TMP/conc")"
bad=0
for i in $(seq 0 49); do
	[ "$(sha "$TEST_TMP/conc/$i.bin")" = "$(want_sha 1m.bin)" ] || bad=$((bad + 1))
done
check_eq "50 concurrent downloads: every body sha256-correct" 0 "$bad"
check "every node served some of them" test "$t1" -gt 0 -a "$t2" -gt 0 -a "$t3" -gt 0

# ------------------------------------------------ malformed and hostile --

ln -s /etc "$LAB_WWW/etc-link"
ln -s /etc/passwd "$LAB_WWW/passwd-link"
long=$(head -c 10000 /dev/zero | tr '\0' a)
bigh=$(head -c 20000 /dev/zero | tr '\0' b)
many=""
for i in $(seq 1 120); do many+="X-H$i: v"$'\r\n'; done
case_add "garbage" 400 $'GARBAGE\r\n\r\n'
case_add "HTTP/2.0 request line" 505 $'GET / HTTP/2.0\r\nHost: v\r\n\r\n'
case_add "unknown method" 501 $'BREW /pot HTTP/1.1\r\nHost: v\r\n\r\n'
case_add "POST" 501 $'POST /small.bin HTTP/1.1\r\nHost: v\r\nContent-Length: 3\r\n\r\nabc'
case_add "HTTP/1.1 without Host" 400 $'GET /small.bin HTTP/1.1\r\n\r\n'
case_add "two Host fields" 400 $'GET /small.bin HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
case_add "space before colon" 400 $'GET /small.bin HTTP/1.1\r\nHost : v\r\n\r\n'
case_add "bare CR" 400 $'GET /small.bin HTTP/1.1\r\nHost: v\r\nA: b\rc\r\n\r\n'
case_add "obs-fold" 400 $'GET /small.bin HTTP/1.1\r\nHost: v\r\nA: b\r\n c\r\n\r\n'
case_add "10000-byte URI" 414 "GET /$long HTTP/1.1"$'\r\nHost: v\r\n\r\n'
case_add "20 KB header field" 431 $'GET /small.bin HTTP/1.1\r\nHost: v\r\nX-Big: '"$bigh"$'\r\n\r\n'
case_add "120 header fields" 431 $'GET /small.bin HTTP/1.1\r\nHost: v\r\n'"$many"$'\r\n'
case_add "chunked PUT" 411 $'PUT /up/c.bin HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
case_add "PUT without length" 411 $'PUT /up/c.bin HTTP/1.1\r\nHost: v\r\n\r\n'
case_add "PUT larger than max_upload" 413 $'PUT /up/c.bin HTTP/1.1\r\nHost: v\r\nContent-Length: 99999999999999\r\n\r\n'
case_add "TE and Content-Length" 400 $'PUT /up/c.bin HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello'
case_add "Expect: other" 417 $'GET /small.bin HTTP/1.1\r\nHost: v\r\nExpect: 200-ok\r\n\r\n'
case_add "bad percent-escape" 400 $'GET /small%zz HTTP/1.1\r\nHost: v\r\n\r\n'
case_add "encoded NUL" 400 $'GET /small.bin%00.txt HTTP/1.1\r\nHost: v\r\n\r\n'
case_add "traversal ../../etc/passwd" 403 $'GET /../../etc/passwd HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "traversal %2e%2e" 403 $'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "traversal ..%2f" 403 $'GET /up/..%2f..%2f..%2fetc/passwd HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "symlinked directory out of the export" 403 $'GET /etc-link/passwd HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "symlink to a file outside" 403 $'GET /passwd-link HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "directory" 403 $'GET / HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "missing file" 404 $'GET /nope.bin HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "temp file names are hidden" 404 $'GET /up/.nasd-put.1.2 HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "PUT traversal" 403 $'PUT /up/../../x HTTP/1.1\r\nHost: v\r\nContent-Length: 1\r\n\r\nx'
case_add "PUT to the read-only export" 403 $'PUT /x.bin HTTP/1.1\r\nHost: v\r\nContent-Length: 1\r\n\r\nx'
case_add "PUT to a temp file name" 403 $'PUT /up/.nasd-put.x HTTP/1.1\r\nHost: v\r\n'"$NASD_AUTH"$'\r\nContent-Length: 1\r\n\r\nx'
case_add "PUT into a missing directory" 409 $'PUT /up/no/x HTTP/1.1\r\nHost: v\r\n'"$NASD_AUTH"$'\r\nContent-Length: 1\r\n\r\nx'
case_add "pipelined: two answers in order" 200,200 \
	$'GET /node HTTP/1.1\r\nHost: v\r\n\r\nGET /small.bin HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "404 keeps the connection" 404,200 \
	$'GET /nope HTTP/1.1\r\nHost: v\r\n\r\nGET /node HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "HTTP/1.0 closes by default" 200 $'GET /node HTTP/1.0\r\n\r\nGET /node HTTP/1.0\r\n\r\n'
case_add "absolute-form target" 200 $'GET http://v/node HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n'
case_add "partial head, then EOF: no answer" 0 $'GET /small.bin HTTP/1.1\r\nHo'

in c1 "$PY" "$TEST_TMP/raw.py" "$VIP4" 80 "$TEST_TMP/cases" >"$TEST_TMP/raw.out" 2>&1
if [ "$(wc -l <"$TEST_TMP/raw.out")" != "$(wc -l <"$TEST_TMP/cases")" ]; then
	fail "raw requests ran" "$(tail -n 5 "$TEST_TMP/raw.out")"
fi
while IFS= read -r l; do
	name=$(jq -r .name <<<"$l")
	want=$(jq -c '.want | map(select(. != 0))' <<<"$l")
	got=$(jq -c .got <<<"$l")
	check_eq "raw: $name -> $want" "$want" "$got" || diag "$(jq -r .head <<<"$l")"
done <"$TEST_TMP/raw.out"
code=$(in_ns c1 curl -sS -m 10 --path-as-is -o /dev/null -w '%{http_code}' "$BASE/../../../etc/passwd")
check_eq "curl --path-as-is /../../../etc/passwd: 403" 403 "$code"
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
	check_eq "$n: answers on its own address" "$n" "$(in_ns sw curl -sS -m 5 "http://$(node_ip4 "$n")/node")"
done

# ---------------------------------------------------- control socket --

total=0
for n in n1 n2 n3; do
	st=$(nctl "$n" '{"cmd":"status"}')
	check "$n: status answers with counters" jq -e '.ok and .requests > 0 and .bytes_served > 0 and .responses["4xx"] >= 0' <<<"$st"
	total=$((total + $(jq .requests <<<"$st")))
done
check_le "requests counted by the nodes (at least the 100 made here)" 100 "$total"
check_eq "nctl: unknown command refused" false "$(nctl n1 '{"cmd":"nope"}' | jq .ok)"

# find_session JQ_SELECT: "node id" of the first session matching, any node.
find_session() {
	local n
	for n in n1 n2 n3; do
		nctl "$n" '{"cmd":"sessions"}' | jq -r --arg n "$n" ".sessions[] | select($1) | \"\(\$n) \(.id)\"" | head -n 1
	done | head -n 1
}
has_session() { [ -n "$(find_session "$1")" ]; }

# --------------------------- freeze + rebuild in the middle of a download --

# 10m.bin at 1.5 MB/s: about 7 s; rebuilt from its blob 6 times on the way
in c1 curl -sS -m 40 -w '%{http_code} %{local_port}\n' -o "$TEST_TMP/slow.bin" "$BASE/rate/10m.bin?bps=1500000" \
	>"$TEST_TMP/slow.w" 2>&1 &
slow_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r snode sid < <(find_session '.path == "/rate/10m.bin"')
if [ -n "${sid:-}" ]; then
	sj=$(nctl "$snode" '{"cmd":"sessions"}' | jq -c ".sessions[] | select(.id == $sid)")
	check "sessions: the download on $snode lists client $C1_IP4, send state, remaining bytes" \
		jq -e --arg c "$C1_IP4" '(.client | startswith($c + ":")) and (.state == "send" or .state == "throttled") and .send.remaining > 0 and .send.rate == 1500000' <<<"$sj"
	st=$(nctl "$snode" "{\"cmd\":\"session-state\",\"id\":$sid}")
	check "session-state: a blob of under 200 bytes mid-response" jq -e '.ok and .phase == "send" and .bytes < 200' <<<"$st"
	ok_rb=0
	for i in 1 2 3 4 5 6; do
		sleep 0.3
		r=$(nctl "$snode" "{\"cmd\":\"session-rebuild\",\"id\":$sid}")
		if jq -e '.ok and .phase == "send"' <<<"$r" >/dev/null; then
			ok_rb=$((ok_rb + 1))
			sid=$(jq .id <<<"$r")
		else
			diag "rebuild $i: $r"
			break
		fi
	done
	check_eq "download frozen mid-response and rebuilt from its blob 6 times" 6 "$ok_rb"
else
	fail "the slow download shows up in a node's sessions" "$(for n in n1 n2 n3; do nctl "$n" '{"cmd":"sessions"}'; done)" "$(cat "$TEST_TMP/slow.w")"
fi
wait_for 30 pid_gone "$slow_pid"
wait "$slow_pid"
check_eq "rebuilt download: 200 and sha256-correct" "200 $(want_sha 10m.bin)" \
	"$(awk '{ print $1 }' "$TEST_TMP/slow.w") $(sha "$TEST_TMP/slow.bin")"

# ----------------------------- freeze + rebuild in the middle of an upload --

head -c 4194304 /dev/urandom >"$TEST_TMP/up4m"
in c1 curl -sS -m 40 -H 'Expect:' -H "$NASD_AUTH" --limit-rate 800k -w '%{http_code}\n' -T "$TEST_TMP/up4m" -o /dev/null \
	"$BASE/up/slow.bin" >"$TEST_TMP/slowup.w" 2>&1 &
up_pid=$!
wait_for 5 has_session '.upload.path == "/up/slow.bin"'
read -r unode uid < <(find_session '.upload.path == "/up/slow.bin"')
if [ -n "${uid:-}" ]; then
	ok_rb=0
	for i in 1 2 3 4; do
		sleep 0.3
		r=$(nctl "$unode" "{\"cmd\":\"session-rebuild\",\"id\":$uid}")
		if jq -e '.ok and .phase == "body"' <<<"$r" >/dev/null; then
			ok_rb=$((ok_rb + 1))
			uid=$(jq .id <<<"$r")
		else
			diag "rebuild $i: $r"
			break
		fi
	done
	check_eq "upload frozen mid-body and rebuilt from its blob 4 times" 4 "$ok_rb"
else
	fail "the slow upload shows up in a node's sessions"
fi
wait_for 30 pid_gone "$up_pid"
wait "$up_pid"
check_eq "rebuilt upload: 201 and the file on $unode's disk sha256-correct" "201 $(sha "$TEST_TMP/up4m")" \
	"$(cat "$TEST_TMP/slowup.w") $(sha "$LAB_DIR/${unode:-n1}/up/slow.bin" 2>/dev/null)"
check_eq "restored sessions counted" 10 \
	"$(for n in n1 n2 n3; do nctl "$n" '{"cmd":"status"}' | jq .sessions_restored; done | awk '{ s += $1 } END { print s }')"

for n in n1 n2 n3; do
	check "$n: tandem-nasd still running at the end" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
