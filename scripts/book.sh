#!/usr/bin/env bash
# Build the website strictly into _build/html (after all set-up);
# with --serve, then serve it on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
# The IMDB chapter reads the data from $RNN_BOOK_IMDB when set; a copy beside the
# checkout (as in CI) is used without downloading anything.
shared_imdb="$(pwd)/../shared/data/imdb/aclImdb_labelled.tar.gz"
if [ -z "${RNN_BOOK_IMDB:-}" ] && [ -f "$shared_imdb" ]; then
    export RNN_BOOK_IMDB="$shared_imdb"
fi
# The kernels that execute the chapters precompute the website's interactive frames.
export RNN_BOOK_BUILD=1
jupyter-book build -n -W --keep-going .
echo "The book is at $(pwd)/_build/html/index.html"
if [ "${1:-}" = "--serve" ]; then
    echo "Serving on http://127.0.0.1:8000 (Ctrl-C to stop)"
    python -m http.server 8000 --bind 127.0.0.1 --directory _build/html
fi
