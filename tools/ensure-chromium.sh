#!/bin/sh
# Install Debian's chromium for the report's browser test when no browser is on PATH.
# Browser installers that download their own builds cannot work offline; the system package
# can. Runs apt-get directly as root, through `sudo -n` otherwise; if neither works it says so
# and exits 0, and the browser test then skips (or, under CI=true, fails).
set -u
for b in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$b" >/dev/null 2>&1 && exit 0
done
if [ -n "${HASHFLEET_CHROMIUM:-}" ] && command -v "$HASHFLEET_CHROMIUM" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "ensure-chromium: no chromium, and neither root nor password-less sudo: install it with 'apt-get install chromium'" >&2
    exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the report's browser test" >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
    echo "ensure-chromium: apt-get could not install chromium" >&2
fi
exit 0
