#!/usr/bin/env bash
# Run every test: the library, every chapter executed, the book built strictly,
# and the built site in headless Chromium. Does all set-up first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
source .venv/bin/activate
# The IMDB chapter reads the data from $RNN_BOOK_IMDB when set; a copy beside the
# checkout (as in CI) is used without downloading anything.
shared_imdb="$(pwd)/../shared/data/imdb/aclImdb_labelled.tar.gz"
if [ -z "${RNN_BOOK_IMDB:-}" ] && [ -f "$shared_imdb" ]; then
    export RNN_BOOK_IMDB="$shared_imdb"
fi
python -m pytest "$@"
