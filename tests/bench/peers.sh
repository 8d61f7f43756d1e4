#!/bin/bash
# tests/bench/peers.sh WORKDIR - the "peers" section of tests/bench/run.sh
# (run.sh --only peers): Tandem beside what a user would run instead, in one
# single-switch lab (appliance/lab/lab.sh), rounds interleaved.
#
# Paths, all from c1 through the switch sw to n1..n3:
#   tandem    c1 -> VIP4: lbd's tc BPF program (Maglev, flow table, DSR)
#   routing   c1 -> a node's own address: plain kernel forwarding
#   nftables  c1 -> PEER_NFT: nftables DNAT in sw's prerouting (numgen inc
#             over n1..n3 for tcp/80, jhash of the client address for 5201),
#             conntrack reverses it on the replies
#   haproxy   c1 -> PEER_HAP: Debian's HAProxy, mode tcp, in sw (roundrobin
#             for 80, balance source for iperf3's 5201); TCP only
#   ipvs      c1 -> PEER_IPVS: IPVS NAT (masquerade) in sw, rr for 80, sh for
#             5201; only when the kernel has IPVS (the results say so if not)
# The peers use their own addresses on sw's client interface, which lbd's
# program does not own: it passes their packets (a service lookup miss, as
# for routing), so it stays attached throughout.  A peer is configured just
# before each of its runs and removed right after (no conntrack hooks, no
# haproxy, no IPVS while another path is measured).
#
# Each round runs every metric on every path back to back, the path order
# rotating between rounds; medians over ROUNDS.  Metrics (value = Tandem,
# baseline = the peer, ratio = Tandem / peer), for PEER in routing nftables
# haproxy ipvs:
#   peers_PEER_tcp_throughput_1stream / _4streams   iperf3, Gbit/s
#   peers_PEER_http_connections_per_second          tests/tools/connrate
#   peers_PEER_udp_pps_64byte_frames                udpblast (not haproxy)
#   peers_PEER_cpu_us_per_connection                the lab's CPU time
#                                                   (lab_ticks) during the
#                                                   connrate run
# Writes WORKDIR/metrics.jsonl, samples.jsonl (run.sh's format), peers.md
# (the table run.sh puts first in results.md) and raw files in WORKDIR/logs.
# Exit 1 if the lab, lbd or a peer's tool cannot start.
set -u
W=${1:?usage: peers.sh WORKDIR}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=${TANDEM_BUILD:-$REPO/build}
TOOLS=$B/tools
LAB_SH=$REPO/appliance/lab/lab.sh
LOGS=$W/logs
METRICS=$W/metrics.jsonl
SAMPLES=$W/samples.jsonl
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_SECONDS:-5}
UDP_PAYLOAD=18		# 64-byte Ethernet frames, as in the lab section
CONC=32			# connrate: connections in flight, as in the lab section
SAMPLE_PREFIX=peers_	# results.json's samples: peers_tcp1 ... beside the lab section's tcp1
mkdir -p "$LOGS"
: >"$METRICS"
: >"$SAMPLES"
log() { printf 'bench peers: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib_lab.sh
. "$REPO/tests/bench/lib_lab.sh"

PEER_NFT=10.77.1.110	# the peers' addresses on sw's client interface
PEER_HAP=10.77.1.111
PEER_IPVS=10.77.1.112
PEERS="routing nftables haproxy ipvs"
PATHS="tandem routing nftables haproxy"	# + ipvs when the kernel has it
IPVS_WHY=""		# why IPVS is not measured
HAP_PID=""
HAP_TICKS=""		# haproxy's CPU ticks over its connrate runs
CLK=$(getconf CLK_TCK 2>/dev/null || echo 100)
declare -A NAME=([tandem]="Tandem VIP (tc BPF, DSR)" [routing]="plain routing to a node"
	[nftables]="nftables DNAT (numgen, conntrack)" [haproxy]="HAProxy mode tcp (roundrobin)"
	[ipvs]="IPVS NAT (rr)")

cleanup() {
	local p
	trap - EXIT
	peer_off haproxy
	for p in "${SINK_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	[ -z "$LAB" ] || cp "$LBD_LOG" "$LOGS/lbd.log" 2>/dev/null
	lab_down
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

fail_all() {	# fail_all WHY: every metric null
	local p g
	for p in $PEERS; do
		for g in $GROUPS_; do
			[ "$g.$p" != udp.haproxy ] || continue
			metric "peers_${p}_${MNAME[$g]}" "" "${UNIT[$g]}" "" "" \
				"$(tgt_text "$(target "$g" "$p")")" null "not measured: $1"
		done
	done
}

# ------------------------------------------------------------- peers ---

nft_rules() {
	local map="{ 0 : $N1_IP4, 1 : $N2_IP4, 2 : $N3_IP4 }"
	cat <<EOF
table ip tandem_peer {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $PEER_NFT tcp dport 80 dnat to numgen inc mod 3 map $map
		ip daddr $PEER_NFT meta l4proto { tcp, udp } th dport 5201 dnat to jhash ip saddr mod 3 map $map
	}
}
EOF
}

hap_conf() {
	local port n ip
	# no maxconn: HAProxy derives it from the file limit (32 in flight here)
	printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n'
	printf '\ttimeout client 60s\n\ttimeout server 60s\n'
	for port in 80 5201; do
		printf 'frontend f%s\n\tbind %s:%s\n\tdefault_backend b%s\n' "$port" "$PEER_HAP" "$port" "$port"
		# iperf3's control and data connections must meet the same server
		printf 'backend b%s\n\tbalance %s\n' "$port" "$([ "$port" = 80 ] && echo roundrobin || echo source)"
		for n in $LAB_NODES; do
			ip=${n^^}_IP4
			printf '\tserver %s %s:%s\n' "$n" "${!ip}" "$port"
		done
	done
}
hap_listening() { [ -n "$(in_ns "$NS_SW" ss -Hltn "src = $PEER_HAP:80" 2>/dev/null)" ]; }

ipvs_rules() {	# ipvsadm -R input
	local n ip
	echo "-A -t $PEER_IPVS:80 -s rr"
	echo "-A -t $PEER_IPVS:5201 -s sh"
	echo "-A -u $PEER_IPVS:5201 -s sh"
	for n in $LAB_NODES; do
		ip=${n^^}_IP4
		echo "-a -t $PEER_IPVS:80 -r ${!ip}:80 -m"
		echo "-a -t $PEER_IPVS:5201 -r ${!ip}:5201 -m"
		echo "-a -u $PEER_IPVS:5201 -r ${!ip}:5201 -m"
	done
}

# peer_on PATH: configure the path's peer in sw (0, or 1 after logging).
peer_on() {
	case "$1" in
	nftables) nft_rules | in_ns "$NS_SW" nft -f - 2>>"$LOGS/nft.err" ;;
	haproxy)
		hap_conf >"$W/haproxy.cfg"
		ip netns exec "$NS_SW" haproxy -db -f "$W/haproxy.cfg" >>"$LOGS/haproxy.log" 2>&1 &
		HAP_PID=$!
		wait_for 10 hap_listening
		;;
	ipvs) ipvs_rules | in_ns "$NS_SW" ipvsadm -R 2>>"$LOGS/ipvsadm.err" ;;
	esac || { log "$1 did not start (see $LOGS/)"; return 1; }
}

