"""Recorded artifacts: results too slow to compute while the book builds,
written by a script in the repository with their provenance, and read by the
chapters. They ship inside the package (``rnn_core/artifacts/``), so a chapter
finds them wherever rnn_core is installed.

Introduced in the chapter *The showdown*.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PROVENANCE_FIELDS = ("created", "command", "commit", "python", "numpy", "machine",
                     "wall_time_s")


CODE_PATHS = ("rnn_core", "scripts", "benchmarks", "pyproject.toml", "requirements.txt")


def current_commit(root: Path | None = None) -> str:
    """The checkout's git commit, marked when the code a recorded run can import
    (``CODE_PATHS``: the library, scripts, benchmarks, the pinned requirements)
    has uncommitted changes or new files (recorded artifacts aside); edits to
    chapters or tests do not change a result."""
    root = Path(__file__).resolve().parents[1] if root is None else Path(root)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=normal", "--",
                                *CODE_PATHS, ":(exclude)rnn_core/artifacts"], cwd=root, capture_output=True, text=True).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def provenance(command: list[str], wall_time_s: float, commit: str | None = None, **extra) -> dict:
    """Where a result comes from: date, command, git commit (pass the one taken
    when the run started), versions, machine, wall time."""
    import numpy as np
    return {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(command),
        "commit": commit if commit is not None else current_commit(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
        "wall_time_s": round(wall_time_s, 1),
        **extra,
    }


def save_artifact(name: str, data: dict, directory=ARTIFACTS) -> Path:
    """Write ``data`` (which must carry a complete 'provenance') atomically."""
    missing = [f for f in PROVENANCE_FIELDS if f not in data.get("provenance", {})]
    if missing:
        raise ValueError(f"artifact {name} lacks provenance fields: {', '.join(missing)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def load_artifact(name: str) -> dict:
    """Read a recorded artifact shipped with rnn_core."""
    path = ARTIFACTS / name
    if not path.exists():
        raise FileNotFoundError(f"no recorded artifact {name} in {ARTIFACTS}; the script that "
                                "makes it is named in the chapter that reads it")
    return json.loads(path.read_text())


def cpu_name() -> str:
    """The processor's model name (/proc/cpuinfo), for the provenance of a timing."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    """The 1, 5 and 15 minute load averages, or None where the system has none."""
    try:
        return list(os.getloadavg())
    except OSError:
        return None
