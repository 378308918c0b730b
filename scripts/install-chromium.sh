#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the HTML report test (idempotent).
# Exit 0 when /usr/bin/chromium is there afterwards, non-zero when it cannot be installed
# (the report test then skips and says why).
set -u
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: apt-get not available; cannot install chromium" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-chromium: not root and no password-less sudo; cannot install chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
    echo "install-chromium: apt-get install chromium failed" >&2
    exit 1
fi
test -x /usr/bin/chromium
