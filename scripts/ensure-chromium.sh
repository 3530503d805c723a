#!/usr/bin/env bash
# Installs Debian's chromium if it is missing (for `nebsign scan dast --browser` and its tests).
# Idempotent; apt-get only, no other network. Exits non-zero with a message if it cannot.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing and apt-get is not available; install Chromium and set NEBSIGN_CHROMIUM" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure-chromium: chromium is missing; run as root or install it: apt-get install chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
if ! $SUDO apt-get install -y -qq chromium >/dev/null; then
    echo "ensure-chromium: 'apt-get install chromium' failed" >&2
    exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: chromium still not found after install" >&2; exit 1; }
