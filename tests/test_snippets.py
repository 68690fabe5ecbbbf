"""Each snippet file is a complete program: copied alone into a project, it runs; imported (as
its exercises file imports it) it only defines things. Each check runs in a fresh lesson kernel."""

from pathlib import Path

import course
import pytest
from lessons import LESSON_TIMEOUT_S, Fence, FenceResult, Kernel

SNIPPETS = sorted(course.SNIPPETS.glob("*.py"))


def run_in_kernel(code: str, workdir: Path, figure_dir: Path) -> FenceResult:
    kernel = Kernel(figure_dir, workdir)
    try:
        return kernel.run(Fence(lineno=1, code=code, syntax="python"), "snippet", LESSON_TIMEOUT_S)
    finally:
        kernel.close()


def on_path(path: Path) -> str:
    """Code that makes the snippet's folder importable, as `python snippet.py` would."""
    return f"import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, {str(path.parent)!r})\n"


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_runs_alone(path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir, figures = tmp_path_factory.mktemp("workdir"), tmp_path_factory.mktemp("figures")
    code = f"{on_path(path)}import runpy\nrunpy.run_path({str(path)!r}, run_name='__main__')\n"
    result = run_in_kernel(code, workdir, figures)
    assert result.ok, f"{path.name} failed: {result.error}\n{result.output}"
    assert list(workdir.iterdir()) == [], f"{path.name} wrote files where it ran"


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.name)
def test_snippet_does_nothing_on_import(path: Path, tmp_path: Path) -> None:
    result = run_in_kernel(f"{on_path(path)}import {path.stem}\n", tmp_path, tmp_path)
    assert result.ok, f"importing {path.name} failed: {result.error}\n{result.output}"
    assert result.output == "", f"importing {path.name} printed something"
    assert result.figures == []
    assert 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
