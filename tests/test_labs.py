"""Each module's lab (docs/module-N/lab.py): a notebook in percent format, in the navigation,
that also runs as a plain script and then prints what the build's kernel printed."""

import os
import subprocess
import sys
from pathlib import Path

import course
import jupytext
import pytest


def label(path: Path) -> str:
    return path.relative_to(course.DOCS).as_posix()


@pytest.mark.parametrize("path", course.labs(), ids=label)
def test_lab_is_a_notebook_in_the_navigation(path: Path) -> None:
    notebook = jupytext.read(path)
    module = path.parent.name
    number = module.removeprefix("module-")
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# Module {number} lab: ")
    assert (f"Module {number} lab", f"{module}/lab.ipynb") in course.nav_pages()
    assert course.outcome(path).failure is None, course.outcome(path).failure


@pytest.mark.slow
@pytest.mark.parametrize("path", course.labs(), ids=label)
def test_lab_runs_as_a_script(path: Path, tmp_path: Path) -> None:
    """From an empty folder, with no display: what a reader who copies the file gets."""
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = "".join(result.output for result in course.outcome(path).results if result)
    assert done.stdout == built
