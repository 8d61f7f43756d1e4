#!/bin/bash
# t_ctl_errors: bad input is refused clearly and never crashes anything.
#
#   tandem-lbd -t -c FILE      (no lab needed: parses only)
#
#   c1 c2 --- brc --- eth0 [sw: lbd] br1 --- p1..p3 --- n1 n2 n3
#                          control socket LBD_SOCK <--- tandemctl, python3
#
#   1. `tandem-lbd -t -c` on ~30 broken configurations (each a one-key
#      change of the lab's good config, or broken bytes): exit 1 (not a
#      signal, not a timeout), one message naming the file and the key or
#      JSON position, never "configuration OK"; the good config: exit 0 and
#      "configuration OK";
#   2. tandemctl: missing socket, a dead socket file and a silent server ->
#      exit 3; unknown node (drain, undrain, migrate, flows) -> exit 1 with
#      'no node'; usage errors -> exit 2;
#   3. raw control-socket lines (python3): malformed JSON, non-objects,
#      unknown commands, bad arguments, an over-long line -> {"ok":false,
#      "error":...}; a good request on the same connection still works, and
#      lbd (same pid) answers afterwards.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq python3
lab_up

# ---- 1. tandem-lbd -t
good=$TEST_TMP/good.json
cp "$LBD_CONF" "$good"

# lbd_t FILE: run the check; sets T_RC and T_OUT (stdout and stderr).
lbd_t() {
	T_RC=0
	T_OUT=$(timeout 10 "$LBD_BIN" -t -c "$1" 2>&1) || T_RC=$?
}

# bad DESC FILE REGEX: FILE is refused: exit 1, message names FILE and REGEX.
bad() {
	local desc=$1 f=$2 re=$3
	lbd_t "$f"
	if [ "$T_RC" = 1 ] && grep -q -- "$f: " <<<"$T_OUT" && grep -Eq -- "$re" <<<"$T_OUT" &&
		! grep -q "configuration OK" <<<"$T_OUT" && [ "$(wc -l <<<"$T_OUT")" = 1 ]; then
		ok "-t refuses $desc: ${T_OUT#*tandem-lbd: }"
	else
		fail "-t refuses $desc (exit 1, one line naming $f and /$re/)" \
			"exit $T_RC" "$T_OUT"
	fi
}

# badj DESC JQ REGEX: the good config changed by the jq filter JQ.
n=0
badj() {
	n=$((n + 1))
	local f=$TEST_TMP/bad$n.json
	jq "$2" "$good" >"$f" || {
		fail "jq filter for $1"
		return
	}
	bad "$1" "$f" "$3"
}

lbd_t "$good"
check_eq "-t on the lab config: exit 0" 0 "$T_RC"
check "-t on the lab config: 'configuration OK' (3 nodes, 2 VIPs, 6 services)" \
	grep -q "$good: configuration OK (3 node(s), 2 VIP(s), 6 service(s))" <<<"$T_OUT"

badj "an unknown top-level key" '.colour = "blue"' 'unknown key "colour"'
badj "a missing client_interface" 'del(.client_interface)' '"client_interface" is required'
badj "a numeric storage_interface" '.storage_interface = 1' '"storage_interface" must be a string'
badj "an empty control_socket" '.control_socket = ""' '"control_socket" must not be empty'
badj "a bad instance name" '.instance = "a/b"' '"instance" "a/b": use letters'
badj "a 33-char instance name" '.instance = "abcdefghijklmnopqrstuvwxyz0123456"' '"instance" is too long'
badj "attach dpdk" '.attach = "dpdk"' '"attach" "dpdk": must be "tc" or "xdp"'
badj "flow_table_size as a string" '.flow_table_size = "big"' '"flow_table_size" must be an integer'
badj "flow_table_size too small" '.flow_table_size = 10' '"flow_table_size" is 10, must be 1024..16777216'
badj "a maglev_size that is not prime" '.maglev_size = 65538' '"maglev_size" 65538 is not prime'
badj "the same client and storage interface" '.storage_interface = .client_interface' 'must differ'
badj "health timeout above interval" '.health.timeout_ms = 500' \
	'health: "timeout_ms" \(500\) must not exceed "interval_ms" \(300\)'
badj "health interval 50 ms" '.health.interval_ms = 50' 'health: "interval_ms" is 50, must be 100..60000'
badj "health as an array" '.health = []' 'health: must be an object'
badj "a typo in health" '.health.falls = 3' 'health: unknown key "falls"'
badj "no nodes" '.nodes = []' '"nodes" must be a non-empty array'
badj "256 nodes" '.nodes = [range(256) | {name: "x\(.)", address: "10.9.\(. / 256 | floor).\(. % 256)"}]' \
	'"nodes": at most 255 nodes'
badj "node weight 5000" '.nodes[1].weight = 5000' 'nodes\[1\]: "weight" is 5000, must be 0..1000'
badj "a negative node weight" '.nodes[0].weight = -1' 'nodes\[0\]: "weight" is -1, must be 0..1000'
badj "a bad node address" '.nodes[2].address = "10.77.2.300"' \
	'nodes\[2\]: "address" "10.77.2.300" is not an IPv4 or IPv6 address'
