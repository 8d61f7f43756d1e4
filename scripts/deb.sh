#!/bin/sh
# make deb [TANDEM_VERSION=x.y.z]: build the Debian packages tandem-switch and
# tandem-node (debian/) into build/deb/ and print their paths.
#
# The packages are built from a copy of the tree, build/deb/tandem-VERSION/
# (the files git knows, as they are in the working tree, or everything but
# build output outside a git checkout), so that dpkg-buildpackage writes its
# .deb/.buildinfo/.changes into build/deb/ (the copy's parent), never into
# the repository's parent directory, and the working tree stays clean.  With
# a VERSION other than debian/changelog's top one, the copy's changelog gets
# that version (the appliance image's upgrade test builds a newer one).
#
# Usage: scripts/deb.sh [VERSION]     (from anywhere; needs dpkg-buildpackage,
# debhelper, fakeroot and the build dependencies: scripts/deps.sh)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/build/deb

changelog_version() {	# the version of debian/changelog's top entry
	sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog
}

version=${1:-$(changelog_version)}
# A native package's version: no Debian revision (no '-'), starts with a digit.
case "$version" in
'' | *[!0-9A-Za-z.+~]* | [!0-9]*)
	echo "deb.sh: bad version '$version' (want e.g. 0.9.1)" >&2
	exit 2
	;;
esac

src=$out/tandem-$version
rm -rf "$src"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and untracked-but-not-ignored files; deleted ones are skipped
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read --warning=no-failed-read -cf - |
		tar -xf - -C "$src"
else
	tar --exclude=./build --exclude=./build-san --exclude=./tests/out \
		-cf - . | tar -xf - -C "$src"
fi
if [ "$version" != "$(changelog_version)" ]; then
	sed -i "1s/([^)]*)/($version)/" "$src/debian/changelog"
fi

rm -f "$out"/tandem-switch_"$version"_*.deb "$out"/tandem-node_"$version"_*.deb
cd "$src"
# nocheck: the tests run from the repository (make check), not here.
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc
cd "$top"
arch=$(dpkg --print-architecture)
for p in tandem-switch tandem-node; do
	deb=$out/${p}_${version}_$arch.deb
	[ -f "$deb" ] || { echo "deb.sh: $deb was not built" >&2; exit 1; }
	echo "$deb"
done