peer_off() {
	case "$1" in
	nftables) in_ns "$NS_SW" nft delete table ip tandem_peer 2>>"$LOGS/nft.err" ;;
	haproxy)
		[ -n "$HAP_PID" ] || return 0
		kill -TERM "$HAP_PID" 2>/dev/null
		wait "$HAP_PID" 2>/dev/null
		HAP_PID=""
		;;
	ipvs) in_ns "$NS_SW" ipvsadm -C 2>>"$LOGS/ipvsadm.err" ;;
	esac
	return 0
}

addr() {	# addr PATH: where c1 sends iperf3 and UDP
	case "$1" in
	tandem) echo "$VIP4" ;;
	routing) echo "$AFF_IP" ;;
	nftables) echo "$PEER_NFT" ;;
	haproxy) echo "$PEER_HAP" ;;
	ipvs) echo "$PEER_IPVS" ;;
	esac
}

# ------------------------------------------------------------- one run ---

busy_ticks() {	# busy ticks of the whole machine (/proc/stat: user nice system irq softirq)
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# lab_ticks: CPU ticks of the lab: utime + stime of every process in its
# namespaces (nginx, lbd, haproxy, iperf3 servers) and of the kernel's
# ksoftirqd threads, plus this shell's reaped children (connrate: it ran
# and was reaped between two calls).  Without IRQ time accounting
# (CONFIG_IRQ_TIME_ACCOUNTING unset, as here) a task's stime includes the
# softirq work done in its context: the packet's way through the veths
# and the switch runs there.  Other work on the machine does not count.
lab_ticks() {
	local ns pids="" t1 t2
	for ns in "$NS_HUB" "$NS_C1" "$NS_C2" "$NS_SW" "$NS_N1" "$NS_N2" "$NS_N3"; do
		pids="$pids $(ip netns pids "$ns" 2>/dev/null | xargs)"
	done
	pids="$pids $(pgrep -d ' ' ksoftirqd)"
	# shellcheck disable=SC2086 # (one word per pid)
	t1=$(printf '/proc/%s/stat\n' $pids | xargs cat 2>/dev/null |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }')
	t2=$(awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat")
	echo $((t1 + t2))
}

per_conn() {	# per_conn TICKS CONNECTIONS: microseconds per connection
	awk -v t="$1" -v c="$CLK" -v n="$2" 'BEGIN { printf "%.1f\n", t * 1e6 / c / n }'
}

# cps_run PATH R: conn/s into RUN_V (not printed: the CPU per connection
# goes to S[cpu.PATH], the whole machine's to S[mach.PATH], which a
# subshell would lose).
cps_run() {
	local p=$1 r=$2 v l0 m0 l1 m1 n h0="" us="" ms=""
	l0=$(lab_ticks)
	m0=$(busy_ticks)
	[ "$p" != haproxy ] || h0=$(cpu_ticks "$HAP_PID")
	if [ "$p" = routing ]; then
		v=$(conn_run "$p-$r" "${NODE_IPS[@]}")
	else
		v=$(conn_run "$p-$r" "$(addr "$p")")
	fi
	m1=$(busy_ticks)
	l1=$(lab_ticks)
	n=$(jq -r '.completed // 0' "$LOGS/connrate-$p-$r.json" 2>/dev/null)
	[ "$(num "$n")" != null ] && [ "$n" -gt 0 ] || n=""
	if [ -n "$v" ] && [ -n "$n" ]; then
		us=$(per_conn "$((l1 - l0))" "$n")
		ms=$(per_conn "$((m1 - m0))" "$n")
		[ -z "$h0" ] || HAP_TICKS="$HAP_TICKS $(per_conn "$(($(cpu_ticks "$HAP_PID") - h0))" "$n")"
	fi
	add cpu "$p" "$us"
	add mach "$p" "$ms"
	[ "$p" != nftables ] || sample conntrack_count nftables \
		"$(in_ns "$NS_SW" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo null)"
	RUN_V=$v
}

# client_ports PATH: c1's source ports for PATH's runs, its own fifth of
# 1024-65535.  Routing and the NAT peers (nftables, IPVS) present the same
# client address and port to a node, each with its own TCP timestamp offset
# (Linux derives it from the address pair c1 sees): a SYN that meets
# another path's TIME_WAIT there fails the node's PAWS check and waits for
# a retransmit (seen: nftables at a quarter of its rate right after a
# routing run).  Within one path the timestamps only grow.
client_ports() {
	local i=0 x lo
	for x in tandem routing nftables haproxy ipvs; do
		[ "$x" = "$1" ] && break
		i=$((i + 1))
	done
	lo=$((1024 + i * 12902))
	in_ns "$NS_C1" sysctl -q -w net.ipv4.ip_local_port_range="$lo $((lo + 12901))" >/dev/null
}

# one_run METRIC PATH R: the path's peer on, one run, off; the value to S.
one_run() {
	local m=$1 p=$2 r=$3 v=""
	client_ports "$p" || log "cannot set c1's port range for $p"
	if peer_on "$p"; then
		case "$m" in
		tcp1) v=$(iperf_run "$(addr "$p")" 1 "tcp1-$p-$r") ;;
		tcp4) v=$(iperf_run "$(addr "$p")" 4 "tcp4-$p-$r") ;;
		cps) RUN_V=""; cps_run "$p" "$r"; v=$RUN_V ;;
		udp) v=$(udp_run "$(addr "$p")" "$p-$r") ;;
		esac
	elif [ "$m" = cps ]; then
		add cpu "$p" ""
		add mach "$p" ""
	fi
	peer_off "$p"
	add "$m" "$p" "$v"
	log "round $r $m $p: ${v:-FAILED}"
}

