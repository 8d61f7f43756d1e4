#!/bin/bash
# t_upgrade: `tandemctl upgrade` writes a signed release into the inactive
# root slot, and refuses every bad bundle before it writes anything.
#
#   no lab: the slots are files, the ESP a directory (a small tmpfs for the
#   full-ESP case), the bundles made by image/mkbundle.sh from small files
#
#     ESP/ a/vmlinuz a/initrd.img loader/entries/tandem-1.0.0-a.conf   (running: a)
#     slot-a.img (the running root, never touched)   slot-b.img (the target)
#
#   1. a good bundle (1.0.1): exit 0; slot b holds the root file system
#      byte for byte; ESP/b has the kernel and initrd; the entry
#      tandem-1.0.1-b+1.conf (one trial) names slot b; slot a, its files and
#      its entry are untouched;
#   2. refused, exit 1, "REFUSED ... nothing was written", and the ESP and
#      both slots byte-identical to before: a corrupt payload byte; a
#      truncated bundle; trailing bytes; signed with another key; a broken
#      manifest (signed); a version not newer than the running one; a root
#      file system larger than the slot; an ESP without room for the kernel;
#      an empty file; a file that is not a bundle.
. "$(dirname "$0")/lib.sh"

require_cmd openssl zstd sha256sum mkfs.ext4
CTL=$TANDEM_BUILD/tandemctl
MK=$REPO/image/mkbundle.sh
T=$TEST_TMP

openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null
truncate -s 8M "$T/rootfs.img"
mkdir -p "$T/rootdir/etc" && echo "release 1.0.1" >"$T/rootdir/etc/release"
mkfs.ext4 -q -d "$T/rootdir" "$T/rootfs.img"
head -c 300000 /dev/urandom >"$T/vmlinuz"
head -c 700000 /dev/urandom >"$T/initrd.img"
"$MK" -k "$T/key.pem" -V 1.0.1 -o "$T/good.tup" "$T/rootfs.img" "$T/vmlinuz" "$T/initrd.img"

fresh() {	# the appliance before the upgrade: running slot a, version 1.0.0
	rm -rf "$T/esp" "$T/slot-a.img" "$T/slot-b.img"
	mkdir -p "$T/esp/a" "$T/esp/loader/entries"
	echo old-kernel >"$T/esp/a/vmlinuz"
	echo old-initrd >"$T/esp/a/initrd.img"
	"$CTL" upgrade --print-entry a 1.0.0 >"$T/esp/loader/entries/tandem-1.0.0-a.conf"
	head -c 1M /dev/urandom >"$T/slot-a.img"
	truncate -s 10M "$T/slot-a.img"
	head -c 10M /dev/urandom >"$T/slot-b.img"	# an old release's bytes: all must go
}
snapshot() {	# hashes of everything the upgrade may touch
	(cd "$T" && find esp -type f | sort | xargs sha256sum; sha256sum slot-a.img slot-b.img)
}
up() {	# up BUNDLE [ESP]: run the upgrade; output in $T/out, exit code echoed
	"$CTL" upgrade --esp "${2:-$T/esp}" --slot-a "$T/slot-a.img" --slot-b "$T/slot-b.img" \
		--current a --release 1.0.0 --key "$T/pub.pem" "$1" >"$T/out" 2>&1
	echo $?
}

# ---- 1. a good bundle
fresh
before_a=$(sha256sum <"$T/slot-a.img")
rc=$(up "$T/good.tup")
check "good bundle: exit 0" test "$rc" = 0
diag "$(cat "$T/out")"
check "slot b holds the root file system, byte for byte (its zero runs zeroed, not skipped)" \
	cmp -n "$(stat -c %s "$T/rootfs.img")" "$T/rootfs.img" "$T/slot-b.img"
check "ESP/b has the kernel" cmp "$T/vmlinuz" "$T/esp/b/vmlinuz"
check "ESP/b has the initrd" cmp "$T/initrd.img" "$T/esp/b/initrd.img"
check "the new entry is on trial (tandem-1.0.1-b+1.conf)" \
	test -f "$T/esp/loader/entries/tandem-1.0.1-b+1.conf"
