#!/bin/bash
# Tandem network-namespace lab: one switch, two clients, three storage nodes.
#
#   tdm-NAME-c1  tdm-NAME-c2                    client LAN 10.77.1.0/24, fd77:1::/64
#   .10 ::10     .11 ::11                       VIP 10.77.1.100, fd77:1::100
#    eth0         eth0
#     |            |
#   [c1]---------[c2]------[sw0]    brc  (bridge in tdm-NAME-hub)
#                            |
#                          eth0  .1 ::1, VIP too (answers ARP/ND for it)
#   +----------------- tdm-NAME-sw  (lbd runs here; forwarding on) ----------+
#   |                                                                        |
#   |   br1  .1 ::1  storage LAN bridge: one port per node (the switch sees  |
#   |    |           each node's link: a node's eth0 down = its port down)   |
#   |   [p1]---------[p2]---------[p3]                                       |
#   +----|------------|------------|-----------------------------------------+
#       eth0         eth0         eth0               storage LAN 10.77.2.0/24, fd77:2::/64
#   .11 ::11     .12 ::12     .13 ::13
#   tdm-NAME-n1 .. n3: VIP on lo, arp_ignore=1, arp_announce=2 (direct server
#   return); nginx on :80 (VIP and own address), iperf3 -s on :5201.
#
# Client LAN: hub ends of the veth pairs are named after their host (c1, c2,
# sw0) and live in tdm-NAME-hub; the host ends are eth0.  Storage LAN: the
# bridge br1 lives in the switch itself, its ports p1..p3 are the switch ends
# of the nodes' veth pairs (node end: eth0).  lbd's config names br1 as
# storage_interface and pN as node nX's "port", so it follows each node's
# carrier through netlink.  Nothing is created in the root namespace except
# the state directory /run/tandem-lab/NAME (with its own bpffs mount).
#
# Usage: see usage() below.  NAME: [a-z0-9]{1,8}.
#
# The script is this file (usage, argument checks, dispatch) and the parts it
# sources: lab-common.sh (helpers), lab-topology.sh (up, down, list: the
# namespaces and links above, lbd's config, the env file), lab-services.sh
# (the nodes' nginx/iperf3, the switch's lbd), lab-pair.sh (pair mode),
# lab-dns.sh (LAB_DNS), lab-smb.sh (LAB_SMB: Samba on the nodes),
# lab-directory.sh (LAB_DIRECTORY: the pair's slapd and the nodes' replicas),
# lab-bgp.sh (LAB_BGP: N switches behind an ECMP router).
set -eu

LAB_ROOT=/run/tandem-lab
SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
HOSTS="c1 c2 sw n1 n2 n3"
NODES="n1 n2 n3"
VIP4=10.77.1.100
VIP6=fd77:1::100
VIP4B=10.77.1.101	# pair mode, LAB_AA=1: the second group's VIP
VIP4C=10.77.1.102	# LAB_PAIR2=1: the second pair's VIPs
VIP4D=10.77.1.103

