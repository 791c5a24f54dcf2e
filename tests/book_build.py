"""Execute the chapters and build the book once per test session.

Each chapter is executed with nbclient in a temporary copy of the book (so
the source notebooks stay output-free), and that copy is built strictly
(-n -W --keep-going) with execution off: every cell runs exactly once.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["_config.yml", "_toc.yml", "book", "artifacts"]


def toc_files() -> list[str]:
    """Every document in _toc.yml, as paths relative to the root without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapter_paths() -> list[Path]:
    """The notebooks of the book, in reading order."""
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]


@dataclass
class BuiltBook:
    root: Path                      # the temporary copy
    html: Path                      # its _build/html
    errors: dict[str, str] = field(default_factory=dict)      # chapter -> error
    seconds: dict[str, float] = field(default_factory=dict)   # chapter -> execution time
    build_returncode: int | None = None
    build_log: str = ""


def execute_chapter(path: Path, timeout: int = 900) -> None:
    """Run every cell of a notebook in place, in its own folder."""
    nb = nbformat.read(path, as_version=4)
    # RNN_BOOK_BUILD=1: interactive figures precompute their website frames (rnn_core.interactive)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(
        env={**os.environ, "RNN_BOOK_BUILD": "1"})
    nbformat.write(nb, path)


def build(tmp: Path) -> BuiltBook:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name, ignore=shutil.ignore_patterns(
                "_build", ".ipynb_checkpoints", "__pycache__"))
        elif src.exists():
            shutil.copy2(src, tmp / name)
    book = BuiltBook(root=tmp, html=tmp / "_build" / "html")
    for src in chapter_paths():
        copy = tmp / src.relative_to(ROOT)
        start = time.perf_counter()
        try:
            execute_chapter(copy)
        except CellExecutionError as err:
            book.errors[src.name] = str(err)
        book.seconds[src.name] = time.perf_counter() - start

    config = yaml.safe_load((tmp / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"       # executed above
    (tmp / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", "-n", "-W", "--keep-going",
         str(tmp)],
        capture_output=True, text=True, cwd=tmp)
    book.build_returncode = proc.returncode
    book.build_log = proc.stdout + proc.stderr
    return book
