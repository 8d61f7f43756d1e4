#!/bin/bash
# t_data_location: the data-location trigger.  Each node is the home of one
# directory (/h1/ on n1, /h2/ on n2, /h3/ on n3; the files differ per node).
# A node asked for a file whose home is another node serves it by fetching
# from the home (HEAD, then GET Range pieces), and hands the session to the
# home once the bytes fetched for it reach the threshold (256 KiB): between
# requests, or in the middle of a response.  Unmodified TCP clients.
#
#   c1 .10 -- [sw: tandem-lbd, handoff reports 10.77.2.1:7406] -- n1 n2 n3 (tandem-nasd)
#
#  1. small reads: one keep-alive connection lands on X; it reads four
#     64 KiB files homed on Y: each is answered by X (X-Tandem-Node: X),
#     sha256-correct; after the fourth (256 KiB fetched) the session is
#     handed to Y: /node on the same connection answers Y, lbd's flow names
#     Y, X counts one handoff home.
#  2. mid-response: a new connection lands on X; it reads a 3 MiB file homed
#     on Y: the head comes from X, the session moves to Y during the body,
#     the body is sha256-correct, /node afterwards answers Y.
#  3. a file missing at its home: 404 from the node the client is on.
#  4. curl: 9 downloads of the three big files with fresh connections; all
#     sha256-correct; every download whose head came from a node other than
#     the file's home was handed home (counters: handoffs_home_ok grew by
#     exactly that many, none failed, no fetch error).
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq curl
handoff_lab_up

THRESHOLD=262144
for n in n1 n2 n3; do
	mkdir -p "$LAB_DIR/$n/home"
	for i in 1 2 3 4 5; do head -c 65536 /dev/urandom >"$LAB_DIR/$n/home/s$i"; done
	head -c $((3 << 20)) /dev/urandom >"$LAB_DIR/$n/home/big"
done
nasd_extra_exports() { echo ", { \"url\": \"/h${1#n}/\", \"path\": \"$LAB_DIR/$1/home\" }"; }
nasd_extra_json() {
	cat <<EOF
"data_location": { "threshold": $THRESHOLD, "homes": [
    { "prefix": "/h1/", "node": "n1", "address": "$(node_ip4 n1):80" },
    { "prefix": "/h2/", "node": "n2", "address": "$(node_ip4 n2):80" },
    { "prefix": "/h3/", "node": "n3", "address": "$(node_ip4 n3):80" } ] },
EOF
}
nasd_all_up handoff
dl() { nctl "$1" '{"cmd":"status"}' | jq -r ".data_location$2"; }
sum_dl() { echo $(($(dl n1 "$1") + $(dl n2 "$1") + $(dl n3 "$1"))); }

# ka.py VIP PATH...: one keep-alive connection; per request a JSON line
# {path, status, node (X-Tandem-Node), sha256, body (for /node)}; first
# line {"port": local port}.  The first path must be /node; "@" in a later
# path becomes the number of a node other than the one answering that
# first /node (n1 -> 2, n2 -> 3, n3 -> 1), reported as {"x", "y"}.
cat >"$TEST_TMP/ka.py" <<'EOF'
import hashlib, json, socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=20)
print(json.dumps({"port": s.getsockname()[1]}), flush=True)
buf = b""
def read_until(pred):
    global buf
    while not pred():
        c = s.recv(1 << 16)
        if not c:
            raise SystemExit("connection closed")
        buf += c
y = None
for path in sys.argv[2:]:
    if "@" in path:
        path = path.replace("@", y)
    s.sendall(("GET %s HTTP/1.1\r\nHost: vip\r\n\r\n" % path).encode())
    read_until(lambda: b"\r\n\r\n" in buf)
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    n = int(hdr.get("content-length", "0"))
    buf = rest
    read_until(lambda: len(buf) >= n)
    body, buf = buf[:n], buf[n:]
    print(json.dumps({"path": path, "status": int(lines[0].split()[1]), "node": hdr.get("x-tandem-node"),
                      "sha256": hashlib.sha256(body).hexdigest(),
                      "body": body.decode("latin-1").strip() if path == "/node" else None}), flush=True)
    if y is None:
        x = body.decode().strip()
        y = str(int(x[1:]) % 3 + 1)
        print(json.dumps({"x": x, "y": "n" + y}), flush=True)
EOF
ka() { in_ns c1 "$PY" "$TEST_TMP/ka.py" "$VIP4" "$@"; }
field() { jq -r --arg p "$2" "select(.path == \$p) | .$3" "$1" | head -n 1; }

# ------------------------------------------------------ 1. small reads --

