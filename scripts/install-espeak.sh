#!/usr/bin/env bash
# Install Debian's espeak-ng, the speech synthesiser that makes audio:spoken-digits
# (idempotent).
# Exit 0 when /usr/bin/espeak-ng is there afterwards, non-zero when it cannot be installed
# (the spoken-digits tests then skip and say why; audio:tones needs nothing).
set -u
if [ -x /usr/bin/espeak-ng ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-espeak: apt-get not available; cannot install espeak-ng" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-espeak: not root and no password-less sudo; cannot install espeak-ng" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null 2>&1; then
    echo "install-espeak: apt-get install espeak-ng failed" >&2
    exit 1
fi
test -x /usr/bin/espeak-ng
