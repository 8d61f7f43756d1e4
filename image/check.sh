#!/bin/bash
# image/check.sh (make image-check): boot the appliance image under qemu and
# check that two booted machines are a Tandem pair, that the same image is
# a storage node, and that upgrades and rollbacks work.
#
#   tdi-X-c1 (client 10.77.1.10) ---+                 VIP 10.77.1.100
#                                   brc (client LAN) -+- VM A eth0 .2   VM B eth0 .3
#   hub tdi-X-hub: bridges, taps   brsy (sync link) --+- VM A eth2 10.77.9.1   VM B eth2 .2
#                                   brs (storage LAN) +- VM A eth1 10.77.2.2   VM B eth1 .3
#   tdi-X-n1 (tandem-nasd 10.77.2.11) ---+            +- VM N eth0 10.77.2.21 (node role)
#   tdi-X-n2 (nginx       10.77.2.12) ---+            storage gateway 10.77.2.1 (VRRP)
#
# VMs run qemu (TCG unless KVM boots; no user-mode networking: taps into the
# hub's bridges), each from a qcow2 overlay of build/image/tandem.img and its
# own config drive (ISO 9660, label TANDEM_CFG).  Checks:
#   1. A and B reach "tandem ready"; keepalived elects exactly one master
#      (it holds the VIP), the other is backup.  BIRD 2 is in the image and
#      its unit is skipped (a pair has no "bgp" section).
#   2. 12 paced downloads through the VIP; the master VM is killed
#      (SIGKILL of its qemu) in the middle: every download completes
#      byte-exact through B; the outage a client sees is measured.
#   3. On the new master: the console answers over HTTPS (index page and
#      /api/v1 refusing an anonymous call) and snmpwalk reads TANDEM-MIB.
#   4. VM N boots the same image in the node role; with n1 and n2 drained
#      on B, the VIP is served by N's tandem-nasd.
#   5. tandemctl upgrade on N to a bundle of version +1 (scp'd in), reboot:
#      N comes back ready on slot b with the new version.
#   6. An upgrade to a release that never gets ready: the trial boot
#      reboots by itself and N comes back on slot b, previous version.
#      The pair runs its own directory ("directory" mode "pair"):
#      tandem-slapd on both, Debian's slapd.service masked, slapd listening
#      on the storage address and 127.0.0.1 only; the first entries loaded
#      on A appear on B, an entry added on B appears on A (mirror mode).
#   4b. VM N (no directory.json): the packages are there, its replica,
#      nslcd and Debian's slapd do not run, nothing listens on 389.
#   7. A config drive with bad JSON, and one with a world-readable key,
#      are refused with a clear message on the console; the machine stays up
#      unconfigured (N2, a fourth short boot).
# Figures (image size, build time, boot-to-ready, failover) go to
# build/image/check.json and the output.
set -u
TEST_TIMEOUT=${IMAGE_CHECK_TIMEOUT:-2400}
. "$(dirname "$0")/../tests/integration/lib.sh"
require_root
require_cmd qemu-system-x86_64 qemu-img xorriso ssh scp snmpwalk curl openssl nginx jq
. "$(dirname "$0")/check/vmlab.sh"

IMG_DIR=${TANDEM_IMAGE_OUT:-$REPO/build}
V1=${TANDEM_IMAGE_VERSION:-$(sed -n '1s/.*(\(.*\)).*/\1/p' "$REPO/debian/changelog")}
V2=$V1.1
V3=$V1.2
FIG=$IMG_DIR/image-check.json

# ---- build (cached across runs; a fresh clone builds from nothing)
t_build=$SECONDS
vm_build_all || { fail "the image and the upgrade bundles build" "$(tail -30 "$TEST_TMP/build.log")"; finish; }
t_build=$((SECONDS - t_build))
ok "image and bundles built (${t_build}s): $(du -h --apparent-size "$IMG_DIR/tandem.img" | cut -f1) disk, $(du -h "$IMG_DIR/tandem.img" | cut -f1) used"
vmlab_up

# ---- 1. the pair boots (and the node VM beside it, for step 4)
vm_start a switch
vm_start b switch
vm_start n node
for v in a b; do
	if vm_wait_serial "$v" "tandem ready: role switch" 420; then
		ok "VM $v ready after $(vm_ready_s "$v") s"
	else
		fail "VM $v ready" "$(vm_serial_tail "$v")"
	fi
	check "VM $v answers SSH" wait_for 120 vm_ssh "$v" true
	check "VM $v refuses SSH passwords (keys only)" eval "in_ns c1 ssh -o BatchMode=yes \
		-o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@$(vm_ip "$v") true 2>&1 |
		grep -q 'Permission denied (publickey)'"
