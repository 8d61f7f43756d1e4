#!/bin/bash
# t_flows_paging: the flows command is paged and bounded, and a client that
# stops reading never stalls lbd.
#
#   c1 --- brc --- eth0 [sw: lbd] br1 --- p1..p3 --- n1 n2 n3
#                        control socket LBD_SOCK <--- tandemctl, python3
#                        pinned lb_flows <--- flowgen fill (30000 flows)
#
#   1. 30000 flows put straight into the pinned flow map (flowgen fill);
#   2. a raw request for 100000 rows is refused (at most 10000 per request,
#      the error names the cursor); 10000 rows come with a "cursor"; pages
#      followed by their cursors list every flow exactly once;
#   3. a count-only walk (limit 0) adds up to the table;
#   4. tandemctl flows pages for the user: --limit 100000 lists all 30000+,
#      "total" is the table's count; the default shows 1000 of them,
#      "truncated"; --node filters across pages;
#   4b. --client ADDR:PORT finds one session, --client ADDR that address's
#      flows, as the full listing has them;
#   5. a client that asks for five 10000-row pages and reads nothing: lbd
#      answers `tandemctl status` at once meanwhile (within 1 s), and is the
#      same process afterwards.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq python3
lab_up
lbd_start >/dev/null || {
	fail "lbd starts" "$(tail -n 20 "$LBD_LOG")"
	finish
}
pid=$(lbd_pid)
N=30000

# ---- 1. the table
map=$LAB_BPFFS/tandem/$LAB_NAME/lb_flows
fill=$(timeout 60 "$TANDEM_BUILD/tools/flowgen" fill -m "$map" -n $N -N 3)
diag "flowgen fill: $fill"
entries=$(jctl status | jq -r .flows)
check_between "the flow table holds the $N flows" "$entries" $N $((N + 100))

# ---- 2. raw pages
RAW='
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rb")
def ask(req):
    s.sendall(json.dumps(req).encode() + b"\n")
    return json.loads(f.readline())
mode = sys.argv[2]
if mode == "one":
    print(json.dumps(ask(json.loads(sys.argv[3]))))
elif mode == "walk":
    limit, cursor, seen, pages, rows, matched = int(sys.argv[3]), None, set(), 0, 0, 0
    while True:
        req = {"cmd": "flows", "limit": limit}
        if cursor: req["cursor"] = cursor
        r = ask(req)
        if not r.get("ok"): print(json.dumps(r)); sys.exit(1)
        pages += 1; matched += r["matched"]
        for x in r["flows"]:
            rows += 1; seen.add((x["client"], x["client_port"], x["vip"], x["port"], x["proto"]))
        if len(r["flows"]) > max(limit, 0): print("page over its limit"); sys.exit(1)
        cursor = r.get("cursor")
        if not cursor: break
    print(json.dumps({"pages": pages, "rows": rows, "distinct": len(seen), "matched": matched}))
'
raw() { timeout 60 python3 -c "$RAW" "$LBD_SOCK" "$@"; }
big=$(raw one '{"cmd":"flows","limit":100000}')
check "100000 rows in one request: refused, the error says 10000 and cursor" \
	jq -e '.ok == false and (.error | test("10000")) and (.error | test("cursor"))' <<<"${big:-null}" ||
	diag "$(head -c 300 <<<"$big")"
p1=$(raw one '{"cmd":"flows","limit":10000}')
check "10000 rows: one full page with a cursor" \
	jq -e '.ok and (.flows | length) == 10000 and (.cursor | type) == "string"' <<<"${p1:-null}" ||
	diag "$(jq -c 'del(.flows)' <<<"$p1" 2>&1 | head -c 300)"
check "a forged cursor is refused" \
	jq -e '.ok == false and (.error | test("cursor"))' <<<"$(raw one '{"cmd":"flows","cursor":"zz.1"}')"
walk=$(raw walk 7000)
diag "walk by 7000: $walk"
check "pages of 7000 followed by cursor: every flow once ($entries)" \
	jq -e --argjson n "$entries" '.rows == $n and .distinct == $n and .matched == $n and .pages >= 5' <<<"${walk:-null}"

