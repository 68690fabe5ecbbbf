"""Run every fence a reader sees, in page order, one fresh Python process per lesson.

Fences are found by pytest-codeblocks in the page with its includes expanded, and its markers
work as documented (`<!--pytest.mark.skip-->`, `skipif`, `xfail`, `importorskip`, expected output).
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import course
import pytest
from lessons import (
    LESSON_TIMEOUT_S,
    Fence,
    Kernel,
    Lesson,
    describe_failure,
    evaluated_marks,
    fence_filename,
    output_mismatch,
)


@dataclass
class LessonRun:
    kernel: Kernel
    workdir: Path
    deadline: float  # the lesson's time limit covers all its fences together
    failed_at: str | None = None
    done: set[int] = field(default_factory=set)


def cases() -> list[object]:
    params: list[object] = []
    for path in course.pages():
        lesson = course.lesson(path)
        for fence in lesson.fences:
            marks = evaluated_marks(fence)
            params.append(
                pytest.param(lesson, fence, marks=marks, id=fence_filename(lesson, fence))
            )
    return params


@pytest.fixture(scope="session")
def runs() -> Iterator[dict[Path, LessonRun]]:
    started: dict[Path, LessonRun] = {}
    yield started
    for run in started.values():
        run.kernel.close()


@pytest.mark.parametrize(("lesson", "fence"), cases())
def test_fence(
    lesson: Lesson,
    fence: Fence,
    runs: dict[Path, LessonRun],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if fence.importorskip is not None:
        pytest.importorskip(fence.importorskip)
    run = runs.get(lesson.path)
    if run is None:
        workdir = tmp_path_factory.mktemp("lesson")
        deadline = time.monotonic() + LESSON_TIMEOUT_S
        run = runs[lesson.path] = LessonRun(Kernel(workdir, workdir), workdir, deadline)
    if run.failed_at is not None:
        pytest.fail(f"not run: the fence at {run.failed_at} failed first", pytrace=False)

    result = run.kernel.run(fence, fence_filename(lesson, fence), run.deadline - time.monotonic())
    run.done.add(fence.lineno)
    if len(run.done) == len(lesson.fences):
        run.kernel.close()  # the lesson is over: free its memory before the next one starts

    expected_to_fail = any(mark.name == "xfail" for mark in evaluated_marks(fence))
    if not result.ok:
        if not expected_to_fail:
            run.failed_at = fence_filename(lesson, fence)
        pytest.fail(describe_failure(lesson, fence, result), pytrace=False)
    mismatch = output_mismatch(fence, result.output)
    if mismatch:
        pytest.fail(f"{fence_filename(lesson, fence)}: {mismatch}", pytrace=False)
