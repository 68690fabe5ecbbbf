"""The lesson cache cannot lie: a hit only when nothing that shapes the results changed, whole
entries only, and two builds at once that run each lesson once and agree."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import lessons
import pytest
from lessons import cache_key, cached_run, environment, load_lesson, snippet_preprocessor

PAGE = "# A lesson\n\n{marker}```python\n{code}\n```\n"


def lesson_of(tmp_path: Path, code: str, marker: str = "") -> lessons.Lesson:
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir(exist_ok=True)
    page.write_text(PAGE.format(code=code, marker=marker), encoding="utf-8")
    return load_lesson(page, snippet_preprocessor({"base_path": []}), tmp_path)


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    return environment()


def test_a_second_run_is_a_hit_a_changed_fence_a_miss(tmp_path: Path, settings: Any) -> None:
    cache = tmp_path / "cache"
    first = cached_run(lesson_of(tmp_path, "print(41 + 1)"), cache, settings)
    again = cached_run(lesson_of(tmp_path, "print(41 + 1)"), cache, settings)
    changed = cached_run(lesson_of(tmp_path, "print(40 + 2)"), cache, settings)
    assert (first.from_cache, again.from_cache, changed.from_cache) == (False, True, False)
    assert [r.output for r in again.results if r] == ["42\n"]
    entries = [p for p in (cache / "docs" / "page").iterdir() if p.is_dir()]
    assert entries == [changed.figure_dir]  # the old entry is gone, no half-written one left


def test_a_failed_run_is_not_kept(tmp_path: Path, settings: Any) -> None:
    cache = tmp_path / "cache"
    failed = cached_run(lesson_of(tmp_path, "raise ValueError('no')"), cache, settings)
    assert failed.failure is not None
    again = cached_run(lesson_of(tmp_path, "raise ValueError('no')"), cache, settings)
    assert not again.from_cache
    assert [p for p in (cache / "docs" / "page").iterdir() if p.is_dir()] == []


def test_the_key_changes_with_the_environment(tmp_path: Path, settings: Any) -> None:
    lesson = lesson_of(tmp_path, "print(1)")
    base = cache_key(lesson, settings)
    for name, value in [
        ("sources", "hooks edited"),
        ("python", "3.99"),
        ("platform", ["another OS", "another CPU"]),
        ("uv.lock", "another lock"),
        ("packages", [*settings["packages"], "numpy==0.0"]),
        ("fork", not settings["fork"]),
    ]:
        assert cache_key(lesson, {**settings, name: value}) != base, name


def test_the_key_sees_the_variables_that_change_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lesson = lesson_of(tmp_path, "print(1)")
    base = cache_key(lesson, environment())
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    assert cache_key(lesson, environment()) != base
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "1")
    assert cache_key(lesson, environment()) == base


def test_the_key_is_the_same_in_a_process_that_imported_torch() -> None:
    """Importing torch._dynamo sets variables of its own; the build never imports torch."""
    import torch._dynamo  # noqa: F401

    script = (
        f"import json, sys\nsys.path.insert(0, {str(Path(lessons.__file__).parent)!r})\n"
        "import lessons\nprint(json.dumps(lessons.environment()))"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(fresh) == json.loads(json.dumps(environment()))


def test_the_key_sees_a_module_installed_later(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Any
) -> None:
    marker = "<!--pytest-codeblocks:importorskip(course_later_module)-->\n"
    lesson = lesson_of(tmp_path, "print('ran')", marker)
    skipped = cached_run(lesson, tmp_path / "cache", settings)
    assert skipped.results == [None]
    (tmp_path / "site-packages").mkdir()
    (tmp_path / "site-packages" / "course_later_module.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    ran = cached_run(lesson, tmp_path / "cache", settings)
    assert not ran.from_cache
    assert ran.results[0] is not None
    assert ran.results[0].ok


RACE = """
import sys
sys.path.insert(0, {hooks!r})
from pathlib import Path
from lessons import cached_run, load_lesson, snippet_preprocessor
root = Path({root!r})
lesson = load_lesson(root / "docs" / "page.md", snippet_preprocessor({{"base_path": []}}), root)
outcome = cached_run(lesson, root / "cache")
print(outcome.from_cache, outcome.results[0].output.strip())
"""


def test_two_runs_at_once_run_the_lesson_once_and_agree(tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    code = (
        f"with open({str(counter)!r}, 'a') as runs:\n    runs.write('ran\\n')\n"
        "import time\ntime.sleep(1)\nprint('the same answer')"
    )
    lesson_of(tmp_path, code)
    script = RACE.format(hooks=str(Path(lessons.__file__).parent), root=str(tmp_path))
    env = {**os.environ, **lessons.SERVER.shared()}
    racers = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    answers = sorted(racer.communicate(timeout=120)[0] for racer in racers)
    assert answers == ["False the same answer\n", "True the same answer\n"]
    assert counter.read_text() == "ran\n"
    entry = next(p for p in (tmp_path / "cache" / "docs" / "page").iterdir() if p.is_dir())
    assert json.loads((entry / "results.json").read_text())[0]["output"] == "the same answer\n"