# ------------------------------------------------------------ report ---

GROUPS_="tcp1 tcp4 cps udp cpu"
declare -A MNAME=([tcp1]=tcp_throughput_1stream [tcp4]=tcp_throughput_4streams
	[cps]=http_connections_per_second [udp]=udp_pps_64byte_frames [cpu]=cpu_us_per_connection)
declare -A UNIT=([tcp1]=Gbit/s [tcp4]=Gbit/s [cps]=conn/s [udp]=packets/s [cpu]=us/conn)
declare -A DEC=([tcp1]=3 [tcp4]=3 [cps]=0 [udp]=0 [cpu]=1 [mach]=1)

target() {	# target GROUP PEER: the minimum Tandem/peer ratio, or empty
	case "$1.$2" in
	tcp1.* | tcp4.*) echo 1.0 ;;
	cps.nftables) echo 1.5 ;;
	cps.haproxy) echo 2.0 ;;
	esac
}
tgt_text() { if [ -n "$1" ]; then echo "ratio >= $1"; else echo report; fi; }
does() {	# does GROUP PATH: the path is measured for the group
	[ "$1.$2" != udp.haproxy ] && { [ "$2" != ipvs ] || [ -z "$IPVS_WHY" ]; }
}
med_of() { fmt "${DEC[$1]}" "$(median "$(vals "$1" "$2")")"; }