# ---- 3. count only
cnt=$(raw walk 0)
diag "count-only walk: $cnt"
check "limit 0 walks count the table without rows" \
	jq -e --argjson n "$entries" '.rows == 0 and .matched == $n' <<<"${cnt:-null}"

# ---- 4. tandemctl
all=$(jctl flows --limit 100000)
check "tandemctl flows --limit 100000: every flow, total = the table" \
	jq -e --argjson n "$entries" '(.flows | length) == $n and .total == $n and .truncated == false' <<<"${all:-null}" ||
	diag "$(jq -c 'del(.flows)' <<<"$all" 2>&1 | head -c 300)"
def=$(jctl flows)
check "tandemctl flows: 1000 shown, total $entries, truncated" \
	jq -e --argjson n "$entries" '(.flows | length) == 1000 and .total == $n and .truncated' <<<"${def:-null}"
n2=$(jctl flows --node n2 --limit 100000)
check_eq "tandemctl flows --node n2: a third of the flows, all on n2" "ok" \
	"$(jq -r --argjson n $N 'if (.flows | length) == .total and .total >= ($n / 3 | floor) and
		([.flows[] | select(.node != "n2")] | length) == 0 then "ok" else "bad" end' <<<"$n2")"
check "tandemctl flows (text): the summary line" \
	sh -c "timeout 20 '$TANDEMCTL' -s '$LBD_SOCK' flows | tail -n 1 | grep -q '1000 flows shown of $entries'"

# ---- 4b. one client's flows, found by lbd (--client)
vol='del(.age_ms, .packets, .bytes)'
one=$(timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" --json flows --limit 1 | jq -c ".flows[0] | $vol")
ca=$(jq -r .client <<<"$one") cp=$(jq -r .client_port <<<"$one")
got=$(timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" --json flows --client "$ca:$cp")
check_eq "flows --client $ca:$cp: that one session" "1 $one" \
	"$(jq .total <<<"$got") $(jq -c ".flows[0] | $vol" <<<"$got")"
want=$(timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" --json flows --limit 100000 |
	jq --arg c "$ca" '[.flows[] | select(.client == $c)] | length')
check_eq "flows --client $ca: as many as the full listing has of that address" "$want" \
	"$(timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" --json flows --client "$ca" --limit 100000 | jq .total)"
check_eq "flows --client of an address with no flow: none" 0 \
	"$(timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" --json flows --client 192.0.2.99 | jq .total)"
rc=0
timeout 20 "$TANDEMCTL" -s "$LBD_SOCK" flows --client nonsense:x 2>/dev/null || rc=$?
check_eq "flows --client nonsense: a usage error (exit 2)" 2 "$rc"
check_eq "lbd refuses client_port without client" false \
	"$(python3 -c "$RAW" "$LBD_SOCK" one '{"cmd":"flows","client_port":5}' | jq .ok)"

# ---- 5. a client that does not read
timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
for i in range(5):
    s.sendall(b"{\"cmd\":\"flows\",\"limit\":10000}\n")
time.sleep(8)' "$LBD_SOCK" &
stuck=$!
sleep 1
t0=$(now_ms)
st=$(ctl status 2>&1)
ms=$(($(now_ms) - t0))
check "lbd answers status while a client does not read its replies" grep -q "flows" <<<"$st"
check_le "... at once (ms)" "$ms" 1000
ms2=$(
	t0=$(now_ms)
	ctl nodes >/dev/null
	echo $(($(now_ms) - t0))
)
check_le "a second request meanwhile (ms)" "$ms2" 1000
kill "$stuck" 2>/dev/null
wait "$stuck" 2>/dev/null
check_eq "lbd is the same process (pid $pid)" "$pid" "$(jctl status | jq -r .pid)"
check "lbd log: no crash, no fatal" sh -c "! grep -Eqi 'fatal|abort|segfault|sanitizer' '$LBD_LOG'"
finish
