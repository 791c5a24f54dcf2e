"""Benchmark: how long each chapter takes to run, executed alone in a fresh
kernel from its stored (output-free) notebook, as a Colab or Binder reader runs it.

    python benchmarks/bench_chapters.py                   # every chapter of _toc.yml
    python benchmarks/bench_chapters.py charlm showdown   # only these
    python benchmarks/bench_chapters.py --website         # as the website build runs them
                                                          # (RNN_BOOK_BUILD=1: figures' frames)
    python benchmarks/bench_chapters.py --save            # also record the table, with
                                                          # provenance (artifacts/chapter_times*.json)

Prints a table of seconds per chapter (kernel start included) and its slowest
cells. Chapters run one after another, never side by side. The book's target
is every chapter within 60 s on 2 idle cores; on a busy machine, compare
chapters measured in the same run, as ratios.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_core.artifacts import (cpu_name, current_commit, load_average, provenance,  # noqa: E402
                                save_artifact)
from rnn_core.threads import available_cpus  # noqa: E402
from tests.book_build import chapter_paths  # noqa: E402

TARGET_S = 60
SLOWEST = 3


def _seconds(cell):
    """A code cell's execution time from nbclient's recorded timestamps."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (parse(end) - parse(start)).total_seconds()


def time_chapter(path: Path, timeout=1800, keep=None) -> dict:
    """Execute one chapter in a fresh kernel; its seconds, error and slowest cells.
    ``keep``: a folder to write the executed notebook into (to read its outputs)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start, error = time.perf_counter(), None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
    seconds = time.perf_counter() - start
    if keep is not None:
        Path(keep).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(keep) / path.name)
    cells = [(i, _seconds(c), c.source.strip().splitlines()[0][:60] if c.source.strip() else "")
             for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    slowest = sorted(cells, key=lambda c: -c[1])[:SLOWEST]
    return {"chapter": path.stem, "seconds": seconds, "error": error,
            "cells_seconds": sum(c[1] for c in cells),
            "slowest_cells": [{"cell": i, "seconds": s, "source": src} for i, s, src in slowest]}


def run(names=None, website=False, keep=None):
    paths = chapter_paths()
    if names:
        unknown = set(names) - {p.stem for p in paths}
        if unknown:
            raise SystemExit(f"no chapter named {', '.join(sorted(unknown))}; "
                             f"chapters: {', '.join(p.stem for p in paths)}")
        paths = [p for p in paths if p.stem in names]
    if website:
        os.environ["RNN_BOOK_BUILD"] = "1"
    else:
        os.environ.pop("RNN_BOOK_BUILD", None)
    imdb = ROOT.parent / "shared" / "data" / "imdb" / "aclImdb_labelled.tar.gz"
    if "RNN_BOOK_IMDB" not in os.environ and imdb.exists():
        os.environ["RNN_BOOK_IMDB"] = str(imdb)
    print(f"# chapters executed alone in a fresh kernel ({'website build' if website else 'reader'}); "
          f"{cpu_name()}, {available_cpus()} usable CPUs, load average {load_average()}", flush=True)
    rows = []
    for path in paths:
        row = time_chapter(path, keep=keep)
        row["load_average_after"] = load_average()
        rows.append(row)
        flag = "  ERROR " + row["error"] if row["error"] else (
            "  over target" if row["seconds"] > TARGET_S else "")
        slow = ", ".join(f"cell {c['cell']} {c['seconds']:.1f} s" for c in row["slowest_cells"])
        print(f"{path.stem:14s} {row['seconds']:7.1f} s   slowest: {slow}{flag}", flush=True)
    print(f"# total {sum(r['seconds'] for r in rows):.1f} s", flush=True)
    return rows


def main(argv=None, directory=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    parser.add_argument("--website", action="store_true",
                        help="set RNN_BOOK_BUILD=1, as the website build does")
    parser.add_argument("--save", action="store_true", help="record the table")
    parser.add_argument("--keep", metavar="DIR", help="write the executed notebooks into DIR")
    parser.add_argument("--output", default=None,
                        help="artifact name (default chapter_times.json, "
                             "chapter_times_website.json with --website)")
    args = parser.parse_args(argv)
    commit, start, load = current_commit(), time.time(), load_average()
    rows = run(args.chapters, args.website, args.keep)
    if not args.save:
        return rows
    name = args.output or ("chapter_times_website.json" if args.website else "chapter_times.json")
    record = {"provenance": provenance(
                  ["python", "benchmarks/bench_chapters.py"] + list(sys.argv[1:] if argv is None else argv),
                  time.time() - start, commit, cpu=cpu_name(), usable_cpus=available_cpus(),
                  website=args.website, load_average_before=load, load_average_after=load_average()),
              "target_s": TARGET_S, "chapters": rows}
    kwargs = {} if directory is None else {"directory": directory}
    return save_artifact(name, record, **kwargs)


if __name__ == "__main__":
    main()