home0=$(sum_dl .handoffs_home_ok)
ka /node /h@/s1 /h@/s2 /h@/s3 /h@/s4 /node /h@/s5 >"$TEST_TMP/ka1.json" 2>"$TEST_TMP/ka1.err"
check_eq "keep-alive client: 7 answers on one connection" 7 "$(grep -c '"path"' "$TEST_TMP/ka1.json")" ||
	diag "$(cat "$TEST_TMP/ka1.err")"
X=$(jq -r 'select(.x) | .x' "$TEST_TMP/ka1.json")
Y=$(jq -r 'select(.y) | .y' "$TEST_TMP/ka1.json")
y=${Y#n}
diag "connection landed on $X; reading /h$y/ (homed on $Y)"
for i in 1 2 3 4; do
	check_eq "/h$y/s$i: 200 from $X (not its home), sha256-correct" "200 $X $(sha "$LAB_DIR/$Y/home/s$i")" \
		"$(field "$TEST_TMP/ka1.json" "/h$y/s$i" status) $(field "$TEST_TMP/ka1.json" "/h$y/s$i" node) $(field "$TEST_TMP/ka1.json" "/h$y/s$i" sha256)"
done
check_eq "after 256 KiB fetched the session is on $Y: /node answers $Y" "$Y" \
	"$(jq -r 'select(.path == "/node") | .body' "$TEST_TMP/ka1.json" | sed -n 2p)"
check_eq "/h$y/s5 now served by its home $Y, sha256-correct" "$Y $(sha "$LAB_DIR/$Y/home/s5")" \
	"$(field "$TEST_TMP/ka1.json" "/h$y/s5" node) $(field "$TEST_TMP/ka1.json" "/h$y/s5" sha256)"
check_eq "one handoff home counted" 1 "$(($(sum_dl .handoffs_home_ok) - home0))"
KP=$(jq -r 'select(.port) | .port' "$TEST_TMP/ka1.json")
check_eq "lbd's flow for that connection names $Y" "$Y" "$(flow_node "$C1_IP4" "$KP" 80)"

# ---------------------------------------------------- 2. mid-response --

home0=$(sum_dl .handoffs_home_ok)
ka /node /h@/big /node >"$TEST_TMP/ka2.json" 2>"$TEST_TMP/ka2.err"
X2=$(jq -r 'select(.x) | .x' "$TEST_TMP/ka2.json")
Y=$(jq -r 'select(.y) | .y' "$TEST_TMP/ka2.json")
y=${Y#n}
diag "connection landed on $X2; reading /h$y/big (homed on $Y)"
check_eq "/h$y/big: 200, head from $X2, sha256-correct" "200 $X2 $(sha "$LAB_DIR/$Y/home/big")" \
	"$(field "$TEST_TMP/ka2.json" "/h$y/big" status) $(field "$TEST_TMP/ka2.json" "/h$y/big" node) $(field "$TEST_TMP/ka2.json" "/h$y/big" sha256)" ||
	diag "$(cat "$TEST_TMP/ka2.err")"
check_eq "the session moved to $Y during the body: /node answers $Y" "$Y" \
	"$(jq -r 'select(.path == "/node") | .body' "$TEST_TMP/ka2.json" | sed -n 2p)"
check_eq "one more handoff home" 1 "$(($(sum_dl .handoffs_home_ok) - home0))"

# ------------------------------------------------------ 3. missing file --

code=$(in_ns c1 curl -s -o /dev/null -w '%{http_code}' "http://$VIP4/h$y/nope")
check_eq "a file missing at its home: 404" 404 "$code"

# ----------------------------------------------------------- 4. curl --

home0=$(sum_dl .handoffs_home_ok)
want=0
okc=0
for r in 1 2 3; do
	for h in 1 2 3; do
		in_ns c1 curl -sS -m 30 -D "$TEST_TMP/c$r$h.h" -o "$TEST_TMP/c$r$h.body" "http://$VIP4/h$h/big" ||
			continue
		node=$(tr -d '\r' <"$TEST_TMP/c$r$h.h" | awk -F': ' 'tolower($1) == "x-tandem-node" { print $2 }')
		[ "$node" != "n$h" ] && want=$((want + 1))
		[ "$(sha "$TEST_TMP/c$r$h.body")" = "$(sha "$LAB_DIR/n$h/home/big")" ] && okc=$((okc + 1))
	done
done
check_eq "9 curl downloads, sha256-correct" 9 "$okc"
check_eq "every download that started away from its home went home ($want)" "$want" \
	"$(($(sum_dl .handoffs_home_ok) - home0))"
check_eq "no failed handoff home, no fetch error" "0 0" "$(sum_dl .handoffs_home_failed) $(sum_dl .fetch_errors)"
for n in n1 n2 n3; do
	diag "$n data_location: $(nctl "$n" '{"cmd":"status"}' | jq -c .data_location)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
