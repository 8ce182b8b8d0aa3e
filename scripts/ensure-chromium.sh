#!/usr/bin/env bash
# Makes sure the browser tests have a Chromium: Debian's `chromium` package (Playwright drives
# it through executablePath; nothing is downloaded at run time). Installs it with apt-get when
# it is missing and we may, and fails loudly otherwise.
set -euo pipefail

browser=${FULFIL_TEST_CHROMIUM:-/usr/bin/chromium}
if [ -x "$browser" ]; then
    exit 0
fi

if ! command -v apt-get > /dev/null; then
    echo "ensure-chromium: $browser is missing and there is no apt-get; install Chromium and" \
         "set FULFIL_TEST_CHROMIUM to it" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium > /dev/null
if [ ! -x "$browser" ]; then
    echo "ensure-chromium: apt-get installed chromium but $browser is still missing" >&2
    exit 1
fi
