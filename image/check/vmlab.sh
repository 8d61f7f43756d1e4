# image/check/vmlab.sh - the virtual machines and namespaces of
# image/check.sh (sourced after tests/integration/lib.sh).
#
# Every VM: qemu-system-x86_64 inside the hub namespace (its taps sit on
# the hub's bridges), OVMF (UEFI: systemd-boot, boot counting), a qcow2
# overlay of the image, its own OVMF variable store, a config drive, its
# serial console in $TEST_TMP/<vm>.serial.  TCG unless KVM boots OVMF here.

VM_MEM=${VM_MEM:-1024}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
SSH_KEY=$TEST_TMP/id_ed25519
declare -A VM_PID VM_T0 VM_READY_S VM_IP
VIP=10.77.1.100

# ---- building -------------------------------------------------------------

# vm_build_all: packages and image of V1, upgrade bundles of V2 and of a
# broken V3 (images of their own release number, on V1's packages: a
# package build costs minutes here).  make and image/build.sh skip what is
# up to date or cached.
vm_build_all() {
	{
		make -C "$REPO" --no-print-directory deb TANDEM_VERSION="$V1" || return 1
		if [ ! -s "$IMG_DIR/tandem.img" ] || [ ! -s "$IMG_DIR/tandem-$V1.tup" ] ||
			[ -n "$(find "$REPO/build/deb" -name "tandem-switch_${V1}_amd64.deb" -newer "$IMG_DIR/tandem.img")" ]; then
			"$REPO/image/build.sh" -V "$V1" "$IMG_DIR" || return 1
		fi
		bundle "$V2" "" && bundle "$V3" -b
	} >"$TEST_TMP/build.log" 2>&1
}

bundle() {	# bundle VERSION [-b]: the upgrade bundle, unless up to date
	local t=$IMG_DIR/tandem-$1.tup
	[ -s "$t" ] && [ -z "$(find "$REPO/build/deb" -name "tandem-switch_${V1}_amd64.deb" -newer "$t")" ] &&
		return 0
	"$REPO/image/build.sh" -x -V "$1" -p "$V1" ${2:+"$2"} "$IMG_DIR"
}

# ---- the lab --------------------------------------------------------------

vmlab_up() {
	local h
	LAB_NAME=img$(printf '%s' "$$.$(date +%s%N)" | sha256sum | cut -c1-5)
	at_exit vmlab_down
	ip netns add "tdm-$LAB_NAME-hub"
	for b in brc brs brsy; do
		in_ns hub ip link add "$b" type bridge
		in_ns hub ip link set "$b" up
	done
	veth_to c1 brc 10.77.1.10/24
	veth_to n1 brs 10.77.2.11/24 via
	veth_to n2 brs 10.77.2.12/24 via
	ssh-keygen -q -t ed25519 -N "" -f "$SSH_KEY"
	mkdir -p "$TEST_TMP/www/slow"
	head -c 6M /dev/urandom >"$TEST_TMP/www/big.bin"
	nasd_on n1
	nginx_on n2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=tandem \
		-keyout "$TEST_TMP/tls.key" -out "$TEST_TMP/tls.crt" 2>/dev/null
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TEST_TMP/sync.key"
	# the pair's directory passwords (no newline: ldapadd -y takes the file as it is)
	for k in ldap-root ldap-replica; do
		head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$TEST_TMP/$k.pw"
	done
}

vmlab_down() {
	local v
	for v in "${!VM_PID[@]}"; do
		kill -9 "${VM_PID[$v]}" 2>/dev/null
	done
	for h in c1 n1 n2 hub; do
		ip netns pids "tdm-$LAB_NAME-$h" 2>/dev/null | xargs -r kill -9
		ip netns del "tdm-$LAB_NAME-$h" 2>/dev/null
	done
	LAB_NAME=""
}

