#!/usr/bin/env bash
# Installs the Debian packages nebsign's build and tests need, if missing.
# Idempotent: checks first, calls apt-get only for what is absent.
#   gcc, python3-dev, libssl-dev  the C hashing loop (ADR 0005), the default build
#   openssl                       signature interop tests (independent verifier)
#   strace, util-linux (unshare)  the SAST offline tests
#   git                           --staged scans and the pre-commit tests
set -euo pipefail
need=()
for pkg in gcc python3-dev libssl-dev openssl strace git util-linux; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "ensure-system-deps: missing Debian packages: ${need[*]} (run as root or install them)" >&2
        exit 3
    fi
    echo "ensure-system-deps: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
