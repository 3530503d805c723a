#!/usr/bin/env bash
# Install solc-js (the npm `solc` package: the Solidity compiler as JavaScript,
# no download at run time) into the project-local .tools/solcjs, pinned.
# `nebsign audit scan` runs Slither with it through a small `solc` wrapper.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
SOLC_VERSION="${NEBSIGN_SOLCJS_VERSION:-0.8.28}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/solcjs"
installed="$dest/node_modules/solc/package.json"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get install -y --no-install-recommends nodejs npm >/dev/null \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends nodejs npm >/dev/null; }
    fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "ensure-solc: Node.js and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
if [ -f "$installed" ] && node -e "process.exit(require('$installed').version === '$SOLC_VERSION' ? 0 : 1)"; then
    exit 0
fi
mkdir -p "$dest"
npm install --silent --no-audit --no-fund --prefix "$dest" "solc@$SOLC_VERSION" >/dev/null \
    || { echo "ensure-solc: npm install solc@$SOLC_VERSION failed" >&2; exit 1; }
node -e "require('$dest/node_modules/solc').version()" >/dev/null \
    || { echo "ensure-solc: solc-js installed but does not load under node" >&2; exit 1; }
echo "ensure-solc: solc-js $SOLC_VERSION in $dest"
