#!/bin/bash
# The Debian packages (make deb): built from a copy of the tree without
# touching the working tree, lintian-clean of errors, holding exactly what
# `make install` installs, with the Depends a switch needs; and their
# maintainer scripts, run by the real dpkg on a throwaway copy of this
# machine, create /etc/tandem (0750), enable every unit without starting it,
# and leave an operator's /etc/tandem alone on install, upgrade and purge.
#
#   make deb                   -> build/deb/tandem-{switch,node}_V_ARCH.deb
#   make deb TANDEM_VERSION=V+t1  (the upgrade)
#
#   private mount namespace (held by a sleeping `unshare`):
#     tmpfs/u (upper) + / (lower, read-only) = overlay M; M/proc, M/dev
#     chroot M: dpkg -i / -P with logging stand-ins for systemctl and
#     deb-systemd-invoke, M/run/systemd/system present (so the scripts
#     believe systemd runs and would start what they start)
#
# Nothing reaches the host's / : every write lands in the tmpfs, which goes
# with the namespace when the holder is killed.
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
. "$(dirname "$0")/lib.sh"
require_root
require_cmd dpkg-buildpackage dh lintian fakeroot unshare nsenter chroot

V=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$REPO/debian/changelog")
V2=$V+t1
ARCH=$(dpkg --print-architecture)
DEBS=$REPO/build/deb
SW=$DEBS/tandem-switch_${V}_$ARCH.deb
NODE=$DEBS/tandem-node_${V}_$ARCH.deb
SW2=$DEBS/tandem-switch_${V2}_$ARCH.deb
NODE2=$DEBS/tandem-node_${V2}_$ARCH.deb

# ------------------------------------------------------------- build --

git_state() {	# the working tree's state as git sees it ("" outside git)
	git -C "$REPO" status --porcelain --untracked-files=all 2>/dev/null
}
# (niced: under make check other integration tests run beside this build)
before=$(git_state)
touch "$TEST_TMP/t0"
if ! out=$(nice -n 10 make -C "$REPO" --no-print-directory deb 2>&1); then
	fail "make deb builds version $V" "$(tail -n 30 <<<"$out")"
	finish
fi
ok "make deb builds version $V"
check_eq "make deb prints the two packages' paths" "$SW $NODE" "$(tail -n 2 <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
if ! out=$(nice -n 10 make -C "$REPO" --no-print-directory deb TANDEM_VERSION="$V2" 2>&1); then
	fail "make deb TANDEM_VERSION=$V2" "$(tail -n 30 <<<"$out")"
	finish
fi
check "make deb TANDEM_VERSION=$V2 builds that version" test -f "$SW2" -a -f "$NODE2"
check_eq "the working tree is as before (git status)" "$before" "$(git_state)"
check_eq "nothing was written beside the repository" "" \
	"$(find "$(dirname "$REPO")" -maxdepth 1 -newer "$TEST_TMP/t0" \
		\( -name 'tandem*.deb' -o -name 'tandem_*.changes' -o -name 'tandem_*.buildinfo' \) 2>/dev/null)"

# ------------------------------------------------------ static checks --

lint=$(lintian "$SW" "$NODE" 2>&1 | grep -v 'running with root privileges')
diag "lintian: ${lint:-(nothing)}"
check_eq "lintian: no errors" "" "$(grep '^E:' <<<"$lint")"

files() {	# files DEB: its regular files and links, without "./"
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort
}
has_all() {	# has_all DEB PATH...: every PATH is in DEB
	local deb=$1 list miss=""
	shift
	list=$(files "$deb")
	for p in "$@"; do
		grep -qxF "$p" <<<"$list" || miss="$miss $p"
	done
	[ -z "$miss" ] || { echo "missing:$miss"; return 1; }
}
check "tandem-switch holds the switch's files" has_all "$SW" \
	usr/sbin/tandem-lbd usr/sbin/tandem-syncd usr/sbin/tandem-failover \
	usr/sbin/tandem-webd usr/sbin/tandem-agentx usr/bin/tandemctl \
	usr/lib/tandem/lb.bpf.o usr/share/tandem/www/index.html \
	usr/share/snmp/mibs/TANDEM-MIB.txt \
	lib/systemd/system/tandem-lbd.service lib/systemd/system/tandem-syncd.service \
	lib/systemd/system/tandem-webd.service lib/systemd/system/tandem-agentx.service \
	lib/systemd/system/keepalived.service.d/tandem.conf lib/systemd/system/bird.service.d/tandem.conf \
	usr/share/doc/tandem-switch/copyright usr/share/doc/tandem-switch/README.md \
	usr/share/doc/tandem-switch/examples/tandem.json usr/share/doc/tandem-switch/examples/webd.json \
	usr/share/man/man8/tandem-lbd.8.gz usr/share/man/man1/tandemctl.1.gz \
	usr/share/man/man5/tandem.json.5.gz usr/share/man/man5/webd.json.5.gz