# report GROUP PEER: one metric, value Tandem, baseline PEER.
report() {
	local g=$1 p=$2 t b rt tr m note nf pr
	t=$(med_of "$g" tandem)
	tr=$(target "$g" "$p")
	if [ "$p" = ipvs ] && [ -n "$IPVS_WHY" ]; then
		metric "peers_${p}_${MNAME[$g]}" "$t" "${UNIT[$g]}" "" "" "$(tgt_text "$tr")" null \
			"IPVS not measured: $IPVS_WHY"
		return
	fi
	b=$(med_of "$g" "$p")
	rt=$(ratio "$t" "$b")
	m=null
	[ -z "$tr" ] || m=$(met "$rt" ge "$tr")
	note="${METHOD[$g]}; value = Tandem's median, baseline = ${NAME[$p]}'s, ratio = Tandem / $p"
	nf=$(($(nfail "$g" tandem) + $(nfail "$g" "$p")))
	[ "$nf" = 0 ] || note="$note; $nf of $((2 * ROUNDS)) runs failed (see the logs)"
	note="$note; samples tandem [$(vals "$g" tandem | xargs)] $p [$(vals "$g" "$p" | xargs)]"
	pr=$(paired "$g" tandem "$p")
	[ -z "$pr" ] || note="$note; median of the per-round ratios: $pr"
	metric "peers_${p}_${MNAME[$g]}" "$t" "${UNIT[$g]}" "$b" "$rt" "$(tgt_text "$tr")" "$m" "$note"
}

cell() {	# cell GROUP PATH: "VALUE (Tandem/PATH RATIO x)" for the table
	local v t
	does "$1" "$2" || { [ "$1.$2" = udp.haproxy ] && echo "- (TCP only)" || echo "n/a"; return; }
	v=$(med_of "$1" "$2")
	[ -n "$v" ] || { echo "failed"; return; }
	[ "$2" != tandem ] || { echo "$v"; return; }
	t=$(ratio "$(med_of "$1" tandem)" "$v")
	echo "$v (${t:-?}x)"
}