# veth_to HOST BRIDGE ADDR [via]: a namespace on a hub bridge (via: default
# route through the storage gateway; the VIP on lo for a storage node).
veth_to() {
	local ns=tdm-$LAB_NAME-$1
	ip netns add "$ns"
	in_ns "$1" ip link set lo up
	ip link add "v$LAB_NAME$1" type veth peer name eth0 netns "$ns"
	ip link set "v$LAB_NAME$1" netns "tdm-$LAB_NAME-hub"
	in_ns hub ip link set "v$LAB_NAME$1" master "$2" up
	in_ns "$1" ip addr add "$3" dev eth0
	in_ns "$1" ip link set eth0 up
	if [ "${4:-}" = via ]; then
		in_ns "$1" ip route add default via 10.77.2.1
		in_ns "$1" ip addr add "$VIP/32" dev lo
		in_ns "$1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	fi
}

nasd_on() {	# tandem-nasd from the build on storage node $1
	cat >"$TEST_TMP/$1-nasd.json" <<EOT
{ "node_name": "$1", "listen": [ "$VIP:80", "$(in_ns "$1" ip -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1):80" ],
  "exports": [ { "url": "/", "path": "$TEST_TMP/www" } ],
  "throttle": [ { "prefix": "/slow/", "rate": 393216 } ],
  "control_socket": "$TEST_TMP/$1-nasd.sock" }
EOT
	in_ns "$1" setsid "$TANDEM_BUILD/tandem-nasd" -c "$TEST_TMP/$1-nasd.json" >"$TEST_TMP/$1-nasd.log" 2>&1 &
}

nginx_on() {	# nginx on storage node $1: the same files, the same pacing
	mkdir -p "$TEST_TMP/$1-nginx"
	cat >"$TEST_TMP/$1-nginx/nginx.conf" <<EOT
daemon off; user root; pid $TEST_TMP/$1-nginx/pid; error_log $TEST_TMP/$1-nginx/error.log;
events {}
http { access_log off;
  client_body_temp_path $TEST_TMP/$1-nginx; proxy_temp_path $TEST_TMP/$1-nginx;
  fastcgi_temp_path $TEST_TMP/$1-nginx; uwsgi_temp_path $TEST_TMP/$1-nginx; scgi_temp_path $TEST_TMP/$1-nginx;
  server { listen 80; root $TEST_TMP/www;
    location = /node { return 200 "$1\n"; }
    location /slow/ { limit_rate 393216; alias $TEST_TMP/www/; } } }
EOT
	in_ns "$1" setsid nginx -c "$TEST_TMP/$1-nginx/nginx.conf" >"$TEST_TMP/$1-nginx.log" 2>&1 &
}

# ---- config drives --------------------------------------------------------

net_file() {	# net_file DIR IF ADDR [GW]
	printf '[Match]\nName=%s\n\n[Network]\nAddress=%s\n%s' "$2" "$3" "${4:+Gateway=$4
}" >"$1/network/10-$2.network"
}