check "tandem-node holds the node's files" has_all "$NODE" \
	usr/sbin/tandem-nasd usr/lib/tandem/flowdrop.bpf.o lib/systemd/system/tandem-nasd.service \
	usr/share/doc/tandem-node/copyright usr/share/doc/tandem-node/nasd.md \
	usr/share/doc/tandem-node/examples/nasd.json \
	usr/share/man/man8/tandem-nasd.8.gz usr/share/man/man5/nasd.json.5.gz
check_eq "neither package ships a file in /etc" "" "$( (files "$SW"; files "$NODE") | grep '^etc/')"

# One list: the two packages together hold what `make install` installs
# (in the package's source copy, whose build is still there).
inst=$TEST_TMP/inst
make -s -C "$DEBS/tandem-$V" --no-print-directory install B=debian/build DESTDIR="$inst" >/dev/null 2>&1
want=$(cd "$inst" 2>/dev/null && find . ! -type d | sed 's|^\./||' | sort)
# (debhelper adds the changelog, copyright and lintian overrides, and
# compresses the man pages)
got=$( (files "$SW"; files "$NODE") |
	grep -Ev '^usr/share/doc/tandem-(switch|node)/(changelog\.gz|copyright)$|^usr/share/lintian/' |
	sed 's|^\(usr/share/man/.*\)\.gz$|\1|' | sort)
check_eq "the packages hold make install's files, no more, no less" "$want" "$got"

# Each unit waits for the configuration its ExecStart reads (-c FILE;
# tandem-agentx has none: the switch's tandem.json).
unit_cond_ok() {	# unit_cond_ok DEB UNIT
	local u c want
	u=$(dpkg-deb --fsys-tarfile "$1" | tar -xOf - "./lib/systemd/system/$2.service")
	want=$(sed -n 's/^ExecStart=.* -c \([^ ]*\).*/\1/p' <<<"$u")
	c=$(sed -n 's/^ConditionPathExists=//p' <<<"$u")
	[ "$c" = "${want:-/etc/tandem/tandem.json}" ] || { echo "$2: condition '$c', config '$want'"; return 1; }
}
for u in tandem-lbd tandem-syncd tandem-webd tandem-agentx; do
	check "$u.service starts only once its configuration exists" unit_cond_ok "$SW" "$u"
done
check "tandem-nasd.service starts only once its configuration exists" unit_cond_ok "$NODE" tandem-nasd

dep=$(dpkg-deb -f "$SW" Depends)
check "tandem-switch depends on keepalived, snmpd, iproute2" \
	sh -c 'for d in keepalived snmpd iproute2; do echo "$1" | grep -qE "(^|, )$d(,|$| )" || exit 1; done' sh "$dep"
check "tandem-node depends on iproute2" sh -c 'dpkg-deb -f "$1" Depends | grep -qE "(^|, )iproute2(,|$| )"' sh "$NODE"
# lib/log sends to journald through libsystemd: dpkg-shlibdeps finds it
for p in "$SW" "$NODE"; do
	check "$(basename "$p"): Depends has libsystemd0 (\${shlibs:Depends})" \
		sh -c 'dpkg-deb -f "$1" Depends | grep -qE "(^|, )libsystemd0( |,|$)"' sh "$p"
done
check_eq "the upgrade's version" "$V2" "$(dpkg-deb -f "$SW2" Version)"

# ----------------------------------------------- a throwaway machine --

OVL=$TEST_TMP/ovl
M=$OVL/m
mkdir -p "$OVL"
unshare --mount --propagation private sh -c '
	mount -t tmpfs tdeb "$1" && mkdir "$1/u" "$1/w" "$1/m" &&
	mount -t overlay tdeb -o lowerdir=/,upperdir="$1/u",workdir="$1/w" "$1/m" &&
	mount -t proc proc "$1/m/proc" && mount --rbind /dev "$1/m/dev" &&
	touch "$1/ready" && exec sleep 900' sh "$OVL" &
HOLDER=$!
at_exit "kill $HOLDER"
in_ovl() { nsenter -t "$HOLDER" -m -- "$@"; }
# in_root CMD...: CMD in the throwaway machine, with a clean environment.
in_root() {
	in_ovl chroot "$M" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}
if ! wait_for 10 in_ovl test -e "$OVL/ready"; then
	fail "overlay root of / in a private mount namespace"
	finish
fi
ok "overlay root of / in a private mount namespace"