over_routing() {	# over_routing PATH: median CPU/conn minus routing's
	local v r
	does cpu "$1" || { echo n/a; return; }
	v=$(med_of cpu "$1")
	r=$(med_of cpu routing)
	[ -n "$v" ] && [ -n "$r" ] || { echo "?"; return; }
	[ "$1" != routing ] || { echo "0 (reference)"; return; }
	awk -v a="$v" -v b="$r" 'BEGIN { printf "%+.1f\n", a - b }'
}

goal() {	# goal GROUP PEER: "met" line for the table
	local tr rt
	tr=$(target "$1" "$2")
	does "$1" "$2" || { echo "$2: not measured"; return; }
	rt=$(ratio "$(med_of "$1" tandem)" "$(med_of "$1" "$2")")
	echo "$2 ${rt:-?}x (>= ${tr}x: $(case "$(met "$rt" ge "$tr")" in true) echo yes ;; false) echo '**no**' ;; *) echo n/a ;; esac))"
}

irq_acct() {	# whether tasks' stime includes softirq time on this kernel
	if zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y'; then
		echo "this kernel accounts softirq time apart (CONFIG_IRQ_TIME_ACCOUNTING=y), so the packet work done in softirq is NOT in these figures"
	else
		echo "without IRQ time accounting (this kernel) a task's stime includes the softirq work done in its context, where the packets' way through the veths and the switch runs"
	fi
}

methods() {	# METHOD[GROUP]: how each figure is measured
	declare -gA METHOD
	METHOD[tcp1]="iperf3 -c from c1, 1 stream, ${DUR} s: Tandem to the VIP (client affinity: $AFF_NODE), routing to $AFF_NODE's address $AFF_IP, nftables and IPVS by a hash of the client address (one node), HAProxy with balance source (iperf3's control and data connections must meet one server); Gbit/s received"
	METHOD[tcp4]="iperf3 -c -P 4, otherwise as 1 stream"
	METHOD[cps]="tests/tools/connrate in c1 (the lab section's tool): $CONC connections in flight, each a new TCP connection doing GET /node (HTTP/1.0, read until close) from the three nginx, ${DUR} s; Tandem by Maglev, routing round robin over the three node addresses, nftables numgen inc mod 3, HAProxy roundrobin, IPVS rr. Each path's runs use their own fifth of c1's source ports (1024-65535): a node's TIME_WAIT from a routing run would otherwise reject a NAT peer's SYN from the same client port (PAWS: each path has its own TCP timestamp offset), so ports are reused within a path only (every few tenths of a second at these rates, which the nodes' TIME_WAIT and conntrack accept)"
	METHOD[udp]="tests/tools/udpblast in c1, one flow of ${UDP_PAYLOAD}-byte UDP payloads (64-byte frames) for ${DUR} s to port 5201; datagrams reaching the nodes' sockets (udpsink: read + socket drops) per second of sending; HAProxy has no UDP"
	METHOD[cpu]="CPU time of the lab during each connrate run / completed connections, in microseconds: utime + stime (/proc/PID/stat, tick-sampled) of every process in the lab's namespaces (nginx, lbd, haproxy), of the kernel's ksoftirqd threads and of connrate; $(irq_acct). The namespaces share one kernel and the switch's forwarding runs in the softirq context of whichever task sent the packet, so the switch's CPU cannot be read apart: the paths differ only in the switch's work (same client, same three nginx), so a path's figure minus routing's is its load balancer's extra cost per connection (the table's last column)"
}