# switch_drive VM DIR: role switch, the pair's tandem.json, console, SNMP
switch_drive() {
	local d=$2 id prio local peer n
	case $1 in
	a) id=1 prio=150 local=10.77.9.1 peer=10.77.9.2 n=2 ;;
	b) id=2 prio=100 local=10.77.9.2 peer=10.77.9.1 n=3 ;;
	esac
	VM_IP[$1]=10.77.1.$n
	mkdir -p "$d/network" "$d/keys" "$d/tls"
	echo switch >"$d/role"
	net_file "$d" eth0 "10.77.1.$n/24"
	net_file "$d" eth1 "10.77.2.$n/24"
	net_file "$d" eth2 "$local/24"
	install -m 0600 "$TEST_TMP/sync.key" "$d/keys/sync.key"
	install -m 0600 "$TEST_TMP/ldap-root.pw" "$d/keys/ldap-root.pw"
	install -m 0600 "$TEST_TMP/ldap-replica.pw" "$d/keys/ldap-replica.pw"
	install -m 0600 "$TEST_TMP/tls.key" "$d/tls/console.key"
	install -m 0644 "$TEST_TMP/tls.crt" "$d/tls/console.crt"
	cat >"$d/tandem.json" <<EOT
{ "client_interface": "eth0", "storage_interface": "eth1",
  "health": { "interval_ms": 500, "timeout_ms": 400, "rise": 1, "fall": 2 },
  "nodes": [ { "name": "n1", "address": "10.77.2.11" }, { "name": "n2", "address": "10.77.2.12" },
             { "name": "vm", "address": "10.77.2.21" } ],
  "vips": [ { "name": "nas", "address": "$VIP", "services": [ { "proto": "tcp", "port": 80 } ] } ],
  "sync": { "switch_id": $id, "local": "$local", "peer": "$peer",
            "key_file": "/etc/tandem/keys/sync.key", "peer_dead_ms": 1500 },
  "vrrp": { "router_id": 77, "priority": $prio, "advert_int_ms": 200,
            "storage_gateways": [ "10.77.2.1/24" ] },
  "directory": { "mode": "pair", "base": "$DIR_BASE",
                 "providers": [ { "switch_id": 1, "address": "10.77.2.2" },
                                { "switch_id": 2, "address": "10.77.2.3" } ],
                 "root_password_file": "/etc/tandem/keys/ldap-root.pw",
                 "replica_password_file": "/etc/tandem/keys/ldap-replica.pw" } }
EOT
	cat >"$d/webd.json" <<EOT
{ "listen": "10.77.1.$n:8443", "cert": "/etc/tandem/tls/console.crt", "key": "/etc/tandem/tls/console.key",
  "ldap": { "uri": "ldap://10.77.1.10", "user_dn_template": "uid=%s,ou=people,dc=tandem,dc=test",
            "admin_group": "cn=admins,dc=tandem,dc=test", "viewer_group": "cn=viewers,dc=tandem,dc=test",
            "allow_cleartext": true },
  "syncd_socket": "/run/tandem/syncd.sock" }
EOT
	printf "agentaddress udp:10.77.1.$n:161\nrocommunity tandem 10.77.1.0/24\n" >"$d/snmpd.conf"
	ssh-keygen -y -f "$SSH_KEY" >"$d/authorized_keys"
}

node_drive() {	# node_drive VM DIR
	local d=$2
	VM_IP[$1]=10.77.2.21
	mkdir -p "$d/network"
	echo node >"$d/role"
	echo 30 >"$d/ready_timeout_s"
	net_file "$d" eth0 10.77.2.21/24 10.77.2.1
	printf '[Match]\nName=lo\n\n[Network]\nAddress=%s/32\n' "$VIP" >"$d/network/05-lo.network"
	# the lab's files ride on the config drive (they land in /etc/tandem/www),
	# so a download the switch sends to this node finds them as on n1 and n2
	mkdir -p "$d/www"
	cp "$TEST_TMP/www/big.bin" "$d/www/"
	cat >"$d/nasd.json" <<EOT
{ "node_name": "vm", "listen": [ "$VIP:80", "10.77.2.21:80" ],
  "exports": [ { "url": "/", "path": "/etc/tandem/www" } ],
  "throttle": [ { "prefix": "/slow/", "rate": 393216 } ] }
EOT
	ssh-keygen -y -f "$SSH_KEY" >"$d/authorized_keys"
}

make_iso() {	# make_iso DIR ISO
	xorriso -as mkisofs -quiet -R -V TANDEM_CFG -o "$2" "$1" 2>/dev/null
}

# ---- VMs ------------------------------------------------------------------

