#!/bin/sh
# Vendor axe-core (the accessibility checker the Chromium tests inject into pages) from
# the npm registry into tests/vendor/axe-core (run from anywhere; needs npm). Tests only:
# it is never served by paperfeed. The files are committed so CI needs no npm at run
# time. Bump AXE_VERSION and re-run to upgrade.
set -eu
AXE_VERSION="${AXE_VERSION:-4.14.1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null
tar -xzf axe-core-*.tgz
DEST="$HERE/axe-core"
rm -rf "$DEST"
mkdir -p "$DEST"
cp package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt "$DEST/"
echo "$AXE_VERSION" > "$DEST/VERSION"
echo "axe-core $AXE_VERSION vendored into $DEST"