# peers_md: the markdown table run.sh puts first in results.md.
peers_md() {
	local p g row
	echo "## Tandem beside its peers"
	echo
	echo "Same run, same lab (one single-switch lab, $ROUNDS interleaved rounds of ${DUR} s runs, medians); in brackets Tandem / that path (for CPU lower is better, so below 1 favours Tandem)."
	echo
	echo "| path | TCP 1 stream Gbit/s | TCP 4 streams Gbit/s | new connections/s | 64-byte UDP packets/s | CPU per connection, lab (us) | CPU per connection over routing (us) |"
	echo "|---|---|---|---|---|---|---|"
	for p in tandem $PEERS; do
		row="| ${NAME[$p]}"
		for g in $GROUPS_; do
			row="$row | $(cell "$g" "$p")"
		done
		echo "$row | $(over_routing "$p") |"
	done
	echo
	[ -z "$IPVS_WHY" ] || { echo "IPVS: not measured, $IPVS_WHY."; echo; }
	echo "Targets (issue 18): new connections/s $(goal cps nftables), $(goal cps haproxy); throughput 1 stream: $(for p in $PEERS; do goal tcp1 "$p"; done | paste -sd, | sed 's/,/, /g'); 4 streams: $(for p in $PEERS; do goal tcp4 "$p"; done | paste -sd, | sed 's/,/, /g')."
	echo
	echo "How each figure is measured:"
	echo
	for g in $GROUPS_; do
		echo "- ${MNAME[$g]}: ${METHOD[$g]}."
	done
	echo "- The peers, configured by tests/bench/peers.sh in the switch's namespace just before each of their runs and removed right after: nftables: table ip tandem_peer, a nat prerouting chain DNATing $PEER_NFT tcp/80 to numgen inc mod 3 over n1..n3 and tcp+udp/5201 to jhash ip saddr mod 3 (conntrack undoes it on the replies, which come back through the switch, the nodes' default gateway); HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }'): mode tcp, frontends on $PEER_HAP:80 (roundrobin) and :5201 (balance source), no health checks, default threads (one per CPU), run with -db; IPVS: ipvsadm NAT (-m) services on $PEER_IPVS tcp/80 (rr), tcp/5201 and udp/5201 (sh). Each peer has its own address on the switch's client interface; lbd's tc program, attached throughout, owns only the VIP and passes the peers' packets after a service-map miss, as it does for routing (its cost on that path: the lab section's pass-path figures)."
	echo "- Cross-check of the CPU figures: the whole machine's busy time (/proc/stat) per connection over the same runs, medians: $(for p in tandem $PEERS; do does cpu "$p" && printf '%s %s us, ' "$p" "$(med_of mach "$p")"; done | sed 's/, $//') (other work on the machine counts there too)."
	[ -z "$HAP_TICKS" ] || echo "- HAProxy's own process (user + system ticks over its connrate runs): median $(median "$HAP_TICKS") us per connection."
	echo
}

# ------------------------------------------------------------------ main ---

need() {	# need CMD WHY-NAME: fail the section when CMD is missing
	command -v "$1" >/dev/null 2>&1 && return 0
	fail_all "$1 is not installed (scripts/deps.sh installs $2)"
	exit 1
}
for c in jq iperf3 nft haproxy; do
	need "$c" "$([ "$c" = nft ] && echo nftables || echo "$c")"
done
command -v ipvsadm >/dev/null 2>&1 || IPVS_WHY="ipvsadm is not installed (scripts/deps.sh installs it)"

if ! lab_single_up bp; then
	fail_all "$LAB_WHY"
	exit 1
fi
in_ns "$NS_SW" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null || true
for a in "$PEER_NFT" "$PEER_HAP" "$PEER_IPVS"; do
	in_ns "$NS_SW" ip addr add "$a/32" dev "$SW_CLIENT_IF" || { fail_all "cannot add $a to the switch"; exit 1; }
done
if [ -z "$IPVS_WHY" ] && ! in_ns "$NS_SW" ipvsadm -Ln >"$LOGS/ipvsadm.err" 2>&1; then
	IPVS_WHY="this kernel ($(uname -r)) has no IPVS: $(head -1 "$LOGS/ipvsadm.err")"
fi
[ -n "$IPVS_WHY" ] || PATHS="$PATHS ipvs"
log "paths: $PATHS${IPVS_WHY:+ (IPVS: $IPVS_WHY)}"
find_affinity
methods

read -ra P <<<"$PATHS"
for ((r = 1; r <= ROUNDS; r++)); do
	for g in tcp1 tcp4 cps udp; do
		for ((i = 0; i < ${#P[@]}; i++)); do
			p=${P[(i + r - 1) % ${#P[@]}]}
			does "$g" "$p" || continue
			one_run "$g" "$p" "$r"
		done
	done
done

for p in $PEERS; do
	for g in $GROUPS_; do
		[ "$g.$p" != udp.haproxy ] || continue
		report "$g" "$p"
	done
done
peers_md >"$W/peers.md"
exit 0