check "the new entry boots slot b" grep -q "root=PARTLABEL=tandem-b .*tandem.slot=b" \
	"$T/esp/loader/entries/tandem-1.0.1-b+1.conf"
check "slot a untouched" test "$(sha256sum <"$T/slot-a.img")" = "$before_a"
check "slot a's entry and files untouched" \
	eval 'test -f "$T/esp/loader/entries/tandem-1.0.0-a.conf" && grep -qx old-kernel "$T/esp/a/vmlinuz"'
check "no temporary files left on the ESP" test -z "$(find "$T/esp" -name '*.new')"

# ---- 2. refusals
refused() {	# refused DESC BUNDLE [ESP]
	fresh
	local s0 rc
	s0=$(snapshot)
	rc=$(up "$2" "${3:-}")
	check "$1: refused (exit 1)" test "$rc" = 1
	check "$1: says REFUSED and nothing was written" grep -q "REFUSED.*nothing was written" "$T/out"
	check "$1: ESP and slots unchanged" test "$(snapshot)" = "$s0"
	diag "$1: $(cat "$T/out")"
}
size=$(stat -c %s "$T/good.tup")
cp "$T/good.tup" "$T/corrupt.tup"
printf '\xff' | dd of="$T/corrupt.tup" bs=1 seek=$((size - 1000)) conv=notrunc status=none
refused "a corrupt payload byte" "$T/corrupt.tup"
head -c $((size - 1)) "$T/good.tup" >"$T/trunc.tup"
refused "a truncated bundle" "$T/trunc.tup"
{ cat "$T/good.tup"; echo x; } >"$T/trail.tup"
refused "trailing bytes" "$T/trail.tup"
"$MK" -k "$T/other.pem" -V 1.0.1 -o "$T/other.tup" "$T/rootfs.img" "$T/vmlinuz" "$T/initrd.img"
refused "signed with another key" "$T/other.tup"
"$MK" -k "$T/key.pem" -V 1.0.0 -o "$T/same.tup" "$T/rootfs.img" "$T/vmlinuz" "$T/initrd.img"
refused "a version not newer than the running one" "$T/same.tup"
truncate -s 12M "$T/big.img"
"$MK" -k "$T/key.pem" -V 1.0.2 -o "$T/big.tup" "$T/big.img" "$T/vmlinuz" "$T/initrd.img"
refused "a root file system larger than the slot" "$T/big.tup"
# a manifest that is signed but says nonsense (mkbundle with a patched manifest)
sed 's/"format":1/"format":2/' "$MK" >"$T/mk2.sh"
bash "$T/mk2.sh" -k "$T/key.pem" -V 1.0.1 -o "$T/fmt.tup" "$T/rootfs.img" "$T/vmlinuz" "$T/initrd.img"
refused "a signed manifest of an unknown format" "$T/fmt.tup"
check "the message names the field" grep -q '"format"' "$T/out"
: >"$T/empty.tup"
refused "an empty file" "$T/empty.tup"
head -c 5000 /dev/urandom >"$T/noise.tup"
refused "a file that is not a bundle" "$T/noise.tup"
# an ESP without room: a 1 MiB tmpfs holding slot a's files
mkdir -p "$T/smallesp"
mount -t tmpfs -o size=1m tmpfs "$T/smallesp"
at_exit umount "$T/smallesp"
fresh
cp -a "$T/esp/." "$T/smallesp/"
s0=$( (cd "$T/smallesp" && find . -type f | sort | xargs sha256sum); sha256sum "$T/slot-b.img")
rc=$(up "$T/good.tup" "$T/smallesp")
check "a full ESP: refused (exit 1)" test "$rc" = 1
check "a full ESP: the message says so" grep -q "not enough space on the ESP" "$T/out"
check "a full ESP: nothing written" \
	test "$( (cd "$T/smallesp" && find . -type f | sort | xargs sha256sum); sha256sum "$T/slot-b.img")" = "$s0"
finish
