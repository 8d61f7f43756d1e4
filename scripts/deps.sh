#!/bin/sh
# Install the Debian 12 packages Tandem needs to build, test and run its lab.
# Only what is missing is installed; needs root for that (CI and `make demo`
# run as root).  Package list: one place, here.
set -e
PKGS="make gcc clang llvm pkg-config libbpf-dev libelf-dev zlib1g-dev \
 libnl-3-dev libnl-route-3-dev libjansson-dev libssl-dev libzstd-dev libsystemd-dev libclang-rt-14-dev \
 iproute2 bpftool iperf3 nginx-light keepalived curl jq python3 coreutils procps psmisc util-linux \
 libsnmp-dev snmpd snmp snmptrapd smitools libldap2-dev slapd ldap-utils nslcd libnss-ldapd libmicrohttpd-dev libgnutls28-dev \
 libnfs-utils libnfs-dev rpcbind nfs-common openssl chromium dnsmasq-base bind9-dnsutils bind9 dnsperf \
	socat stress-ng rt-tests samba smbclient scdoc groff-base man-db systemd haproxy nftables ipvsadm tcpdump \
 mmdebstrap qemu-system-x86 qemu-utils ovmf dosfstools mtools fdisk xorriso zstd openssh-client \
 debhelper dpkg-dev fakeroot lintian prometheus bird2 nfs-ganesha nfs-ganesha-vfs"
# Node.js + npm only when the machine has none (a NodeSource nodejs bundles
# npm, and Debian's npm package would conflict with it).
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *"ok installed"*) ;; *) missing="$missing $p" ;; esac
done
if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: need root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# nginx's package would start a system-wide nginx; the lab runs its own.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -q --no-install-recommends $missing >/dev/null
	# prometheus's package enables a system-wide prometheus.service (the
	# policy above keeps it from starting now, not at the next boot, where
	# it would listen on :9090): t_metrics starts its own, so disable it.
	# bind9's package enables named.service the same way: the DNS tests
	# start their own named in the lab's namespace.
	case " $missing " in *" bind9 "*)
		systemctl disable --now named.service >/dev/null 2>&1 ||
			DPKG_MAINTSCRIPT_PACKAGE=bind9 DPKG_MAINTSCRIPT_NAME=postinst \
			deb-systemd-helper disable named.service >/dev/null 2>&1 || true ;;
	esac
	# samba's package enables smbd, nmbd and samba-ad-dc the same way: the
	# lab runs its own smbd per node (LAB_SMB=1), never the host's.
	case " $missing " in *" samba "*)
		for u in smbd nmbd samba-ad-dc; do
			systemctl disable --now "$u.service" >/dev/null 2>&1 ||
				DPKG_MAINTSCRIPT_PACKAGE=samba DPKG_MAINTSCRIPT_NAME=postinst \
				deb-systemd-helper disable "$u.service" >/dev/null 2>&1 || true
		done ;;
	esac
	# haproxy's package enables haproxy.service the same way: the bench's
	# peers section runs its own haproxy in the lab's switch namespace.
	case " $missing " in *" haproxy "*)
		systemctl disable --now haproxy.service >/dev/null 2>&1 ||
			DPKG_MAINTSCRIPT_PACKAGE=haproxy DPKG_MAINTSCRIPT_NAME=postinst \
			deb-systemd-helper disable haproxy.service >/dev/null 2>&1 || true ;;
	esac
	# bird2's package enables bird.service the same way: the scale-out
	# tests run their own BIRD per switch and router namespace.
	case " $missing " in *" bird2 "*)
		systemctl disable --now bird.service >/dev/null 2>&1 ||
			DPKG_MAINTSCRIPT_PACKAGE=bird2 DPKG_MAINTSCRIPT_NAME=postinst \
			deb-systemd-helper disable bird.service >/dev/null 2>&1 || true ;;
	esac
	# nfs-ganesha's package enables nfs-ganesha.service the same way: the
	# bench's nfspeer section runs its own ganesha in a lab namespace.
	case " $missing " in *" nfs-ganesha "*)
		for u in nfs-ganesha nfs-ganesha-lock nfs-ganesha-config; do
			systemctl disable --now "$u.service" >/dev/null 2>&1 ||
				DPKG_MAINTSCRIPT_PACKAGE=nfs-ganesha DPKG_MAINTSCRIPT_NAME=postinst \
				deb-systemd-helper disable "$u.service" >/dev/null 2>&1 || true
		done ;;
	esac
	case " $missing " in *" prometheus "*)
		# (deb-systemd-helper where systemctl cannot: no systemd running)
		systemctl disable --now prometheus.service >/dev/null 2>&1 ||
			DPKG_MAINTSCRIPT_PACKAGE=prometheus DPKG_MAINTSCRIPT_NAME=postinst \
			deb-systemd-helper disable prometheus.service >/dev/null 2>&1 || true ;;
	esac
	# nslcd's package enables nslcd.service the same way (and libnss-ldapd,
	# installed non-interactively, leaves /etc/nsswitch.conf alone): the lab
	# runs one nslcd per node, each in the node's own mount namespace.
	case " $missing " in *" nslcd "*)
		systemctl disable --now nslcd.service >/dev/null 2>&1 ||
			DPKG_MAINTSCRIPT_PACKAGE=nslcd DPKG_MAINTSCRIPT_NAME=postinst \
			deb-systemd-helper disable nslcd.service >/dev/null 2>&1 || true ;;
	esac
	# rpcbind and nfs-common are here for their clients only (rpcinfo,
	# showmount: the NFS tests ask the lab's VIP with them).  policy-rc.d
	# kept the install from starting their services; on a systemd host they
	# are not enabled for the next boot either (rpcbind would listen on 111).
	case " $missing " in
	*" rpcbind "* | *" nfs-common "*)
		if [ -d /run/systemd/system ]; then
			systemctl disable rpcbind.socket rpcbind.service nfs-client.target >/dev/null 2>&1 || true
		fi ;;
	esac
fi
# Per-component steps beyond Debian packages (e.g. npm packages for the
# browser test), each in its own script: scripts/deps.d/*.sh
for f in "$(dirname "$0")"/deps.d/*.sh; do
	[ -e "$f" ] && sh "$f"
done
exit 0
