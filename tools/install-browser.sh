#!/usr/bin/env bash
# Install a headless browser for the test that opens the HTML report (Debian's chromium).
#
# Idempotent: does nothing when a Chromium or Chrome binary is already on PATH. Harmless where
# it cannot install (not root, no apt-get, no network): it says so and exits 0, and the browser
# test then skips. Exits 1 only when an installation was attempted and failed.
set -u

for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then
        echo "install-browser: $(command -v "$b") is already installed"
        exit 0
    fi
done
if [ "$(id -u)" != "0" ]; then
    echo "install-browser: not root, not installing chromium (the browser test will skip)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: no apt-get, not installing chromium (the browser test will skip)" >&2
    exit 0
fi
echo "install-browser: installing chromium with apt-get ..."
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "install-browser: installed $(command -v chromium)"
else
    echo "install-browser: apt-get could not install chromium (the browser test will skip)" >&2
    exit 1
fi
