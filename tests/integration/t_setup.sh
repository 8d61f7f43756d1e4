#!/bin/bash
# t_setup: `tandemctl setup` (the appliance's console setup when no config
# drive configured it) turns answers into a configuration that passes the
# daemons' own checks, asks again after a bad answer, and writes nothing
# when the answers end early.
#
#   no lab: answers on standard input, --root a scratch directory,
#   --no-apply (nothing is started); tandem-lbd / tandem-nasd -t from the
#   build check what was written
#
#   1. a switch: tandem.json (interfaces, nodes, VIP services as answered)
#      passes tandem-lbd -t; network/10-eth0.network and 10-eth1.network
#      hold the addresses; role is "switch"; the bad answers before the good
#      ones (an address without prefix, a service "http", a node without
#      address) were each refused with a reason and asked again;
#   2. a node: nasd.json passes tandem-nasd -t, listens on the VIPs and its
#      own address, exports the directory; lo gets the VIPs (05-lo.network),
#      the storage interface its address and gateway; role "node";
#   3. answers that end before the last question: exit 1, "nothing was
#      written", the directory holds no role and no config.
. "$(dirname "$0")/lib.sh"

require_cmd jq
CTL=$TANDEM_BUILD/tandemctl
export PATH=$TANDEM_BUILD:$PATH
T=$TEST_TMP

# ---- 1. a switch, with bad answers first
printf '%s\n' switch "" 10.0.1.2 10.0.1.2/24 "" 10.0.2.1/24 10.0.1.100 \
	"http" "tcp/80, udp/5201" "n1" "n1=10.0.2.11,n2=10.0.2.12" |
	"$CTL" setup --root "$T/sw" --no-apply >"$T/sw.out" 2>&1
rc=$?
diag "$(tr ':' '\n' <"$T/sw.out" | grep -i "valid\|written\|pass" )"
check "switch: exit 0" test "$rc" = 0
check "switch: tandem-lbd -t accepts tandem.json" tandem-lbd -t -c "$T/sw/tandem.json"
check_eq "switch: role" switch "$(cat "$T/sw/role")"
check_eq "switch: nodes as answered" "n1=10.0.2.11 n2=10.0.2.12" \
	"$(jq -r '[.nodes[] | "\(.name)=\(.address)"] | join(" ")' "$T/sw/tandem.json")"
check_eq "switch: VIP services" "10.0.1.100 tcp/80 udp/5201" \
	"$(jq -r '.vips[0] | "\(.address) " + ([.services[] | "\(.proto)/\(.port)"] | join(" "))' "$T/sw/tandem.json")"
check "switch: client interface address" grep -qx "Address=10.0.1.2/24" "$T/sw/network/10-eth0.network"
check "switch: storage interface address" grep -qx "Address=10.0.2.1/24" "$T/sw/network/10-eth1.network"
check_eq "switch: three bad answers refused with a reason" 3 "$(grep -o "not valid:" "$T/sw.out" | wc -l)"

# ---- 2. a node
mkdir -p "$T/export"
printf '%s\n' node "" 10.0.2.11/24 10.0.2.1 "10.0.1.100, fd77:1::100" "$T/export" |
	"$CTL" setup --root "$T/nd" --no-apply >"$T/nd.out" 2>&1
rc=$?
check "node: exit 0" test "$rc" = 0
check "node: tandem-nasd -t accepts nasd.json" tandem-nasd -t -c "$T/nd/nasd.json"
check_eq "node: role" node "$(cat "$T/nd/role")"
check_eq "node: listens on the VIPs and its own address" "10.0.1.100:80 [fd77:1::100]:80 10.0.2.11:80" \
	"$(jq -r '.listen | join(" ")' "$T/nd/nasd.json")"
check_eq "node: exports the directory" "$T/export" "$(jq -r '.exports[0].path' "$T/nd/nasd.json")"
check "node: the VIPs on lo" eval "grep -qx 'Address=10.0.1.100/32' '$T/nd/network/05-lo.network' &&
	grep -qx 'Address=fd77:1::100/128' '$T/nd/network/05-lo.network'"
check "node: gateway on the storage interface" grep -qx "Gateway=10.0.2.1" "$T/nd/network/10-eth0.network"

# ---- 3. answers that end early
printf '%s\n' switch "" 10.0.1.2/24 | "$CTL" setup --root "$T/short" --no-apply >"$T/short.out" 2>&1
rc=$?
check "early end: exit 1" test "$rc" = 1
check "early end: says nothing was written" grep -q "nothing was written" "$T/short.out"
check "early end: no role, no config" eval "! test -e '$T/short/role' && ! test -e '$T/short/tandem.json'"
finish
