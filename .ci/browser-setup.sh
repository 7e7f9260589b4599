#!/usr/bin/env bash
# Headless Chromium and Playwright for the report test (tests/inspect/test_report.py).
# Playwright drives Debian's chromium at /usr/bin/chromium: never `playwright install`.
# Without them that one test is skipped with its reason; everything else runs.
set -euo pipefail

apt-get update
apt-get install -y chromium
python -m pip install playwright
