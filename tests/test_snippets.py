"""Each snippet file is a complete program: copied alone into a project, it runs."""

import os
import subprocess
import sys
from pathlib import Path

import course
import pytest

SNIPPETS = sorted(course.SNIPPETS.glob("*.py"))


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_runs_alone(path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-B", "-W", "error", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    assert list(tmp_path.iterdir()) == [], f"{path.name} wrote files where it ran"


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_does_nothing_on_import(path: Path) -> None:
    """Importing a snippet (as its exercises file does) only defines things: no output, no work."""
    done = subprocess.run(
        [sys.executable, "-B", "-W", "error", "-c", f"import {path.stem}"],
        cwd=course.SNIPPETS,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", f"importing {path.name} printed something"
    assert 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