# vm_start VM ROLE [DRIVE_DIR]: boot VM (a fresh disk on first start)
vm_start() {
	local v=$1 d=${3:-$TEST_TMP/$1-cfg} i nic=""
	if [ ! -e "$TEST_TMP/$v.qcow2" ]; then
		qemu-img create -q -f qcow2 -b "$IMG_DIR/tandem.img" -F raw "$TEST_TMP/$v.qcow2"
		cp "$OVMF_VARS" "$TEST_TMP/$v.vars"
		if [ ! -d "$d" ]; then
			mkdir -p "$d"
			"${2}_drive" "$v" "$d"
		fi
		make_iso "$d" "$TEST_TMP/$v.iso"
	fi
	case $2 in
	switch) set -- brc brs brsy ;;
	node) set -- brs ;;
	esac
	i=0
	for br in "$@"; do
		in_ns hub ip tuntap add "t$v$i" mode tap 2>/dev/null
		in_ns hub ip link set "t$v$i" master "$br" up
		nic="$nic -netdev tap,id=e$i,ifname=t$v$i,script=no,downscript=no"
		nic="$nic -device virtio-net-pci,netdev=e$i,addr=0x$((3 + i)),mac=52:54:00:00:$(printf %02x "'$v"):0$i"
		i=$((i + 1))
	done
	: >>"$TEST_TMP/$v.serial"
	rm -f "$TEST_TMP/$v.pid"
	VM_FROM[$v]=$(stat -c %s "$TEST_TMP/$v.serial")	# waits look at what comes after
	VM_T0[$v]=$(now_ms)
	# shellcheck disable=SC2086
	in_ns hub setsid qemu-system-x86_64 -accel "$(vm_accel)" -machine q35 -m "$VM_MEM" -smp 1 \
		-display none -monitor none \
		-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
		-drive if=pflash,format=raw,file="$TEST_TMP/$v.vars" \
		-drive file="$TEST_TMP/$v.qcow2",if=virtio \
		-drive file="$TEST_TMP/$v.iso",format=raw,if=virtio,readonly=on \
		$nic -chardev file,id=s0,path="$TEST_TMP/$v.serial",append=on -serial chardev:s0 \
		-pidfile "$TEST_TMP/$v.pid" >"$TEST_TMP/$v.qemu.log" 2>&1 &
	# qemu's own pid (setsid may fork, so $! need not be qemu)
	local end=$(($(now_ms) + 10000))
	while [ ! -s "$TEST_TMP/$v.pid" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.1; done
	VM_PID[$v]=$(cat "$TEST_TMP/$v.pid" 2>/dev/null)
}

vm_accel() {	# KVM only when asked (IMAGE_KVM=1): OVMF does not boot on this host's KVM
	[ "${IMAGE_KVM:-0}" = 1 ] && [ -w /dev/kvm ] && echo kvm || echo tcg
}

vm_serial_file() { echo "$TEST_TMP/$1.serial"; }
vm_serial_tail() { tr -d '\r' <"$TEST_TMP/$1.serial" | grep -av '^\s*$' | tail -n 25; }

# vm_wait_serial VM PATTERN SECONDS: the serial console shows PATTERN
# (counting only what came after the last start); the time to it in VM_READY_S.
vm_wait_serial() {
	local v=$1 end=$(($(now_ms) + $3 * 1000)) from=${VM_FROM[$1]:-0}
	while [ "$(now_ms)" -lt "$end" ]; do
		if tail -c +"$((from + 1))" "$TEST_TMP/$v.serial" | grep -aq "$2"; then
			VM_READY_S[$v]=$((($(now_ms) - VM_T0[$v]) / 1000))
			VM_FROM[$v]=$(stat -c %s "$TEST_TMP/$v.serial")
			return 0
		fi
		kill -0 "${VM_PID[$v]}" 2>/dev/null || [ "$v" = "${VM_REBOOTING:-}" ] || return 1
		sleep 1
	done
	return 1
}
declare -A VM_FROM
vm_ready_s() { echo "${VM_READY_S[$1]}"; }

vm_ip() { echo "${VM_IP[$1]}"; }

# vm_ssh VM CMD...: as root over SSH, from the client (switches) or n1 (node)
vm_ssh() {
	local v=$1 from=c1
	shift
	[ "$v" = n ] && from=n1
	in_ns "$from" ssh -q -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o BatchMode=yes "root@${VM_IP[$v]}" "$@"
}
vm_ssh_n() { vm_ssh n "$@"; }

