#!/bin/bash
# t_role_overtaken: the notify hook's words that arrive out of order are
# dropped, not applied.
#
#   c1 c2 --- client LAN ---+------------------+
#                        [swa] ==sync==     [swb]      VRRP: a master, b backup
#   n1 n2 n3 -- storage LAN-+------------------+
#
# keepalived runs the hook as a new process per transition: in a flap (a
# backup that missed adverts under load goes MASTER and, hearing the master
# again, BACKUP within a millisecond) the two hooks race, and the MASTER
# hook arriving last left b's lbd "master" for 212 s while keepalived was
# backup (bench foload, 10 min with both CPUs saturated).  lbd and syncd
# now check a hook's word against keepalived's addresses (lib/vrrp_state.h).
# Here the real hook (tandem-failover notify, as keepalived calls it) is run
# with the word a late hook would bring:
#   1. on backup b: "tandem MASTER" while b holds no VIP: lbd and syncd keep
#      backup and count it overtaken; the VIPs stay on a, sessions work;
#   2. on master a: "tandem BACKUP" while a holds the VIPs: a stays master;
#   3. an operator's word (no kernel_check) is applied as before;
#   4. a real takeover afterwards still moves both roles (hooks in order).
. "$(dirname "$0")/lib.sh"

require_pair
pair_up

hook() {	# hook X STATE: switch X's notify hook for the sync group, as keepalived runs it
	in_ns "sw$1" "$LAB_DIR/bin/tandem-failover" -c "$LAB_DIR/sw-$1/tandem.json" notify GROUP tandem "$2"
}
overtaken() { sw_jctl "$1" status | jq -r '.role_overtaken'; }
sy_overtaken() { sy_get "$1" '.role_overtaken'; }

check_eq "no word overtaken at the start (a, b)" "0 0" "$(overtaken a) $(overtaken b)"
# 1.
check "b: a late MASTER hook runs (exit 0)" hook b MASTER
check_eq "b's lbd stays backup" backup "$(sw_role b)"
check_eq "b's syncd stays backup" backup "$(sy_get b .role)"
check_eq "b's lbd counted the word overtaken" 1 "$(overtaken b)"
check_eq "b's syncd counted it too" 1 "$(sy_overtaken b)"
check "b's log names it (role_overtaken)" grep -q 'role_overtaken' "$LAB_DIR/sw-b/lbd.log"
check_eq "a is still master" master "$(sw_role a)"
check_eq "a session through the VIP works" 200 \
	"$(in_ns c1 curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP4/node")"
# 2.
check "a: a late BACKUP hook runs (exit 0)" hook a BACKUP
check_eq "a's lbd stays master" master "$(sw_role a)"
check_eq "a's syncd stays master" master "$(sy_get a .role)"
check_eq "a's lbd counted the word overtaken" 1 "$(overtaken a)"
# 3.
req() { in_ns swb python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode()); print(s.recv(4096).decode().strip())' "$LAB_DIR/sw-b/lbd.sock" "$1"; }
check_eq "an operator's word is applied: b's lbd told fault" true "$(req '{"cmd":"role","role":"fault"}' | jq .ok)"
check_eq "b's lbd role fault" fault "$(sw_role b)"
check_eq "... and back: backup" true "$(req '{"cmd":"role","role":"backup"}' | jq .ok)"
check_eq "b's overtaken count unchanged by operator words" 1 "$(overtaken b)"
# 4.
sw_stop a hard
check "b becomes master (its hook in order)" wait_for 10 roles_are - master
check_eq "b's syncd master" master "$(sy_get b .role)"
check_eq "b's overtaken count unchanged by the takeover" 1 "$(overtaken b)"
check_eq "a session through the VIP works after the takeover" 200 \
	"$(in_ns c1 curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$VIP4/node")"
finish
