"""No fence is shown without being run: pytest-codeblocks would silently pass over `py`,
`python title="..."` or `~~~` fences, so every fence's info string is checked here."""

from pathlib import Path

import course
import pytest
from lessons import EXECUTED, code_blocks, expand, fence_problems


@pytest.mark.parametrize("path", course.pages(), ids=lambda p: str(p.relative_to(course.ROOT)))
def test_every_fence_is_run_or_inert(path: Path) -> None:
    text = expand(path.read_text(encoding="utf-8"), course.preprocessor(), path.name)
    assert fence_problems(text, path.name) == []
    executed = [block for block in code_blocks(text) if block.syntax in EXECUTED]
    assert len(executed) == len(course.lesson(path).fences)


def test_every_lesson_runs_code() -> None:
    for path in course.lesson_paths():
        if path.name == "recap-and-key-takeaways.md":
            continue  # a recap has no demonstrations
        assert course.lesson(path).fences, f"{path.name} shows no code that runs"


@pytest.mark.parametrize(
    "fence",
    ["```py", '```python title="train.py"', "```python3", "~~~python", "```Python", "``` python x"],
)
def test_guard_rejects_fences_that_would_be_skipped(fence: str) -> None:
    text = f"Intro.\n\n{fence}\nprint('hidden')\n{fence[:3]}\n"
    assert fence_problems(text, "page.md") != []


def test_guard_accepts_run_fences_also_when_indented() -> None:
    text = '!!! example "Solution"\n\n    ```python\n    print(1)\n    ```\n\n```text\nout\n```\n'
    assert fence_problems(text, "page.md") == []
    assert [block.syntax for block in code_blocks(text)] == ["python", "text"]
