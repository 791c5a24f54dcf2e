#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with requirements.txt
# and rnn_core (editable). With --browser, also Debian's chromium and graphviz
# for the tests. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
stamp=.venv/.requirements.sha
want=$( (cat requirements.txt pyproject.toml) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python -m pip install -q --upgrade pip
    python -m pip install -q -r requirements.txt
    python -m pip install -q --no-deps -e .
    echo "$want" > "$stamp"
fi

# With --browser, also the tools the tests drive: Debian's chromium (browser tests)
# and graphviz's dot (the tests redraw the cell diagrams and compare them).
if [ "${1:-}" = "--browser" ]; then
    missing=""
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
    if [ -n "$missing" ]; then
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -q
        # shellcheck disable=SC2086
        $sudo_cmd apt-get install -y -q $missing
    fi
fi
