#!/bin/sh
# Vendor KaTeX from the npm registry into static/katex (run from anywhere; needs npm).
# The files are committed: paperfeed never loads scripts, styles or fonts from a CDN.
# Only woff2 fonts are kept: katex.min.css lists woff2 first and every supported browser
# takes it. Bump KATEX_VERSION and re-run to upgrade.
set -eu
KATEX_VERSION="${KATEX_VERSION:-0.19.1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "katex@${KATEX_VERSION}" >/dev/null
tar -xzf katex-*.tgz
DEST="$HERE/katex"
rm -rf "$DEST"
mkdir -p "$DEST/fonts" "$DEST/contrib"
cp package/dist/katex.min.js package/dist/katex.min.css "$DEST/"
cp package/dist/contrib/auto-render.min.js "$DEST/contrib/"
cp package/dist/fonts/*.woff2 "$DEST/fonts/"
cp package/LICENSE "$DEST/LICENSE"
echo "$KATEX_VERSION" > "$DEST/VERSION"
echo "KaTeX $KATEX_VERSION vendored into $DEST"
