#!/bin/bash
# Helpers for tests that run tandem-nasd on the lab's storage nodes instead of
# nginx.  Source after lib.sh and lab_up (needs LAB_DIR, LAB_NAME, LAB_WWW,
# LAB_BPFFS, HANDOFF_KEY, VIP4/VIP6 from the lab).
#
# nasd_start nX [handoff]: nginx off, tandem-nasd on in node nX, listening on
# VIP:80, [VIP6]:80 (and VIP4B:80 in an active-active lab) and the node's own
# address :80 (lbd's health check).
# Exports:
#   /        -> LAB_WWW            (the lab's files, read-only, same on every node)
#   /up/     -> LAB_DIR/nX/up      (per node, writable)
#   /shared/ -> LAB_DIR/shared     (one writable directory seen by every node,
#                                   as a cluster file system would be: an
#                                   upload handed to another node goes on
#                                   writing the same file)
# The writable exports take a PUT with the bearer token NASD_WRITE_TOKEN
# only (nasd_start writes it to LAB_DIR/http_write.token, mode 0600): upload
# clients send the header NASD_AUTH (curl -H "$NASD_AUTH"; ho_client.py
# reads NASD_WRITE_TOKEN from its environment).
# /slow/F is F at 1 MiB/s, /rate/F?bps=N at N bytes/s (as the lab's nginx).
# With "handoff": node channels on :7407 to the two other nodes, reports to
# the switch at 10.77.2.1:HANDOFF_PORT, the flow-drop BPF on eth0, and the
# node's own handoff key file LAB_DIR/nX/handoff.key (`tandemctl handoff-key`
# from the lab's master key HANDOFF_KEY: its switch key, a key per peer).
# Env: NASD_HANDOFF_TIMEOUT_MS (1500), NASD_GRACE_MS (2000), NASD_HANDOFF_EXTRA
# (more members of the handoff section, each ending in ',', e.g.
# '"pin_hold_s": 15,'), NASD_EXTRA (more
# top-level JSON members, e.g. '"max_sessions": 64,').  Per node: a test may
# define nasd_extra_json nX (more top-level members, each ending in ',') and
# nasd_extra_exports nX (more exports, each starting with ',').  NASD_NSS=1:
# nasd sees the node's NSS (lab.sh nss-exec: nslcd and the node's directory
# replica; needs LAB_DIRECTORY=1 and lab.sh nss-up).
# Control socket LAB_DIR/nX/nasd.sock, log LAB_DIR/nX/nasd.log.

NASD=${NASD_BIN:-$TANDEM_BUILD/tandem-nasd}
NASD_DROP_OBJ=$TANDEM_BUILD/flowdrop.bpf.o
# The system python starts several times faster than a pyenv shim, which
# matters for the many control requests tests make.
PY=$(command -v /usr/bin/python3 || command -v python3)

