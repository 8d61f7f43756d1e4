#!/bin/bash
# image/build.sh - build the Tandem appliance disk image and its upgrade
# bundle from Debian 12 and the project's packages.
#
#   image/build.sh [-V VERSION] [-p PKG_VERSION] [-k SIGNING_KEY] [-x] [-b] OUTDIR
#
# Needs the packages build/deb/tandem-{switch,node}_VERSION_amd64.deb
# (`make deb TANDEM_VERSION=VERSION`).  Writes into OUTDIR:
#   tandem.img                    raw GPT disk: ESP, root slots A and B, data
#   tandem-VERSION.tup            upgrade bundle (tandemctl upgrade)
#   upgrade-key.pem               the bundle-signing public key in the image
# -p: the Tandem packages' version (default VERSION): the image's own
# release is VERSION either way.
# -x: the bundle only (no disk image).  -b: a deliberately broken release
# for the rollback test (its daemons never start: the slot never gets ready).
#
# Layout of the disk (doc/appliance.md):
#   1 tandem-esp   vfat 256 MiB  systemd-boot, each slot's kernel + initrd,
#                                one loader entry per slot
#   2 tandem-a     ext4 1.5 GiB  root file system, slot A (the image's)
#   3 tandem-b     ext4 1.5 GiB  slot B (empty until the first upgrade)
#   4 tandem-data  ext4 512 MiB  /data: configuration (/etc/tandem), SSH
#                                host keys, the journal; outside the slots
#
# The Debian part is made once by mmdebstrap and cached by the hash of
# image/packages.list (build/image/cache); a fresh clone builds it from the
# archive (a few minutes), later runs reuse it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
VERSION=$(sed -n '1s/.*(\(.*\)).*/\1/p' "$REPO/debian/changelog" 2>/dev/null || echo 0.0.0)
KEY=""
BUNDLE_ONLY=0
BROKEN=0
PKG_VERSION=""
while getopts "V:p:k:xb" o; do
	case $o in
	V) VERSION=$OPTARG ;;
	p) PKG_VERSION=$OPTARG ;;
	k) KEY=$OPTARG ;;
	x) BUNDLE_ONLY=1 ;;
	b) BROKEN=1 ;;
	*) sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
