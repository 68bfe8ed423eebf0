#!/usr/bin/env bash
# Vendors MapLibre GL JS into twin/server/viewer/static/vendor/ so that the web viewer
# needs no CDN and works with no internet access.
#
# The files come from the package on the npm registry (`npm pack`), checked against the
# registry's published integrity hash: dist/maplibre-gl.js (the UMD build, which defines
# window.maplibregl), dist/maplibre-gl.css and LICENSE.txt (BSD-3-Clause). The version is
# recorded in vendor/VERSION; bump MAPLIBRE_VERSION and rerun to upgrade.
#
# Usage: scripts/vendor-maplibre.sh            (needs node/npm and the npm registry)
set -euo pipefail

MAPLIBRE_VERSION="${MAPLIBRE_VERSION:-5.24.1}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/twin/server/viewer/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "maplibre-gl@${MAPLIBRE_VERSION}")"
expected="$(npm view "maplibre-gl@${MAPLIBRE_VERSION}" dist.integrity)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$expected" != "$actual" ]; then
    echo "integrity mismatch for $tarball: registry says $expected, file is $actual" >&2
    exit 1
fi
tar -xzf "$tarball"

mkdir -p "$dest"
cp package/dist/maplibre-gl.js package/dist/maplibre-gl.css package/LICENSE.txt "$dest/"
{
    echo "maplibre-gl ${MAPLIBRE_VERSION}"
    echo "source: npm registry tarball ${tarball}"
    echo "integrity: ${expected}"
    (cd "$dest" && sha256sum maplibre-gl.js maplibre-gl.css LICENSE.txt)
} > "$dest/VERSION"
echo "vendored maplibre-gl ${MAPLIBRE_VERSION} into $dest"
