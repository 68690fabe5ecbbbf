"""Bad input fails loudly: a fence that raises, a broken include, a lesson that hangs, a figure
without alt text. Each case builds a small course of its own with this course's mkdocs.yml."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import course
import pytest
import yaml
from lessons import (
    SERVER,
    Fence,
    Kernel,
    LessonError,
    describe_failure,
    load_lesson,
    snippet_preprocessor,
)
from mkdocs.utils.yaml import get_yaml_loader

SNIPPET = """# --8<-- [start:imports]
import torch
# --8<-- [end:imports]


def main() -> None:
    # --8<-- [start:fine]
    x = torch.ones(3)
    print(f"sum: {x.sum().item():.1f}")
    # --8<-- [end:fine]
    # --8<-- [start:broken]
    y = x @ torch.ones(5)  # shapes (3,) and (5,) do not match
    # --8<-- [end:broken]
"""
BROKEN_LINE = 1 + SNIPPET.split("\n").index(
    "    y = x @ torch.ones(5)  # shapes (3,) and (5,) do not match"
)


def make_course(root: Path, page: str, snippet: str = SNIPPET) -> Path:
    """A one-page course in `root`, configured like the real one; returns its mkdocs.yml."""
    (root / "docs").mkdir()
    (root / "snippets").mkdir()
    (root / "docs" / "index.md").write_text(page, encoding="utf-8")
    (root / "snippets" / "demo.py").write_text(snippet, encoding="utf-8")
    text = (course.ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    settings = yaml.load(text, Loader=get_yaml_loader())  # resolves mkdocs.yml's !ENV tags
    settings["hooks"] = [str(course.ROOT / hook) for hook in settings["hooks"]]
    settings["theme"]["custom_dir"] = str(course.ROOT / settings["theme"]["custom_dir"])
    settings.pop("nav")
    settings.pop("watch")
    for extension in settings["markdown_extensions"]:
        if isinstance(extension, dict) and "pymdownx.snippets" in extension:
            extension["pymdownx.snippets"]["base_path"] = [str(root / "snippets")]
    config_file = root / "mkdocs.yml"
    config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config_file


def build(config_file: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Build a small course; its kernels fork from this test process's kernel server."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config_file)],
        cwd=config_file.parent,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **SERVER.shared(), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def page(*includes: str) -> str:
    """A page whose fences include the imports, then each target in turn."""
    targets = ["demo.py:imports", *includes]
    fences = "".join(f'\nSome prose.\n\n```python\n--8<-- "{target}"\n```\n' for target in targets)
    return f"# A lesson\n{fences}"


def fence_line(text: str, target: str) -> int:
    return text.split("\n").index(f'--8<-- "{target}"')  # the line above it, counted from 1


def test_a_working_course_builds(tmp_path: Path) -> None:
    done = build(make_course(tmp_path, page("demo.py:fine")))
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "sum: 3.0" in html  # the printed output is on the page


def test_a_fence_that_raises_fails_the_build_naming_page_and_snippet_lines(tmp_path: Path) -> None:
    text = page("demo.py:fine", "demo.py:broken")
    done = build(make_course(tmp_path, text))
    assert done.returncode != 0
    assert f"docs/index.md:{fence_line(text, 'demo.py:broken')}" in done.stderr
    assert f"snippets/demo.py:{BROKEN_LINE}" in done.stderr
    assert "RuntimeError" in done.stderr


def test_the_test_harness_names_the_same_lines(tmp_path: Path) -> None:
    text = page("demo.py:fine", "demo.py:broken")
    make_course(tmp_path, text)
    preprocessor = snippet_preprocessor(
        {"base_path": [str(tmp_path / "snippets")], "check_paths": True, "dedent_subsections": True}
    )
    lesson = load_lesson(tmp_path / "docs" / "index.md", preprocessor, tmp_path)
    kernel = Kernel(tmp_path, tmp_path)
    try:
        imports, fine, broken = (
            kernel.run(f, f"{lesson.label}:{f.lineno}", 60) for f in lesson.fences
        )
    finally:
        kernel.close()
    assert imports.ok
    assert fine.ok
    assert fine.output == "sum: 3.0\n"
    assert not broken.ok
    message = describe_failure(lesson, lesson.fences[2], broken)
    assert f"docs/index.md:{fence_line(text, 'demo.py:broken')}" in message
    assert f"demo.py:{BROKEN_LINE}" in message


@pytest.mark.parametrize("target", ["missing.py", "demo.py:no-such-section"])
def test_a_broken_include_fails_the_build(tmp_path: Path, target: str) -> None:
    done = build(make_course(tmp_path, page("demo.py:fine", target)))
    assert done.returncode != 0
    assert "docs/index.md" in done.stderr
    assert target.split(":")[-1] in done.stderr


def test_a_fence_that_would_be_skipped_fails_the_build(tmp_path: Path) -> None:
    text = page("demo.py:fine") + "\n```py\nprint('never run')\n```\n"
    done = build(make_course(tmp_path, text))
    assert done.returncode != 0
    assert f"docs/index.md:{text.split(chr(10)).index('```py') + 1}" in done.stderr


def test_a_hanging_fence_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    kernel = Kernel(tmp_path, tmp_path)
    try:
        hang = Fence(lineno=1, code="import time\ntime.sleep(60)\n", syntax="python")
        result = kernel.run(hang, "page.md:1", timeout_s=2)
    finally:
        kernel.close()
    assert not result.ok
    assert result.error is not None
    assert result.error["type"] == "Timeout"


@pytest.mark.parametrize(
    ("code", "complaint"),
    [
        ("fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()\n", "without alt text"),
        ("fig, ax = plt.subplots()\nax.plot([1, 2])\n", "never shown"),
    ],
)
def test_figures_need_alt_text_and_show(tmp_path: Path, code: str, complaint: str) -> None:
    kernel = Kernel(tmp_path, tmp_path)
    try:
        fence = Fence(lineno=1, code="import matplotlib.pyplot as plt\n" + code, syntax="python")
        result = kernel.run(fence, "page.md:1", timeout_s=60)
    finally:
        kernel.close()
    assert not result.ok
    assert result.error is not None
    assert complaint in result.error["message"]


MARKERS_PAGE = """# A lesson