PKG_VERSION=${PKG_VERSION:-$VERSION}
[ $# -eq 1 ] || { echo "usage: image/build.sh [-V VERSION] [-k KEY] [-x] [-b] OUTDIR" >&2; exit 2; }
OUT=$1
[ "$(id -u)" = 0 ] || { echo "image/build.sh: needs root (chroot, file ownership)" >&2; exit 1; }
CACHE=${TANDEM_IMAGE_CACHE:-$REPO/build/image/cache}
DEBS=${TANDEM_DEB_DIR:-$REPO/build/deb}
KEYDIR=${TANDEM_IMAGE_KEYS:-$REPO/build/image/keys}
ESP_MB=256
SLOT_MB=1536
DATA_MB=512
mkdir -p "$OUT" "$CACHE" "$KEYDIR"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
t0=$SECONDS
log() { printf 'image: %s (%ds)\n' "$*" $((SECONDS - t0)) >&2; }

# The signing key: a development key made once per build tree unless one is
# given (a vendor signs with its own and builds the image with its public key).
if [ -z "$KEY" ]; then
	KEY=$KEYDIR/upgrade-signing.pem
	[ -s "$KEY" ] || { openssl genpkey -algorithm ed25519 -out "$KEY" && chmod 0600 "$KEY"; }
fi
openssl pkey -in "$KEY" -pubout -out "$OUT/upgrade-key.pem"

base_tar() {	# the cached Debian root file system
	local list hash tar
	list=$(grep -v '^#' "$HERE/packages.list" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
	# the cache key: what goes into the base, not the rest of this script
	hash=$( (cat "$HERE/packages.list"; echo "mmdebstrap --variant=minbase bookworm") |
		sha256sum | cut -c1-16)
	tar=$CACHE/base-$hash.tar
	if [ ! -s "$tar" ]; then
		log "mmdebstrap: Debian 12 with $list"
		mmdebstrap --variant=minbase --include="$list" bookworm "$CACHE/.new.tar" >"$WORK/mmdebstrap.log" 2>&1 ||
			{ tail -20 "$WORK/mmdebstrap.log" >&2; exit 1; }
		mv "$CACHE/.new.tar" "$tar"
	fi
	echo "$tar"
}

# The root file system of one release: Debian + the Tandem packages + the
# appliance's own files (image/overlay).
make_root() {
	local root=$1 deb
	mkdir -p "$root"
	tar -C "$root" --numeric-owner -xf "$(base_tar)"
	for p in switch node; do
		deb=$DEBS/tandem-${p}_${PKG_VERSION}_amd64.deb
		[ -s "$deb" ] || { echo "image: $deb missing: make deb TANDEM_VERSION=$PKG_VERSION" >&2; exit 1; }
		cp "$deb" "$root/tmp/"
	done
	chroot "$root" sh -c 'dpkg -i /tmp/tandem-*.deb' >"$WORK/dpkg.log" 2>&1 ||
		{ cat "$WORK/dpkg.log" >&2; exit 1; }
	rm -f "$root"/tmp/tandem-*.deb
	cp -a "$HERE/overlay/." "$root/"
	echo "$VERSION" >"$root/usr/lib/tandem/release"
	cp "$OUT/upgrade-key.pem" "$root/usr/lib/tandem/upgrade-key.pem"
	# configuration and state on the data partition
	rm -rf "$root/etc/tandem"
	ln -s /data/tandem "$root/etc/tandem"
	mkdir -p "$root/var/log/journal"	# /data/journal is bound here (fstab)
	mkdir -p "$root/var/agentx"		# snmpd's AgentX socket (tandem-agentx's ReadWritePaths)
	mkdir -p "$root/data" "$root/boot/efi"
	# the directory's database (tandem-slapd*.service, default data_dir)
	# on the data partition: an upgrade keeps it
	mkdir -p "$root/var/lib/tandem"
	ln -sfn /data/ldap "$root/var/lib/tandem/ldap"
	# keepalived starts only through Tandem's drop-in (genconf at start)
	echo "# generated from /etc/tandem/tandem.json by tandem-failover at every start" \
		>"$root/etc/keepalived/keepalived.conf"
	# no password anywhere, no shared host keys, a fresh machine-id per machine
	chroot "$root" usermod -p '!' root
	rm -f "$root"/etc/ssh/ssh_host_*
	: >"$root/etc/machine-id"
	chroot "$root" systemctl enable systemd-networkd tandem-config tandem-sshkeys tandem-ready \
		tandem-console >/dev/null 2>&1
	chroot "$root" systemctl mask serial-getty@ttyS0.service systemd-networkd-wait-online.service \
		>/dev/null 2>&1
	# Debian's slapd would serve its default database (dc=nodomain, made
	# by its postinst) on every interface: masked, not re-pointed by a
	# drop-in, because its init script owns /etc/ldap/slapd.d and
	# /var/lib/ldap and runs its own logic around them; the directory is
	# tandem-slapd.service (switch) or tandem-slapd-replica.service (node),
	# each with its generated slapd.conf, and both conflict with it
	chroot "$root" systemctl mask slapd.service >/dev/null 2>&1
	ln -sfn /dev/null "$root/etc/systemd/system/slapd.service"
	if [ "$BROKEN" = 1 ]; then
		# a release that boots but never gets ready: the rollback test's
		for d in tandem-lbd tandem-nasd tandem-syncd; do
			printf '#!/bin/sh\necho "%s: this test release is broken on purpose" >&2\nexit 1\n' \
				"$d" >"$root/usr/sbin/$d"
		done
	fi
}

root=$WORK/root
log "root file system of $VERSION"
make_root "$root"
kver=$(ls "$root/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
cp "$root/boot/vmlinuz-$kver" "$WORK/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$WORK/initrd.img"
chroot "$root" tandemctl upgrade --print-entry a "$VERSION" >"$WORK/entry.conf"
log "ext4 slot image"
truncate -s ${SLOT_MB}M "$WORK/rootfs.img"
mkfs.ext4 -q -L tandem-root -d "$root" "$WORK/rootfs.img"
rm -rf "$root"

log "upgrade bundle"
"$HERE/mkbundle.sh" -k "$KEY" -V "$VERSION" -o "$OUT/tandem-$VERSION.tup" \
	"$WORK/rootfs.img" "$WORK/vmlinuz" "$WORK/initrd.img"
[ "$BUNDLE_ONLY" = 1 ] && { log "done: $OUT/tandem-$VERSION.tup"; exit 0; }

log "ESP"
truncate -s ${ESP_MB}M "$WORK/esp.img"
mkfs.vfat -n TANDEM_ESP "$WORK/esp.img" >/dev/null
mtools() { MTOOLS_SKIP_CHECK=1 "$@"; }
mtools mmd -i "$WORK/esp.img" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/a ::/b
efi=$(tar -xOf "$(base_tar)" ./usr/lib/systemd/boot/efi/systemd-bootx64.efi >"$WORK/boot.efi" && echo "$WORK/boot.efi")
mtools mcopy -i "$WORK/esp.img" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mtools mcopy -i "$WORK/esp.img" "$WORK/vmlinuz" ::/a/vmlinuz
mtools mcopy -i "$WORK/esp.img" "$WORK/initrd.img" ::/a/initrd.img
printf 'timeout 0\neditor no\n' >"$WORK/loader.conf"
mtools mcopy -i "$WORK/esp.img" "$WORK/loader.conf" ::/loader/loader.conf
mtools mcopy -i "$WORK/esp.img" "$WORK/entry.conf" "::/loader/entries/tandem-$VERSION-a.conf"

log "data partition"
mkdir -p "$WORK/data/tandem" "$WORK/data/journal" "$WORK/data/ssh"
chmod 0750 "$WORK/data/tandem"
truncate -s ${DATA_MB}M "$WORK/data.img"
mkfs.ext4 -q -L tandem-data -d "$WORK/data" "$WORK/data.img"

log "disk"
img=$OUT/tandem.img.tmp
rm -f "$img"
truncate -s $((1 + ESP_MB + 2 * SLOT_MB + DATA_MB + 1))M "$img"
sfdisk -q "$img" <<EOT
label: gpt
start=1MiB, size=${ESP_MB}MiB, type=uefi, name=tandem-esp
size=${SLOT_MB}MiB, type=linux, name=tandem-a
size=${SLOT_MB}MiB, type=linux, name=tandem-b
size=${DATA_MB}MiB, type=linux, name=tandem-data
EOT
off=1
for p in esp rootfs; do
	sz=$([ $p = esp ] && echo $ESP_MB || echo $SLOT_MB)
	dd if="$WORK/$p.img" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none
	off=$((off + sz))
done
off=$((off + SLOT_MB))	# slot B stays empty
dd if="$WORK/data.img" of="$img" bs=1M seek=$off conv=notrunc,sparse status=none
mv "$img" "$OUT/tandem.img"
log "done: $OUT/tandem.img ($(du -h --apparent-size "$OUT/tandem.img" | cut -f1) sparse, $(du -h "$OUT/tandem.img" | cut -f1) used), $OUT/tandem-$VERSION.tup"