vm_has_vip() { vm_ssh "$1" ip -br addr show eth0 2>/dev/null | grep -q "$VIP"; }
vm_master() { vm_has_vip a && echo a || { vm_has_vip b && echo b; }; }
one_master() {
	local n=0
	vm_has_vip a && n=$((n + 1))
	vm_has_vip b && n=$((n + 1))
	[ "$n" = 1 ]
}
vm_kill() {	# SIGKILL the VM's qemu and wait until it is gone
	kill -9 "${VM_PID[$1]}" 2>/dev/null
	while kill -0 "${VM_PID[$1]}" 2>/dev/null; do sleep 0.1; done
}

node_up() {	# node_up NAME: the backup-now-master sees the node up
	vm_ssh "$backup" tandemctl --json nodes 2>/dev/null |
		jq -e --arg n "$1" '.nodes[] | select(.name == $n) | .state == "up"' >/dev/null
}

# ---- traffic --------------------------------------------------------------

dl_start() {	# dl_start N: N paced downloads of big.bin through the VIP
	local i
	for i in $(seq 1 "$1"); do
		(
			in_ns c1 curl -sS -f --max-time 150 -o "$TEST_TMP/dl$i" "http://$VIP/slow/big.bin" \
				2>"$TEST_TMP/dl$i.err"
			echo "$? $(now_ms)" >"$TEST_TMP/dl$i.rc"
		) &
		echo $! >"$TEST_TMP/dl$i.pid"
	done
}
dl_wait() {
	local p end=$(($(now_ms) + $1 * 1000))
	for p in "$TEST_TMP"/dl*.pid; do
		while kill -0 "$(cat "$p")" 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do sleep 0.5; done
	done
}
dl_check() {	# dl_check N [VM]: N downloads byte-exact; else why, and VM's view
	local i good=0 want
	want=$(sha256sum <"$TEST_TMP/www/big.bin")
	for i in $(seq 1 "$1"); do
		[ "$(sha256sum <"$TEST_TMP/dl$i" 2>/dev/null)" = "$want" ] && good=$((good + 1))
	done
	check_eq "all $1 downloads completed byte-exact across the failover" "$1" "$good" && return 0
	# which ones, how: curl's exit code, when it ended, bytes, its error
	for i in $(seq 1 "$1"); do
		diag "download $i: exit $(cut -d' ' -f1 "$TEST_TMP/dl$i.rc" 2>/dev/null || echo running)" \
			"at $(($(cut -d' ' -f2 "$TEST_TMP/dl$i.rc" 2>/dev/null || now_ms) - ${t_kill:-0})) ms after the kill," \
			"$(stat -c %s "$TEST_TMP/dl$i" 2>/dev/null || echo 0) bytes: $(head -c 200 "$TEST_TMP/dl$i.err" 2>/dev/null)"
	done
	# and what the new master (VM $2) saw: a reset session was sent to a
	# node that does not hold it (re-hashed: its node went down in this
	# switch's health checks, or its flow was not in the table)
	[ -n "${2:-}" ] || return 1
	diag "VM $2 stats: $(vm_ssh "$2" tandemctl stats 2>&1 | tr -s ' \n' ' ' | head -c 900)"
	diag "VM $2 nodes: $(vm_ssh "$2" tandemctl nodes 2>&1 | tr -s ' \n' ' ' | head -c 600)"
	diag "VM $2 lbd's node events: $(vm_ssh "$2" "journalctl -o cat -u tandem-lbd | grep -E 'node_(down|up)' | tail -n 8" 2>&1 | tr '\n' '|' | head -c 1200)"
	return 1
}

