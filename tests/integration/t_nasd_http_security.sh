#!/bin/bash
# t_nasd_http_security: who may read and write tandem-nasd's HTTP exports,
# what a PUT that sends nothing can hold, and that a slow home node (data
# location) holds up only the sessions reading its files.
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100 (tc, Maglev)
#                        br1 .1             storage LAN 10.77.2.0/24
#              +----------+----------+
#             n1 .11     n2 .12     n3 .13   tandem-nasd (lib_nasd.sh), plus
#   /acl/ -> LAB_DIR/acl       writable with the lab's token; "clients": c1
#                              and the storage LAN only (c2 is outside)
#   /hN/  -> LAB_DIR/nX/home   the home of nX; "data_location": /h1/ /h2/
#                              /h3/ homed on n1 n2 n3 (their own address:80),
#                              1 MiB pieces, timeout 5 s, no handoff
#   upload_reserve 4 MiB, upload_reserve_total 6 MiB
#
# Checks:
#  1. ACL: from c2, GET /acl/seed and PUT /acl/c2.bin (with the token) are
#     403 and no file appears; from c1 the GET is 200.
#  2. token: PUT /acl/x.bin from c1 without Authorization is 401 (with
#     WWW-Authenticate: Bearer), with a wrong token 403, no file either
#     time; with the token 201 and the file byte-exact.
#  3. reservation: three PUTs on n1 announcing 10^9 bytes each and sending
#     none of them: while they hang, each temp file holds at most 4 MiB of
#     disk and the three at most 6 MiB; they go when the client does.
#  4. slow home: n2's tandem-nasd stopped (SIGSTOP); on n1 a GET of
#     /h2/big waits for it while GETs of a local file on n1 answer within
#     500 ms each; after SIGCONT the waiting GET completes, sha256-correct.
#  5. memory: /h2/big (48 MiB) read at 8 MB/s through n1: n1's memfd for
#     it never holds more than 16 MiB.
. "$(dirname "$0")/lib.sh"

TEST_TIMEOUT=${TEST_TIMEOUT:-180}
require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 curl stat
lab_up
if ! out=$(lbd_start 2>&1); then
	fail "lbd starts" "$out"
	finish
fi