```python
--8<-- "demo.py:imports"
```

<!--pytest.mark.skip-->
```python
raise SystemExit("this fence is skipped")
```

```python
print("hello")
```

<!--pytest-codeblocks:expected-output-->
```text
{expected}
```

<!--pytest.mark.xfail-->
```python
print(1 / 0)
```
"""


def test_pytest_codeblocks_markers_work_in_the_build(tmp_path: Path) -> None:
    done = build(make_course(tmp_path, MARKERS_PAGE.format(expected="hello")))
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "this fence is skipped" in html  # shown, not run
    assert html.count(">hello\n<") == 1  # the expected output, not a second copy of it
    assert "ZeroDivisionError: division by zero" in html  # the error the page expects


def test_an_expected_output_that_differs_fails_the_build(tmp_path: Path) -> None:
    done = build(make_course(tmp_path, MARKERS_PAGE.format(expected="goodbye")))
    assert done.returncode != 0
    assert "expected output" in done.stderr


def test_an_unclosed_fence_fails_the_build_naming_the_line(tmp_path: Path) -> None:
    text = page("demo.py:fine") + "\nMore prose.\n\n```python\nprint('never closed')\n"
    done = build(make_course(tmp_path, text))
    assert done.returncode != 0
    assert f"docs/index.md:{text.split(chr(10)).index('```python', 12) + 1}" in done.stderr
    assert "unclosed" in done.stderr


@pytest.mark.parametrize(
    "marker",
    [
        "<!--pytest.mark.skipif(True, reason='x')-->",
        "<!--pytest.mark.xfail(False, reason='x')-->",
        "<!--pytest.mark.skip(reason='x')-->",
        "<!--pytest.mark.parametrize('x', [1])-->",
        "<!--pytest-codeblocks:cont-->",
        "<!--pytest-codeblocks:skipif(True)-->",
    ],
)
def test_markers_the_course_does_not_use_are_rejected(tmp_path: Path, marker: str) -> None:
    (tmp_path / "page.md").write_text(
        f"# A lesson\n\n```python\nx = 1\n```\n\n{marker}\n```python\nprint(x)\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(LessonError, match=r"page\.md:\d+: marker .* is not used in this course"):
        load_lesson(tmp_path / "page.md", snippet_preprocessor({"base_path": []}), tmp_path)


def test_a_rejected_marker_fails_the_build(tmp_path: Path) -> None:
    text = page("demo.py:fine").replace(
        "```python", "<!--pytest.mark.skipif(True)-->\n```python", 1
    )
    done = build(make_course(tmp_path, text))
    assert done.returncode != 0
    line = text.split("\n").index("<!--pytest.mark.skipif(True)-->") + 2  # the fence's line
    assert f"docs/index.md:{line}: marker <!--pytest.mark.skipif(True)--> is not" in done.stderr


def test_a_timed_out_xfail_fence_fails_the_build_with_limit_and_output(tmp_path: Path) -> None:
    hang = "<!--pytest.mark.xfail-->\n```python\nprint('waiting')\nimport time\ntime.sleep(60)\n```"
    text = page("demo.py:fine") + f"\n{hang}\n\n```python\nprint('after')\n```\n"
    done = build(make_course(tmp_path, text), COURSE_LESSON_TIMEOUT="3")
    assert done.returncode != 0
    line = text.split("\n").index("<!--pytest.mark.xfail-->") + 2
    assert f"docs/index.md:{line}: the python fence at line {line} failed: Timeout" in done.stderr
    assert "time limit of 3 s" in done.stderr
    assert "    waiting" in done.stderr  # the output so far
    assert "I/O operation on closed file" not in done.stderr


def test_an_xfail_fence_that_runs_cleanly_fails_the_build(tmp_path: Path) -> None:
    text = page("demo.py:fine") + "\n<!--pytest.mark.xfail-->\n```python\nprint('fine')\n```\n"
    done = build(make_course(tmp_path, text))
    assert done.returncode != 0
    assert "marked xfail, but it ran without error" in done.stderr


def test_every_failing_lesson_is_named_whatever_went_wrong(tmp_path: Path) -> None:
    config_file = make_course(tmp_path, page("demo.py:fine"))
    (tmp_path / "docs" / "other.md").write_text(page("demo.py:broken"), encoding="utf-8")
    blocked = tmp_path / ".cache" / "lessons" / "docs" / "index"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the cache wants a folder", encoding="utf-8")
    done = build(config_file)
    assert done.returncode != 0
    assert "docs/index.md: FileExistsError" in done.stderr  # not a LessonError, still named
    assert "docs/other.md:" in done.stderr  # and the other lesson's failure is reported too


REBUILD = """
import logging, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
build(load_config({config!r}))
with open({edited!r}, "a", encoding="utf-8") as code:
    code.write("# an edit\\n")
build(load_config({config!r}))  # in the same process, as mkdocs serve rebuilds
"""


def test_an_edited_kernel_is_reloaded_between_rebuilds(tmp_path: Path) -> None:
    config_file = make_course(tmp_path, page("demo.py:fine"))
    hooks = tmp_path / "hooks"
    shutil.copytree(course.ROOT / "hooks", hooks, ignore=shutil.ignore_patterns("__pycache__"))
    settings = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    settings["hooks"] = [str(hooks / Path(hook).name) for hook in settings["hooks"]]
    config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    script = REBUILD.format(config=str(config_file), edited=str(hooks / "lessons.py"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **SERVER.shared()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("lessons: 0 from the cache, 1 run") == 2, done.stdout
    assert "lesson_kernel.py or capture_backend.py changed: reloaded" in done.stdout