usage() {
	cat <<EOF
usage: lab.sh up NAME                    create the lab (env: LAB_WEIGHTS="100 100 200";
                                         LAB_NODES6=1: lbd knows the nodes by their IPv6 addresses)
       lab.sh down NAME                  remove it completely (idempotent)
       lab.sh exec NAME HOST CMD...      run CMD in HOST (hub c1 c2 sw n1 n2 n3)
       lab.sh shell NAME HOST            interactive shell in HOST
       lab.sh lbd-start NAME [ARGS...]   start tandem-lbd in the switch, wait for its socket
       lab.sh lbd-stop NAME              SIGTERM lbd and wait
       lab.sh node-stop NAME nX nginx|iperf3|smbd
       lab.sh node-start NAME nX nginx|iperf3|smbd
       lab.sh link NAME nX down|up       node nX's eth0 (its switch port pX loses carrier)
       lab.sh list                       labs under $LAB_ROOT
Pair mode (LAB_PAIR=1 lab.sh up NAME): two switches swa and swb instead of sw,
both on the client LAN and on a shared storage LAN (bridge brs in the hub),
joined by a sync link; the VIPs and gateways move by VRRP (keepalived).
(env at up: LAB_ADVERT_MS VRRP advert interval, default 200 ("default": the appliance's); LAB_PEER_DEAD_MS 1500;
LAB_FLOWS flow_table_size of both switches, default 262144; LAB_AA=1 active-active:
a second VIP VIP4B in VRRP group g2, preferred by b; LAB_DNS=1 BIND 9 in host dns
serving nas.tandem.test, updated by the switches, the clients resolving through it;
LAB_PAIR2=1 with LAB_DNS=1: a second pair, switches c and d: appliance/lab/lab-dns.sh)
Scale-out mode (LAB_BGP=N lab.sh up NAME, N 2..4): switches sw1..swN, each
with lbd and BIRD announcing VIP4 to router r (BIRD, ECMP, BFD), clients
c1 c2 c3 behind r on 10.77.3.0/24, r the nodes' gateway (appliance/lab/lab-bgp.sh)
       lab.sh member-start NAME K [bird|lbd|syncd|all]   BIRD, lbd, then syncd (LAB_BGP_SYNC=1), in switch K
       lab.sh member-stop NAME K [hard]  lbd (withdraws), then BIRD; hard: SIGKILL, links cut
       lab.sh member-links NAME K down|up
       lab.sh router-bird NAME CMD...    birdc CMD at the router (show route ...)
Either mode: LAB_SMB=1 Samba's smbd on every node, VIP service tcp/445, shares
[node] (per node) and [shared], user root, password in \$LAB_DIR/smb.cred
(smbclient -A): appliance/lab/lab-smb.sh
       lab.sh switch-start NAME a|b|c|d  lbd, syncd, then keepalived in switch a or b
       lab.sh switch-stop NAME a|b [hard] stop them (hard: freeze, cut its links, SIGKILL)
       lab.sh switch-links NAME a|b down|up   all links of a switch
       lab.sh sync-link NAME down|up     the dedicated sync link only
       lab.sh role NAME a|b              VRRP role lbd was told (master/backup/fault/init)
Pair mode with LAB_DIRECTORY=1: the directory (slapd in mirror mode on swa and
swb, a read-only replica on each node; appliance/lab/lab-directory.sh)
       lab.sh dir-up NAME                every slapd and the first entries
       lab.sh dir-start NAME HOST        one slapd (swa swb n1 n2 n3)
       lab.sh dir-stop NAME HOST [hard]  stop it (hard: SIGKILL)
       lab.sh nss-up NAME                nslcd on every node, against its replica
       lab.sh nss-exec NAME nX CMD...    CMD in nX with the node's NSS (nsswitch.conf,
                                         nslcd.conf, /run/nslcd bind-mounted)
State: $LAB_ROOT/NAME/ (env, tandem.json, lbd.sock, lbd.log, bpffs/, www/, nX/;
       pair mode: sw-a/ and sw-b/ with tandem.json, bpffs/, *.sock, *.log, keepalived.conf)
EOF
}

die() {
	echo "lab.sh: $*" >&2
	exit 1
}

# set_name NAME: validate and derive the per-lab variables.
set_name() {
	case "$1" in
	'' | *[!a-z0-9]*) die "bad lab name '$1' (want [a-z0-9], at most 8 chars)" ;;
	esac
	[ ${#1} -le 8 ] || die "bad lab name '$1' (at most 8 chars)"
	NAME=$1
	LAB_DIR=$LAB_ROOT/$NAME
	NS_HUB=tdm-$NAME-hub
	LBD_SOCK=$LAB_DIR/lbd.sock
	LBD_CONF=$LAB_DIR/tandem.json
	LBD_PID=$LAB_DIR/lbd.pid
}

# The parts, by role (each sourced file says what it holds).
for _part in common topology services pair dns smb directory bgp; do
	# shellcheck disable=SC1090
	. "$(dirname "$SELF")/lab-$_part.sh"
done
unset _part

[ $# -ge 1 ] || {
	usage >&2
	exit 2
}
cmd=$1
shift
case "$cmd" in
-h | --help | help)
	usage
	exit 0
	;;
