#!/usr/bin/env bash
# Debian's chromium (headless screenshots of the HTML reports); installed with apt when missing.
# Prints the path of the chromium binary.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq chromium; } >&2
fi
command -v chromium