badj "a duplicate node name" '.nodes[1].name = "n1"' 'nodes\[1\]: duplicate node name "n1"'
badj "a duplicate node address" '.nodes[2].address = .nodes[0].address' \
	'nodes\[2\]: address already used by node "n1"'
badj "a node port as a number" '.nodes[0].port = 7' 'nodes\[0\]: "port" must be a string'
badj "a node without a name" 'del(.nodes[0].name)' 'nodes\[0\]: "name" is required'
badj "service proto sctp" '.vips[0].services[1].proto = "sctp"' \
	'vips\[0\].services\[1\]: "proto" "sctp": must be "tcp" or "udp"'
badj "service port 0" '.vips[0].services[0].port = 0' 'vips\[0\].services\[0\]: "port" is 0, must be 1..65535'
badj "a service without a port" 'del(.vips[1].services[0].port)' 'vips\[1\].services\[0\]: "port" is required'
badj "affinity sticky" '.vips[0].services[0].affinity = "sticky"' \
	'vips\[0\].services\[0\]: "affinity" "sticky": must be "none" or "client"'
badj "a duplicate service" '.vips[0].services[1] = .vips[0].services[0]' \
	'vips\[0\].services\[1\]: duplicate service tcp/80'
badj "65 services" '.vips[0].services = [range(1; 64) | {proto: "tcp", port: .}]' \
	'at most 64 services over all VIPs'
badj "two VIPs on one address" '.vips[1].address = .vips[0].address' \
	'vips\[1\]: address already used by VIP "v4"'
badj "a VIP on a node address" '.vips[0].address = .nodes[1].address' \
	'vips\[0\]: address is node "n2"'"'"'s address'
badj "the top level an array" '[.]' 'top level must be a JSON object'

f=$TEST_TMP/dupkey.json
sed '0,/"instance"/s/"instance": \("[^"]*"\),/"instance": \1, "instance": "again",/' "$good" >"$f"
bad "a duplicate key" "$f" 'duplicate object key'
f=$TEST_TMP/truncated.json
head -c 300 "$good" >"$f"
bad "a truncated file" "$f" 'line [0-9]+ column [0-9]+: '
f=$TEST_TMP/empty.json
: >"$f"
bad "an empty file" "$f" "line 1 column 0: '\[' or '\{' expected"
f=$TEST_TMP/binary.json
printf '\377\376{}' >"$f"
bad "bytes that are not UTF-8" "$f" 'unable to decode byte 0xff'
f=$TEST_TMP/nul.json
jq '.instance = "a\u0000b"' "$good" >"$f"
bad "a \\u0000 inside a string" "$f" 'u0000 is not allowed'
f=$TEST_TMP/deep.json
python3 -c 'print("[" * 200000)' >"$f"
bad "200000 nested arrays" "$f" 'maximum parsing depth'
f=$TEST_TMP/big.json
python3 -c 'import sys; sys.stdout.write("{\"instance\": \"" + "a" * (40 << 20) + "\"}")' >"$f"
bad "a 40 MiB file" "$f" 'larger than 16 MiB'
rm -f "$f"
bad "a missing file" "$TEST_TMP/nonexistent.json" 'No such file or directory'
bad "a directory" "$TEST_TMP" 'read error'

# ---- 2. tandemctl against no daemon / a silent one, usage errors
lbd_up
pid=$(lbd_pid)

# tctl_rc WANT DESC ARGS...: tandemctl ARGS exits WANT; its output is kept in TC_OUT.
tctl_rc() {
	local want=$1 desc=$2 rc=0
	shift 2
	TC_OUT=$(timeout 20 "$TANDEMCTL" "$@" 2>&1) || rc=$?
	check_eq "$desc: exit $want" "$want" "$rc" || diag "$TC_OUT"
}
tctl_rc 3 "tandemctl -s <missing socket> status" -s "$TEST_TMP/nope.sock" status
check "  ... and says it cannot reach the daemon" grep -q "nope.sock" <<<"$TC_OUT"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' \
	"$TEST_TMP/dead.sock"
tctl_rc 3 "tandemctl -s <socket file nobody listens on> status" -s "$TEST_TMP/dead.sock" status
: >"$TEST_TMP/plain"
tctl_rc 3 "tandemctl -s <regular file> status" -s "$TEST_TMP/plain" status
# A server that accepts and never answers: -T bounds the wait.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
c, _ = s.accept(); time.sleep(10)' "$TEST_TMP/silent.sock" &
silent=$!
wait_for 5 test -S "$TEST_TMP/silent.sock"
t0=$(now_ms)
tctl_rc 3 "tandemctl -T 500 against a server that never answers" -s "$TEST_TMP/silent.sock" -T 500 status
check_le "  ... gives up after about 500 ms (ms)" $(($(now_ms) - t0)) 3000
kill "$silent" 2>/dev/null
wait "$silent" 2>/dev/null

