#!/usr/bin/env bash
# Debian's chromium + chromedriver for the portal journey (tests/e2e/test_portal_journey.py);
# about 1 min on a fresh machine (~100 MB of packages). Prints the chromedriver path.
. "$(dirname "$0")/common.sh"
apt_install chromium chromium-driver
command -v chromedriver