# probe_start: from c1, GET /node every 50 ms; one line "ms ok|fail" each
probe_start() {
	(
		while :; do
			if in_ns c1 curl -sf --max-time 0.5 -o /dev/null "http://$VIP/node"; then
				echo "$(now_ms) ok"
			else
				echo "$(now_ms) fail"
			fi
			sleep 0.05
		done
	) >"$TEST_TMP/probe" 2>/dev/null &
	at_exit "kill $! 2>/dev/null"
}
# probe_outage_ms T: the longest gap between answers after T
probe_outage_ms() {
	awk -v t="$1" '$2 == "ok" { if (last && $1 > t && $1 - last > max) max = $1 - last; last = $1 }
		END { print max + 0 }' "$TEST_TMP/probe"
}

# ---- upgrades -------------------------------------------------------------

# upgrade_to VM VERSION SLOT PATTERN SECTION: copy the bundle in, upgrade,
# reboot; wait for PATTERN on the console.
upgrade_to() {
	local v=$1 ver=$2 t0
	t0=$SECONDS
	check "$5. the $ver bundle copied in" \
		eval "in_ns n1 scp -q -i '$SSH_KEY' -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			'$IMG_DIR/tandem-$ver.tup' root@${VM_IP[$v]}:/data/up.tup"
	local t1=$SECONDS
	out=$(vm_ssh "$v" "tandemctl upgrade /data/up.tup && rm /data/up.tup" 2>&1)
	diag "$5. copy $((t1 - t0)) s, tandemctl upgrade $((SECONDS - t1)) s"
	check "$5. tandemctl upgrade to $ver writes slot $3" grep -q "written to slot $3" <<<"$out"
	diag "$out"
	VM_T0[$v]=$(now_ms)
	VM_REBOOTING=$v
	vm_ssh "$v" systemctl reboot >/dev/null 2>&1
	if vm_wait_serial "$v" "$4" 420; then
		ok "$5. after the upgrade to $ver: \"$4\" ($((SECONDS - t0)) s)"
	else
		fail "$5. after the upgrade to $ver: \"$4\"" "$(vm_serial_tail "$v")"
	fi
	VM_REBOOTING=""
}

# ---- the directory ----------------------------------------------------------

# The pair's own directory (its "directory" section, mode "pair"):
# tandem-slapd.service on both switches, mirror mode; the node VM has none.
DIR_BASE="dc=tandem,dc=test"
DIR_LDAPI="ldapi://%2Frun%2Ftandem%2Fldap%2Fldapi"

# dir_has VM DN: VM's slapd holds DN (read as the root, over its ldapi socket)
dir_has() {
	vm_ssh "$1" ldapsearch -x -H "$DIR_LDAPI" -D "cn=admin,$DIR_BASE" -y /etc/tandem/keys/ldap-root.pw \
		-b "$2" -s base dn 2>/dev/null | grep -q '^dn:'
}
# dir_add VM LDIF: add LDIF's entries on VM's slapd
dir_add() {
	vm_ssh "$1" ldapadd -x -H "$DIR_LDAPI" -D "cn=admin,$DIR_BASE" -y /etc/tandem/keys/ldap-root.pw <<<"$2"
}
unit_active() { [ "$(vm_ssh "$1" systemctl is-active "$2")" = active ]; }
# dir_listeners VM: the addresses VM listens on at port 389, sorted, one line
dir_listeners() {
	vm_ssh "$1" ss -Hltn 'sport = :389' | awk '{print $4}' | sort | tr '\n' ' '
}