done
check "keepalived elected a master (one VM holds the VIP)" wait_for 60 one_master
master=$(vm_master)
backup=$([ "$master" = a ] && echo b || echo a)
check_eq "the other VM is backup (no VIP)" "" "$(vm_ssh "$backup" ip -br addr show eth0 | grep -o 10.77.1.100)"
diag "master: VM $master"
check "BIRD 2 is in the image (bird --version)" vm_ssh "$backup" bird --version
check_eq "bird.service skipped on a pair switch (no bgp section)" inactive \
	"$(vm_ssh "$backup" systemctl is-active bird.service)"
dir_check

# ---- 2. downloads survive the master's death
check "the VIP answers" wait_for 30 in_ns c1 curl -sf -o /dev/null --max-time 2 http://10.77.1.100/node
dl_start 12
probe_start
sleep 3
vm_kill "$master"
t_kill=$(now_ms)
bad_drives_start	# step 7's two VMs boot meanwhile, on the dead master's CPU
check "VM $backup takes over as master" wait_for 60 vm_has_vip "$backup"
dl_wait 150
dl_check 12 "$backup"
outage=$(probe_outage_ms "$t_kill")
diag "failover: the client saw ${outage} ms without an answer"
check "failover outage under 5 s" test "$outage" -lt 5000

# ---- 3. console and MIB on the new master
ip=$(vm_ip "$backup")
check "console over HTTPS on $ip" in_ns c1 curl -sfk -o "$TEST_TMP/index.html" "https://$ip:8443/"
check "the console page is the packaged one" cmp "$TEST_TMP/index.html" "$REPO/mgmt-web/www/index.html"
check_eq "the API refuses an anonymous call" 401 \
	"$(in_ns c1 curl -sk -o /dev/null -w '%{http_code}' "https://$ip:8443/api/v1/status")"
# only the project's MIB files, as t_snmp does (-m TANDEM-MIB, not +: the
# host need not have the standard MIBs snmpd's own modules would want)
walk=$(in_ns c1 snmpwalk -v2c -c tandem -t 2 -r 2 -M "+$REPO/snmp/mibs:$REPO/snmp" -m TANDEM-MIB \
	"$ip" TANDEM-MIB::tandemMIB 2>&1)
check "snmpwalk reads TANDEM-MIB on the new master" grep -q "^TANDEM-MIB::tandemSwitchRole.0 = " <<<"$walk" ||
	diag "$(head -5 <<<"$walk")"
check "the MIB says this switch is master" grep -q "^TANDEM-MIB::tandemSwitchRole.0 = INTEGER: master" <<<"$walk" ||
	diag "$(grep -i "SwitchRole" <<<"$walk")"

# ---- 4. the same image as a storage node
if vm_wait_serial n "tandem ready: role node" 300; then
	ok "VM n (node role) ready after $(vm_ready_s n) s"
else
	fail "VM n ready" "$(vm_serial_tail n)"
fi
check "VM n answers SSH" wait_for 120 vm_ssh n true
check "VM n is up in the switch's view" wait_for 60 node_up vm
dir_check_node
vm_ssh "$backup" tandemctl drain n1 >/dev/null
vm_ssh "$backup" tandemctl drain n2 >/dev/null
check_eq "the VIP is served by the node VM" vm "$(in_ns c1 curl -sf --max-time 3 http://10.77.1.100/node)"
check "a file through the VIP from the node VM, byte-exact" eval \
	"in_ns c1 curl -sf --max-time 30 http://10.77.1.100/big.bin | cmp - '$TEST_TMP/www/big.bin'"

# ---- 5. upgrade to V2 and 6. roll back from a broken V3
upgrade_to n "$V2" b "tandem ready: role node, version $V2, slot b" 5
upgrade_to n "$V3" a "tandem ready: role node, version $V2, slot b" 6
check "the broken trial said why it rebooted" grep -aq "NOT READY after .* on trial slot a (version $V3): rebooting" \
	"$(vm_serial_file n)"
check_eq "N runs $V2 after the rollback" "$V2" "$(vm_ssh_n cat /usr/lib/tandem/release)"

# ---- 7. bad config drives (booted during step 2)
bad_drives_check

vm_figures >"$FIG"
diag "figures: $(jq -c . "$FIG")"
finish
