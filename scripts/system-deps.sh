#!/usr/bin/env bash
# Installs the system packages the build needs when they are missing: OpenSSL's
# headers and pkg-config, which webauthn-rs (passkeys) links against. Debian's
# packages; runs as root or through sudo. A machine that has them is left alone.
set -euo pipefail
if pkg-config --exists openssl 2>/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libssl-dev pkg-config
