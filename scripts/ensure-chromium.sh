#!/usr/bin/env bash
# Make sure a headless Chromium is installed (`nebsign scan dast --browser`
# confirms XSS in it, the report's XSS test opens the report in it, and
# `nebsign report build --pdf` prints with it). Idempotent:
# does nothing when chromium is already there. Uses apt-get only.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing and apt-get is not available; install Chromium by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure-chromium: chromium is missing; run as root: apt-get install chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    echo "ensure-chromium: apt-get install chromium failed" >&2
    exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: chromium still not on PATH" >&2; exit 1; }