# One token per test run, the same on every node (exported for the tools).
export NASD_WRITE_TOKEN=${NASD_WRITE_TOKEN:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
NASD_AUTH="Authorization: Bearer $NASD_WRITE_TOKEN"
export NASD_AUTH

node_ip4() { echo "10.77.2.1${1#n}"; }
node_ip6() { echo "fd77:2::1${1#n}"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# handoff_lab_up: the lab (lab_up) and its lbd, which serves handoff reports
# with the lab's key (HANDOFF_KEY); a failure ends the test.
handoff_lab_up() {
	lab_up
	lbd_up
	[ -s "${HANDOFF_KEY:-}" ] || skip_all "the lab has no handoff key (HANDOFF_KEY)"
}

require_nasd() {
	local f
	require_cmd python3 jq	# nctl, hstat
	for f in "$NASD" "$NASD_DROP_OBJ"; do
		[ -e "$f" ] || skip_all "no $f (run make)"
	done
}

nasd_start() {
	local n=$1 d=$LAB_DIR/$1 m peers="" ho="" xj="" xe=""
	declare -F nasd_extra_json >/dev/null && xj=$(nasd_extra_json "$n")
	declare -F nasd_extra_exports >/dev/null && xe=$(nasd_extra_exports "$n")
	lab node-stop "$n" nginx >/dev/null 2>&1 || true
	mkdir -p "$d/up" "$LAB_DIR/shared" "$LAB_BPFFS/nasd-$n"
	(umask 077 && echo "$NASD_WRITE_TOKEN" >"$LAB_DIR/http_write.token")
	if [ "${2:-}" = handoff ]; then
		local pnames=()
		for m in n1 n2 n3; do
			[ "$m" = "$n" ] && continue
			peers+="${peers:+, }{ \"name\": \"$m\", \"address\": \"$(node_ip4 "$m"):7407\" }"
			pnames+=("$m")
		done
		(umask 077 && "$TANDEMCTL" handoff-key "$HANDOFF_KEY" "$n" "${pnames[@]}" >"$d/handoff.key") ||
			return 1
		ho=$(cat <<EOF
,
  "handoff": {
    "listen": "$(node_ip4 "$n"):7407",
    "peers": [ $peers ],
    "switch": "10.77.2.1:${HANDOFF_PORT:-7406}",
    "key_file": "$d/handoff.key",
    "cluster_id": 1,
    "interface": "eth0",
    "bpf_object": "$NASD_DROP_OBJ",
    "pin_dir": "$LAB_BPFFS/nasd-$n",
    ${NASD_HANDOFF_EXTRA:-}"grace_ms": ${NASD_GRACE_MS:-2000},
    "timeout_ms": ${NASD_HANDOFF_TIMEOUT_MS:-1500}
  }
EOF
)
	fi
	# NFS: NASD_NFS=1 adds an "nfs" section: NFS+MOUNT on VIP:2049 and
	# node:2049, portmapper on :111, export /export -> LAB_DIR/nfs (shared by
	# the nodes), clients NASD_NFS_CLIENTS (10.77.1.0/24), one handle key.
	# The lab's clients act as root: "root_squash": false unless
	# NASD_NFS_SQUASH says otherwise (true / false; "default": the key left
	# out, nasd's default).  NASD_NFS_EXTRA: more members of the section,
	# each ending in ',' (e.g. '"idle_timeout_s": 2,').
	# NASD_NFS_NS=1 too: one namespace: export LAB_DIR/nX/nfs
	# (per node), top-level directories alpha, beta, gamma homed on n1, n2,
	# n3, the other nodes as peers on their own address:2049.
	# NASD_NFS_NS=switch: the same per-node export, but homes, peers and the
	# node's NFS id come from lbd's cluster map (LAB_NFS=1's "nfs" section;
	# needs nasd_start nX handoff: the map arrives on the handoff socket).
	local nfs="" nfsdir=$LAB_DIR/nfs nsj="" j nid="\"node_id\": ${n#n}"
	if [ "${NASD_NFS_NS:-}" = switch ]; then
		nfsdir=$LAB_DIR/$n/nfs
		nid="\"namespace\": { \"from_switch\": true }"
	elif [ "${NASD_NFS_NS:-}" = 1 ]; then
		nfsdir=$LAB_DIR/$n/nfs
		nsj=", \"namespace\": { \"homes\": [ { \"dir\": \"alpha\", \"node_id\": 1 }, { \"dir\": \"beta\", \"node_id\": 2 }, { \"dir\": \"gamma\", \"node_id\": 3 } ], \"peers\": ["
		for j in 1 2 3; do
			[ "n$j" = "$n" ] || nsj+=" { \"node_id\": $j, \"address\": \"$(node_ip4 "n$j"):2049\" },"
		done
		nsj="${nsj%,} ] }"
	fi
	# an active-active lab (LAB_AA=1) has a second VIP, VIP4B: served too
	local vb80="" vb2049="" vb111=""
	if [ -n "${VIP4B:-}" ]; then
		vb80="\"$VIP4B:80\", " vb2049="\"$VIP4B:2049\", " vb111="\"$VIP4B:111\", "
	fi
	# NASD_NFS6=1: NFS and the portmapper on [VIP6] too (the lab's
	# LAB_NFS6=1), clients fd77:1::/64 as well (unless NASD_NFS_CLIENTS
	# names the clients itself)
	local v6l="" v6p="" v6c=""
	if [ "${NASD_NFS6:-}" = 1 ]; then
		v6l=", \"[$VIP6]:2049\"" v6p=", \"[$VIP6]:111\""
		[ -n "${NASD_NFS_CLIENTS:-}" ] || v6c=", \"fd77:1::/64\""
	fi
	# NASD_NLM_HOSTS=1: the node keeps its NLM client hosts in
	# LAB_DIR/nX/nlm-hosts (told by SM_NOTIFY when the node restarts)
	local nh=""
	[ "${NASD_NLM_HOSTS:-}" = 1 ] && nh="\"nlm_hosts_file\": \"$d/nlm-hosts\","
	local sq="\"root_squash\": ${NASD_NFS_SQUASH:-false},"
	[ "${NASD_NFS_SQUASH:-}" = default ] && sq=""
	if [ "${NASD_NFS:-}" = 1 ]; then
		mkdir -p "$nfsdir"
		[ -s "$LAB_DIR/nfs_fh.key" ] ||
			(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$LAB_DIR/nfs_fh.key")
		nfs=",
  \"nfs\": { \"listen\": [ \"$VIP4:2049\", $vb2049\"$(node_ip4 "$n"):2049\"$v6l ],
           \"portmap\": [ \"$VIP4:111\", $vb111\"$(node_ip4 "$n"):111\"$v6p ],
           \"export\": \"/export\", \"path\": \"$nfsdir\",
           \"clients\": [ ${NASD_NFS_CLIENTS:-\"10.77.1.0/24\"}$v6c ], $sq $nh ${NASD_NFS_EXTRA:-}
           \"fh_key_file\": \"$LAB_DIR/nfs_fh.key\", $nid$nsj }"
	fi
	cat >"$d/nasd.json" <<EOF
{
  "node_name": "$n",
  "listen": [ "$VIP4:80", $vb80"[$VIP6]:80", "$(node_ip4 "$n"):80", "[$(node_ip6 "$n")]:80" ],
  "exports": [ { "url": "/", "path": "$LAB_WWW" },
               { "url": "/up/", "path": "$d/up", "writable": true,
                 "write_token_file": "$LAB_DIR/http_write.token" },
               { "url": "/shared/", "path": "$LAB_DIR/shared", "writable": true,
                 "write_token_file": "$LAB_DIR/http_write.token" }$xe ],
  "throttle": [ { "prefix": "/slow/", "rate": 1048576 },
                { "prefix": "/rate/", "rate_arg": "bps" } ],
  ${NASD_EXTRA:-}$xj
  "control_socket": "$d/nasd.sock",
  "max_upload": 1073741824$ho$nfs
}
EOF
	"$NASD" -t -c "$d/nasd.json" >/dev/null || return 1
	rm -f "$d/nasd.sock"
	# NASD_NSS=1: with the node's NSS (nslcd and its replica: lab.sh nss-up,
	# appliance/lab/lab-directory.sh), for manage_gids
	local run=(ip netns exec "tdm-$LAB_NAME-$n")
	[ "${NASD_NSS:-}" = 1 ] && run=("$LAB_SH" nss-exec "$LAB_NAME" "$n")
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; exec "$@"' \
		"$d/nasd.pid" "${run[@]}" "$NASD" -c "$d/nasd.json" \
		</dev/null >>"$d/nasd.log" 2>&1 &
	wait_for 5 test -S "$d/nasd.sock"
}

nasd_pid() { cat "$LAB_DIR/$1/nasd.pid" 2>/dev/null; }

# nasd_all [handoff]: nasd_start on n1..n3 as checks; kill them at exit.
nasd_all() {
	local n
	for n in n1 n2 n3; do
		check "tandem-nasd${1:+ with $1} starts in $n (nginx stopped)" nasd_start "$n" "${1:-}" || {
			diag "$(tail -n 5 "$LAB_DIR/$n/nasd.log" 2>/dev/null)"
			finish
		}
		at_exit "kill \$(nasd_pid $n) 2>/dev/null"
	done
}

# nasd_all_up [handoff]: nasd_all, then the checks that lbd's health checks
# see tandem-nasd on every node and (with handoff) that the handoff channels
# are up between all nodes.
nasd_all_up() {
	nasd_all "$@"
	check "lbd health checks see tandem-nasd on every node" wait_for 15 all_up
	[ "${1:-}" != handoff ] || check "handoff channels up between all nodes" wait_for 10 chans_up
}

# nctl nX JSON: one control request to nX's tandem-nasd (in nX's namespace);
# the answer within NCTL_TIMEOUT s (10).
nctl() {
	NCTL_TIMEOUT=${NCTL_TIMEOUT:-10} in_ns "$1" "$PY" - "$LAB_DIR/$1/nasd.sock" "$2" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(os.environ["NCTL_TIMEOUT"]))
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
b = b""
while not b.endswith(b"\n"):
    c = s.recv(1 << 20)
    if not c:
        break
    b += c
sys.stdout.write(b.decode())
EOF
}

# chans_up: every node's handoff channels to both others are up, both ways.
chans_up() {
	local n
	for n in n1 n2 n3; do
		[ "$(hstat "$n" '.peers | [.[] | .in and .out] | all')" = true ] || return 1
	done
}

# all_up: lbd sees all three nodes up.
all_up() { node_is n1 '.state == "up"' && node_is n2 '.state == "up"' && node_is n3 '.state == "up"'; }

hstat() { nctl "$1" '{"cmd":"status"}' | jq -r ".handoff$2"; }

# holder CLIENT_EP: the node whose nasd holds an active session from CLIENT_EP.
holder() {
	local n j why=""
	for n in n1 n2 n3; do
		j=$(nctl "$n" '{"cmd":"sessions"}' 2>&1) || { why+=" $n: no answer (${j:0:80});"; continue; }
		[ -n "$(jq -r --arg c "$1" '.sessions[] | select(.client == $c and .state != "paused") | .id' <<<"$j")" ] &&
			{ echo "$n"; return 0; }
		why+=" $n: $(jq -c --arg c "$1" '[.sessions[] | select(.client == $c) | {id, state}]' <<<"$j" 2>/dev/null);"
	done
	# (on stderr, into the test's log: why no node answered for it)
	echo "# holder $1: none of n1..n3 lists it live:$why" >&2
	return 1
}

# find_session JQ_SELECT: "node client" of the first session matching.
find_session() {
	local n
	for n in n1 n2 n3; do
		nctl "$n" '{"cmd":"sessions"}' 2>/dev/null | jq -r --arg n "$n" ".sessions[] | select($1) | \"\(\$n) \(.client)\"" | head -n 1
	done | head -n 1
}
has_session() { [ -n "$(find_session "$1")" ]; }

other() {	# other X [Z]: a node that is neither X nor Z
	local m
	for m in n1 n2 n3; do
		[ "$m" != "$1" ] && [ "$m" != "${2:-}" ] && { echo "$m"; return; }
	done
}