list)
	cmd_list
	exit 0
	;;
esac
[ $# -ge 1 ] || {
	usage >&2
	exit 2
}
set_name "$1"
shift
case "$cmd" in
up) cmd_up ;;
down) cmd_down ;;
exec)
	[ $# -ge 2 ] || die "usage: lab.sh exec NAME HOST CMD..."
	ns=$(ns_of "$1")
	shift
	exec ip netns exec "$ns" "$@"
	;;
shell)
	[ $# -eq 1 ] || die "usage: lab.sh shell NAME HOST"
	ns=$(ns_of "$1")
	need_lab
	exec ip netns exec "$ns" env LAB_HOST="$1" bash --rcfile "$LAB_DIR/bashrc" -i
	;;
lbd-start) cmd_lbd_start "$@" ;;
switch-start)
	[ $# -eq 1 ] || die "usage: lab.sh switch-start NAME a|b"
	sw_arg "$1"
	need_lab
	cmd_switch_start "$1"
	;;
switch-stop)
	[ $# -ge 1 ] || die "usage: lab.sh switch-stop NAME a|b [hard]"
	sw_arg "$1"
	need_lab
	cmd_switch_stop "$@"
	;;
switch-links)
	[ $# -eq 2 ] || die "usage: lab.sh switch-links NAME a|b down|up"
	sw_arg "$1"
	need_lab
	cmd_switch_links "$1" "$2"
	;;
sync-link)
	[ $# -eq 1 ] || die "usage: lab.sh sync-link NAME down|up"
	need_lab
	ip -n "tdm-$NAME-swa" link set eth2 "$1"
	ip -n "tdm-$NAME-swb" link set eth2 "$1"
	;;
role)
	[ $# -eq 1 ] || die "usage: lab.sh role NAME a|b"
	sw_arg "$1"
	cmd_role "$1"
	;;
lbd-stop) cmd_lbd_stop ;;
dir-up)
	need_lab
	cmd_dir_up
	;;
nss-up)
	need_lab
	cmd_nss_up
	;;
nss-exec)
	[ $# -ge 2 ] || die "usage: lab.sh nss-exec NAME nX CMD..."
	node_of "$1"
	need_lab
	cmd_nss_exec "$@"
	;;
dir-start | dir-stop)
	[ $# -ge 1 ] || die "usage: lab.sh $cmd NAME swa|swb|nX"
	need_lab
	if [ "$cmd" = dir-start ]; then cmd_dir_start "$1"; else cmd_dir_stop "$@"; fi
	;;
member-start | member-stop | member-links)
	[ $# -ge 1 ] || die "usage: lab.sh $cmd NAME K ..."
	need_lab
	member_arg "$1"
	case "$cmd" in
	member-start) cmd_member_start "$@" ;;
	member-stop) cmd_member_stop "$@" ;;
	member-links) [ $# -eq 2 ] || die "usage: lab.sh member-links NAME K down|up"
		cmd_member_links "$1" "$2" ;;
	esac
	;;
router-bird)
	need_lab
	exec birdc -s "$LAB_DIR/r/bird.ctl" "$@"
	;;
node-stop | node-start)
	[ $# -eq 2 ] || die "usage: lab.sh $cmd NAME nX nginx|iperf3|smbd"
	node_of "$1"
	need_lab
	if [ "$cmd" = node-stop ]; then stop_service "$1" "$2"; else start_service "$1" "$2"; fi
	;;
link)
	[ $# -eq 2 ] || die "usage: lab.sh link NAME nX down|up"
	node_of "$1"
	case "$2" in up | down) ;; *) die "link state: up or down" ;; esac
	need_lab
	ip -n "tdm-$NAME-$1" link set eth0 "$2"
	[ "$2" = down ] || node_routes "$1"
	;;
*)
	usage >&2
	exit 2
	;;
esac