# The machine: systemd "running", systemctl and deb-systemd-invoke logging
# what the scripts ask of them, no trace of Tandem.  systemctl --root (what
# deb-systemd-helper enables with: links only, no running systemd) is the
# real one; everything else only logged.
CALLS=/var/log/t_deb.calls
in_root sh -c "rm -rf /etc/tandem && mkdir -p /run/systemd/system /usr/local/sbin && : >$CALLS"
for f in systemctl deb-systemd-invoke; do
	{
		printf '#!/bin/sh\necho "%s $*" >>%s\n' "$f" "$CALLS"
		[ "$f" = systemctl ] && printf 'case " $* " in *" --root="*) exec /usr/bin/systemctl "$@" ;; esac\n'
		printf 'exit 0\n'
	} | in_root sh -c "cat >/usr/local/sbin/$f && chmod 755 /usr/local/sbin/$f"
done
for p in tandem-switch tandem-node; do
	in_root dpkg -s "$p" >/dev/null 2>&1 && in_root dpkg -P "$p" >/dev/null 2>&1
done
in_ovl mkdir -p "$M/debs"
in_ovl cp "$SW" "$NODE" "$SW2" "$NODE2" "$M/debs/"
rel() { echo "/debs/$(basename "$1")"; }

calls() {	# the calls logged since the last look, then forget them
	in_root sh -c "cat $CALLS; : >$CALLS"
}
started() {	# the lines of CALLS (stdin) that start or restart a unit
	grep -E ' (start|restart|try-restart|reload-or-restart|try-reload-or-restart|reload)( |$)' || true
}
UNITS="tandem-lbd tandem-syncd tandem-webd tandem-agentx tandem-nasd"
enabled_all() {
	local u miss=""
	for u in $UNITS; do
		in_root test -L "/etc/systemd/system/multi-user.target.wants/$u.service" || miss="$miss $u"
	done
	[ -z "$miss" ] || { echo "not enabled:$miss"; return 1; }
}
stat_of() { in_root stat -c '%a %U:%G' "$1"; }

# Fresh install.
check "dpkg -i both packages on a machine without /etc/tandem" \
	in_root dpkg -i "$(rel "$SW")" "$(rel "$NODE")"
c=$(calls)
diag "calls on install: $c"
check_eq "/etc/tandem is created root:root 0750" "750 root:root" "$(stat_of /etc/tandem)"
check_eq "/etc/tandem is left empty" "" "$(in_root ls -A /etc/tandem)"
check "every unit is enabled" enabled_all
check_eq "no unit is started" "" "$(started <<<"$c")"
check "systemd reloads its units (the keepalived drop-in)" grep -q 'systemctl --system daemon-reload' <<<"$c"
check "systemd-analyze verify accepts the installed units" \
	in_root systemd-analyze verify --man=no /lib/systemd/system/tandem-{lbd,syncd,webd,agentx,nasd}.service

# The operator configures; the upgrade leaves it alone and restarts what runs.
in_root sh -c 'chmod 0700 /etc/tandem && echo "{\"operator\": 1}" >/etc/tandem/tandem.json &&
	echo "{\"operator\": 2}" >/etc/tandem/nasd.json && chmod 0600 /etc/tandem/tandem.json'
conf_state() { in_root sh -c 'cd /etc/tandem && stat -c "%n %a %U:%G %s %Y" . * && cat *'; }
st0=$(conf_state)
check "dpkg -i the upgrade ($V2)" in_root dpkg -i "$(rel "$SW2")" "$(rel "$NODE2")"
c=$(calls)
diag "calls on upgrade: $c"
check_eq "installed version after the upgrade" "$V2 $V2" \
	"$(in_root dpkg-query -W -f '${Version} ' tandem-switch tandem-node | sed 's/ $//')"
check_eq "the upgrade leaves /etc/tandem and its files untouched" "$st0" "$(conf_state)"
check "the upgrade try-restarts the units (those that run)" \
	grep -q 'deb-systemd-invoke try-restart .*tandem-lbd\.service' <<<"$c"
check_eq "the upgrade starts nothing that was stopped" "" "$(started <<<"$c" | grep -v ' try-restart ')"
check "every unit is still enabled" enabled_all

# Remove: the daemons are stopped; purge: the operator's files stay.
check "dpkg -r both" in_root dpkg -r tandem-switch tandem-node
c=$(calls)
check "removing stops the daemons" grep -q 'deb-systemd-invoke stop .*tandem-lbd.service' <<<"$c"
check "dpkg -P both" in_root dpkg -P tandem-switch tandem-node
check_eq "purging leaves /etc/tandem and its files untouched" "$st0" "$(conf_state)"

# Install again where a configuration exists: still untouched, still not started.
calls >/dev/null
check "dpkg -i both where /etc/tandem/tandem.json exists" \
	in_root dpkg -i "$(rel "$SW")" "$(rel "$NODE")"
c=$(calls)
check_eq "install leaves the existing /etc/tandem untouched" "$st0" "$(conf_state)"
check_eq "no unit is started, configured or not" "" "$(started <<<"$c")"
check "every unit is enabled again" enabled_all

finish
