#!/bin/sh
# Browser test dependencies (tests/browser: playwright-core, pinned in its
# package-lock.json).  Run by scripts/deps.sh after the Debian packages
# (chromium, nodejs/npm come from there).  playwright-core downloads no
# browser: the test drives Debian's /usr/bin/chromium.
set -e
dir=$(cd "$(dirname "$0")/../../tests/browser" && pwd)
[ -d "$dir/node_modules/playwright-core" ] && exit 0
command -v npm >/dev/null 2>&1 || {
	echo "deps: npm missing: cannot install tests/browser's packages" >&2
	exit 1
}
echo "deps: npm ci in tests/browser (playwright-core)"
cd "$dir"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
