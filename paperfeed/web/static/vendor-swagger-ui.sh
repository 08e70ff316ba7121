#!/bin/sh
# Vendor Swagger UI from the npm registry into static/swagger-ui (run from anywhere; needs npm).
# The files are committed: /docs never loads scripts or styles from a CDN.
# Bump SWAGGER_UI_VERSION and re-run to upgrade.
set -eu
SWAGGER_UI_VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --quiet "swagger-ui-dist@${SWAGGER_UI_VERSION}" >/dev/null 2>&1
tar -xzf swagger-ui-dist-*.tgz
DEST="$HERE/swagger-ui"
rm -rf "$DEST"
mkdir -p "$DEST"
cp package/swagger-ui-bundle.js package/swagger-ui.css package/favicon-32x32.png "$DEST/"
# The source maps are not shipped: drop the comments that would make browsers ask for them.
sed -i '/sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js" "$DEST/swagger-ui.css"
cp package/LICENSE "$DEST/LICENSE"
echo "$SWAGGER_UI_VERSION" > "$DEST/VERSION"
echo "Swagger UI $SWAGGER_UI_VERSION vendored into $DEST"
