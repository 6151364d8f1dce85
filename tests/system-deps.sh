#!/usr/bin/env bash
# Install the Debian packages the tests need, where missing: tshark (parser parity) and chromium
# (browser tests, driven by Playwright with Debian's binary; never `playwright install`).
set -euo pipefail
need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
