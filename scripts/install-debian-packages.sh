#!/usr/bin/env bash
# Install the Debian packages the tests and bundled datasets use, where apt exists
# (idempotent): chromium (the HTML report test renders pages headless), espeak-ng (the
# spoken-digits audio set), fortunes (real English text for text:fortunes).
# Exit 0 when every package is there afterwards; non-zero with a message naming what is
# missing (the tests that need it then skip and say why).
set -u
# "what shows it is installed" "the Debian packages"
NEEDED=(
    "/usr/bin/chromium|chromium fonts-dejavu-core"
    "/usr/bin/espeak-ng|espeak-ng"
    "/usr/share/games/fortunes/computers|fortunes"
)
missing=()
for item in "${NEEDED[@]}"; do
    path="${item%%|*}"
    if [ ! -e "$path" ]; then
        missing+=(${item#*|})
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-debian-packages: apt-get not available; cannot install ${missing[*]}" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-debian-packages: not root and no password-less sudo; cannot install ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    echo "install-debian-packages: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
for item in "${NEEDED[@]}"; do
    test -e "${item%%|*}" || { echo "install-debian-packages: ${item#*|} still missing" >&2; exit 1; }
done
