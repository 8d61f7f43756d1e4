#!/bin/bash
# image/mkbundle.sh -k KEY -V VERSION -o OUT ROOTFS_IMG KERNEL INITRD
# Write an upgrade bundle (.tup) for `tandemctl upgrade`: the format is
# appliance/tandemctl/bundle.h's.  KEY: the Ed25519 private key (PEM) whose
# public half the appliance trusts (/usr/lib/tandem/upgrade-key.pem).
set -euo pipefail
while getopts "k:V:o:" o; do
	case $o in
	k) KEY=$OPTARG ;;
	V) VERSION=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 3 ] || { echo "usage: mkbundle.sh -k KEY -V VERSION -o OUT ROOTFS KERNEL INITRD" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
zstd -q -T0 -6 -o "$W/rootfs.zst" "$1"
cp "$2" "$W/kernel"
cp "$3" "$W/initrd"
payload() {	# payload NAME FILE RAW_SIZE COMPRESSION
	printf '{"name":"%s","size":%s,"raw_size":%s,"sha256":"%s","compression":"%s"}' \
		"$1" "$(stat -c %s "$2")" "$3" "$(sha256sum "$2" | cut -c1-64)" "$4"
}
manifest=$(printf '{"format":1,"version":"%s","payloads":[%s,%s,%s]}' "$VERSION" \
	"$(payload rootfs "$W/rootfs.zst" "$(stat -c %s "$1")" zstd)" \
	"$(payload kernel "$W/kernel" "$(stat -c %s "$2")" none)" \
	"$(payload initrd "$W/initrd" "$(stat -c %s "$3")" none)")
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
{ printf 'TANDMUP1'; be32 ${#manifest}; printf '%s' "$manifest"; } >"$W/head"
openssl pkeyutl -sign -inkey "$KEY" -rawin -in "$W/head" -out "$W/sig"
[ "$(stat -c %s "$W/sig")" = 64 ] || { echo "mkbundle: the key is not Ed25519" >&2; exit 1; }
{ cat "$W/head"; printf '\x00\x40'; cat "$W/sig" "$W/rootfs.zst" "$W/kernel" "$W/initrd"; } >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