nasd_extra_exports() {
	echo ", { \"url\": \"/acl/\", \"path\": \"$LAB_DIR/acl\", \"writable\": true,
	          \"write_token_file\": \"$LAB_DIR/http_write.token\",
	          \"clients\": [ \"$C1_IP4/32\", \"10.77.2.0/24\" ] },
	        { \"url\": \"/h${1#n}/\", \"path\": \"$LAB_DIR/$1/home\" }"
}
nasd_extra_json() {
	local m homes=""
	for m in n1 n2 n3; do
		homes+="${homes:+, }{ \"prefix\": \"/h${m#n}/\", \"node\": \"$m\", \"address\": \"$(node_ip4 "$m"):80\" }"
	done
	echo "\"upload_reserve\": 4194304, \"upload_reserve_total\": 6291456,
  \"data_location\": { \"piece\": 1048576, \"timeout_ms\": 5000, \"homes\": [ $homes ] },"
}
mkdir -p "$LAB_DIR/acl" "$LAB_DIR"/n{1,2,3}/home
echo seed >"$LAB_DIR/acl/seed"
head -c $((48 << 20)) /dev/urandom >"$LAB_DIR/n2/home/big"
nasd_all
check "lbd health checks see tandem-nasd on every node" wait_for 15 all_up

BASE=http://$VIP4
T=$TEST_TMP
N1=http://$(node_ip4 n1)
head -c 200000 /dev/urandom >"$T/body"

# ---------------------------------------------------------------- 1. ACL --

check_eq "c1 (in \"clients\"): GET /acl/seed 200" 200 \
	"$(in_ns c1 curl -s -m 10 -o /dev/null -w '%{http_code}' "$BASE/acl/seed")"
check_eq "c2 (outside \"clients\"): GET /acl/seed 403" 403 \
	"$(in_ns c2 curl -s -m 10 -o /dev/null -w '%{http_code}' "$BASE/acl/seed")"
check_eq "c2: PUT /acl/c2.bin with the token 403" 403 \
	"$(in_ns c2 curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Expect:' -H "$NASD_AUTH" -T "$T/body" "$BASE/acl/c2.bin")"
acl_new() { find "$LAB_DIR/acl" -mindepth 1 ! -name seed; }	# what PUTs left there
check "c2's PUT left no file (nor temp file)" test -z "$(acl_new)"

# -------------------------------------------------------------- 2. token --

code=$(in_ns c1 curl -s -m 10 -D "$T/401.h" -o /dev/null -w '%{http_code}' -H 'Expect:' -T "$T/body" "$BASE/acl/x.bin")
check_eq "PUT without Authorization: 401" 401 "$code"
check "401 asks for a bearer token" grep -qi '^WWW-Authenticate: Bearer' "$T/401.h"
check_eq "PUT with a wrong token: 403" 403 \
	"$(in_ns c1 curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Expect:' \
		-H "Authorization: Bearer $(tr 0-9a-f 1-9a-f0 <<<"$NASD_WRITE_TOKEN")" -T "$T/body" "$BASE/acl/x.bin")"
check "no file after the refused PUTs" test -z "$(acl_new)"
check_eq "PUT with the token: 201" 201 \
	"$(in_ns c1 curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Expect:' -H "$NASD_AUTH" -T "$T/body" "$BASE/acl/x.bin")"
check_eq "the file holds exactly the bytes sent" "$(sha "$T/body")" "$(sha "$LAB_DIR/acl/x.bin")"

# -------------------------------------------------------- 3. reservation --

cat >"$T/hang.py" <<'EOF'
import socket, sys, time
host, n, token, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.create_connection((host, 80))
    s.sendall(("PUT /up/hang%d.bin HTTP/1.1\r\nHost: v\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: 1000000000\r\n\r\n" % (i, token)).encode())
    socks.append(s)
time.sleep(hold)
EOF
in_ns n1 "$PY" "$T/hang.py" "$(node_ip4 n1)" 3 "$NASD_WRITE_TOKEN" 6 &
hang=$!
tmps() { ls "$LAB_DIR/n1/up"/.nasd-put.* 2>/dev/null; }
three_tmps() { [ "$(tmps | wc -l)" = 3 ]; }
check "three hanging PUTs have their temp files on n1" wait_for 5 three_tmps
sleep 0.5
max=0 sum=0
for f in $(tmps); do
	b=$(stat -c '%b * %B' "$f")
	b=$((b))
	sum=$((sum + b))
	[ "$b" -gt "$max" ] && max=$b
done
diag "disk held by the hanging PUTs: largest $max, all $sum bytes"
check "each holds at most upload_reserve (4 MiB) of disk" test "$max" -le $((4 << 20))
check "together at most upload_reserve_total (6 MiB)" test "$sum" -le $((6 << 20))
check "something was reserved (the filesystem can)" test "$sum" -gt 0
wait "$hang"
no_tmps() { [ -z "$(tmps)" ]; }
check "the temp files go with the client" wait_for 5 no_tmps

# -------------------------------------------------------------- 4. slow home --

echo local >"$LAB_WWW/local.txt"
P2=$(nasd_pid n2)
kill -STOP "$P2"
at_exit "kill -CONT $P2"
in_ns n1 curl -s -m 20 -o "$T/slow.big" -w '%{http_code}' "$N1/h2/big" >"$T/slow.code" 2>&1 &
slow=$!
sleep 0.3
worst=0
for _ in 1 2 3 4 5 6; do
	t=$(in_ns n1 curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$N1/local.txt")
	ms=$(awk '{ printf "%d", $2 * 1000 }' <<<"$t")
	[ "${t%% *}" = 200 ] || ms=99999
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.2
done
diag "local GETs on n1 while n2 is stopped: worst $worst ms"
check "local GETs on n1 answer within 500 ms while n2 is stopped" test "$worst" -lt 500
check "the GET of n2's file is still waiting" test ! -s "$T/slow.code"
kill -CONT "$P2"
wait "$slow"
check_eq "after SIGCONT: the waiting GET completes, 200, sha256-correct" "200 $(sha "$LAB_DIR/n2/home/big")" \
	"$(cat "$T/slow.code") $(sha "$T/slow.big")"

# ---------------------------------------------------------------- 5. memory --

P1=$(nasd_pid n1)
in_ns n1 curl -s -m 30 --limit-rate 8M -o "$T/mem.big" "$N1/h2/big" &
mem=$!
peak=0 seen=0
while kill -0 "$mem" 2>/dev/null; do
	for fd in /proc/"$P1"/fd/*; do
		case "$(readlink "$fd" 2>/dev/null)" in
		*tandem-remote*)
			b=$(stat -L -c '%b * %B' "$fd" 2>/dev/null) || continue
			b=$((b))
			seen=$((seen + 1))
			[ "$b" -gt "$peak" ] && peak=$b
			;;
		esac
	done
	sleep 0.2
done
wait "$mem"
diag "n1's memfd for the 48 MiB response: peak $peak bytes over $seen samples"
check "the memfd was seen during the response" test "$seen" -gt 3
check "it never held more than 16 MiB" test "$peak" -le $((16 << 20))
check_eq "the slow read is sha256-correct" "$(sha "$LAB_DIR/n2/home/big")" "$(sha "$T/mem.big")"

for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
