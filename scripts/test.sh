#!/usr/bin/env bash
# Run every test: the library, every chapter executed, the book built strictly,
# and the built site in headless Chromium. Does all set-up first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
source .venv/bin/activate
python -m pytest "$@"