# Step 1's directory checks, with both switches up.
dir_check() {
	local v
	for v in a b; do
		check "1. tandem-slapd runs on VM $v (the pair's directory)" \
			wait_for 90 unit_active "$v" tandem-slapd.service
		check_eq "1. Debian's own slapd.service is masked on VM $v" masked \
			"$(vm_ssh "$v" systemctl is-enabled slapd.service 2>/dev/null)"
	done
	check_eq "1. VM b's slapd listens on its storage address and 127.0.0.1 only" \
		"10.77.2.3:389 127.0.0.1:389 " "$(dir_listeners b)"
	check "1. slapd answers ldapsearch on VM a" wait_for 30 vm_ssh a ldapsearch -x -H "$DIR_LDAPI" \
		-b "''" -s base namingContexts
	check "1. the first entries load on VM a (slapdconf init | ldapadd)" \
		vm_ssh a "tandem-failover -c /etc/tandem/tandem.json slapdconf init | ldapadd -x -H '$DIR_LDAPI' \
		-D 'cn=admin,$DIR_BASE' -y /etc/tandem/keys/ldap-root.pw >/dev/null"
	check "1. replication a -> b: VM b holds them" wait_for 20 dir_has b "cn=replica,$DIR_BASE"
	check "1. an entry added on VM b" dir_add b "dn: uid=imgcheck,ou=people,$DIR_BASE
objectClass: account
objectClass: posixAccount
uid: imgcheck
cn: imgcheck
uidNumber: 4711
gidNumber: 4711
homeDirectory: /nonexistent"
	check "1. replication b -> a (mirror mode): VM a holds it" \
		wait_for 20 dir_has a "uid=imgcheck,ou=people,$DIR_BASE"
}

# The node VM has no directory: its replica and nslcd are skipped, and
# nothing listens on 389 (Debian's slapd is masked).
dir_check_node() {
	local u
	check "4. slapd, nslcd, libnss-ldapd and ldap-utils are installed on VM n" \
		vm_ssh n dpkg-query -W slapd nslcd libnss-ldapd ldap-utils
	for u in tandem-slapd-replica nslcd slapd tandem-slapd; do
		check_eq "4. $u.service does not run on VM n (no directory.json)" inactive \
			"$(vm_ssh n systemctl is-active $u.service)"
	done
	check_eq "4. nothing listens on port 389 on VM n" "" "$(dir_listeners n)"
}

# ---- bad config drives ----------------------------------------------------

# A config drive with bad JSON (VM x1) and one with a world-readable key
# (VM x2), booted side by side: each refused on the console with the
# reason; the machine stays up, unconfigured.
bad_drives_start() {
	node_drive x1 "$TEST_TMP/x1-cfg"
	printf '{ "node_name": "vm", "listen": [ ' >"$TEST_TMP/x1-cfg/nasd.json"	# cut short
	switch_drive a "$TEST_TMP/x2-cfg"
	chmod 0644 "$TEST_TMP/x2-cfg/keys/sync.key"
	vm_start x1 node "$TEST_TMP/x1-cfg"
	vm_start x2 switch "$TEST_TMP/x2-cfg"
}
bad_drives_check() {
	check "7. a drive with bad JSON is refused on the console, naming the file" \
		vm_wait_serial x1 "REFUSED the config drive (TANDEM_CFG): tandem-nasd: .*nasd.json" 300
	check "7. a drive with a world-readable key is refused, naming the key" \
		vm_wait_serial x2 "REFUSED the config drive (TANDEM_CFG): keys/sync.key has mode 644" 300
	for v in x1 x2; do
		check "7. VM $v stays up unconfigured" vm_wait_serial "$v" "tandem ready: role unconfigured" 180
		vm_kill "$v"
	done
}

vm_figures() {
	jq -n --arg v1 "$V1" --argjson build "$t_build" --argjson ra "${VM_READY_S[a]:-0}" \
		--argjson rb "${VM_READY_S[b]:-0}" --argjson rn "${VM_READY_S[n]:-0}" \
		--argjson out "${outage:-0}" --arg accel "$(vm_accel)" \
		--argjson size "$(stat -c %s "$IMG_DIR/tandem.img")" \
		--argjson used "$(($(stat -c %b "$IMG_DIR/tandem.img") * 512))" \
		'{version: $v1, accel: $accel, image_bytes: $size, image_used_bytes: $used,
		  build_s: $build, boot_to_ready_s: {a: $ra, b: $rb, node: $rn},
		  failover_outage_ms: $out}'
}