tctl_rc 1 "tandemctl drain nx (unknown node)" -s "$LBD_SOCK" drain nx
check "  ... says: no node \"nx\"" grep -q 'tandemctl: no node "nx"' <<<"$TC_OUT"
tctl_rc 1 "tandemctl undrain nx" -s "$LBD_SOCK" undrain nx
check "  ... says: no node" grep -q 'no node "nx"' <<<"$TC_OUT"
tctl_rc 1 "tandemctl migrate --node nx --to n1" -s "$LBD_SOCK" migrate --node nx --to n1
check "  ... says: no node" grep -q 'no node "nx"' <<<"$TC_OUT"
tctl_rc 1 "tandemctl migrate --node n1 --to nx" -s "$LBD_SOCK" migrate --node n1 --to nx
tctl_rc 1 "tandemctl flows --node nx" -s "$LBD_SOCK" flows --node nx
tctl_rc 1 "tandemctl flows --vip nope" -s "$LBD_SOCK" flows --vip nope
check "  ... says: no VIP" grep -q 'no VIP "nope"' <<<"$TC_OUT"
tctl_rc 1 "tandemctl --json drain nx" -s "$LBD_SOCK" --json drain nx
check "  ... prints the reply: ok false" sh -c 'sed -n "/^{/,/^}/p" | jq -e ".ok == false" >/dev/null' <<<"$TC_OUT"
tctl_rc 2 "tandemctl (no command)" -s "$LBD_SOCK"
tctl_rc 2 "tandemctl frobnicate" -s "$LBD_SOCK" frobnicate
tctl_rc 2 "tandemctl drain (no node)" -s "$LBD_SOCK" drain
tctl_rc 2 "tandemctl flows --limit" -s "$LBD_SOCK" flows --limit
tctl_rc 2 "tandemctl -T abc status" -s "$LBD_SOCK" -T abc status
check "lbd still answers" ctl status

# ---- 3. raw lines on the control socket
# Sends each argument as one line on ONE connection, prints each reply line;
# an argument "LONG" is 70 KiB without a newline (then reads until EOF).
RAW='
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
f = s.makefile("rb")
for a in sys.argv[2:]:
    if a == "LONG":
        try:
            s.sendall(b"{\"cmd\":\"" + b"x" * (70 << 10))
        except OSError as e:
            print("send error", e)
        for l in f:
            sys.stdout.write(l.decode(errors="replace"))
        print("EOF")
        break
    s.sendall(a.encode(errors="surrogateescape") + b"\n")
    sys.stdout.write(f.readline().decode(errors="replace") or "EOF\n")
'
raw() { timeout 20 python3 -c "$RAW" "$LBD_SOCK" "$@"; }
out=$(raw '{"cmd":"status"' 'not json at all' '' '[1,2,3]' '"status"' '{"cmd":42}' \
	'{"nocmd":"status"}' '{"cmd":"frobnicate"}' '{"cmd":"status","cmd":"nodes"}' \
	'{"cmd":"flows","limit":-1}' '{"cmd":"flows","limit":"all"}' '{"cmd":"drain"}' \
	'{"cmd":"drain","node":7}' '{"cmd":"migrate","to":"n1","flow":{"client":"x"}}' \
	'{"cmd":"migrate","to":"n1","flow":{"client":"10.77.1.10","client_port":70000,"vip":"10.77.1.100","port":80}}' \
	"{\"cmd\":\"st$(printf '\377')tus\"}" '{"cmd":"status"}' 2>&1)
diag "$out"
check_eq "17 replies, one per line" 17 "$(grep -c '^{' <<<"$out")"
check_eq "the first 16 (bad requests) are ok:false with an error" 16 \
	"$(head -n 16 <<<"$out" | jq -c 'select(.ok == false and (.error | type == "string") and (.error | length) > 0)' | wc -l)"
check "malformed JSON: 'bad JSON'" sh -c 'head -n 1 | grep -q "bad JSON"' <<<"$out"
check "unknown command named" grep -q 'unknown command \\"frobnicate\\"' <<<"$out"
check "the good request after them on the same connection: ok, same pid" \
	sh -c "tail -n 1 | jq -e '.ok == true and .pid == $pid' >/dev/null" <<<"$out"
out=$(raw '{"cmd":"status"}' LONG 2>&1)
long_out=$out	# (not "out": check has a local of that name)
long_refused() { grep -q '"ok":false,"error":"request longer than' <<<"$long_out" && grep -q '^EOF$' <<<"$long_out"; }
check "a 70 KiB line: refused ('request longer than'), then the connection closes" \
	long_refused || diag "$out"
hangups=()
for _ in $(seq 1 20); do
	timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"{\"cmd\":\"nodes\"}\n"); s.close()' \
		"$LBD_SOCK" 2>/dev/null &
	hangups+=($!)
done
wait "${hangups[@]}"
check "20 clients that hang up before the reply: lbd still answers" ctl status
check_eq "lbd is the same process (pid $pid)" "$pid" "$(jctl status | jq -r .pid)"
check "lbd log: no crash, no fatal" sh -c "! grep -Eqi 'fatal|abort|segfault|sanitizer' '$LBD_LOG'"

finish
