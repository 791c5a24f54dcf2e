"""current_commit marks a record dirty only when the code a run imports has changed."""
import shutil
import subprocess

import pytest

from rnn_core.artifacts import current_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_dirty_means_the_code_not_the_chapters(tmp_path):
    (tmp_path / "rnn_core" / "artifacts").mkdir(parents=True)
    (tmp_path / "book").mkdir()
    (tmp_path / "rnn_core" / "cell.py").write_text("x = 1\n")
    (tmp_path / "book" / "chapter.md").write_text("text\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start")
    clean = current_commit(tmp_path)
    assert len(clean) == 40 and "uncommitted" not in clean
    (tmp_path / "book" / "chapter.md").write_text("edited\n")
    (tmp_path / "rnn_core" / "artifacts" / "new.json").write_text("{}\n")
    assert current_commit(tmp_path) == clean              # chapters and records do not count
    (tmp_path / "rnn_core" / "helper.py").write_text("y = 2\n")
    assert current_commit(tmp_path) == clean + " (with uncommitted changes)"   # a new module does
    (tmp_path / "rnn_core" / "helper.py").unlink()
    (tmp_path / "rnn_core" / "cell.py").write_text("x = 2\n")
    assert current_commit(tmp_path) == clean + " (with uncommitted changes)"   # an edited one too
