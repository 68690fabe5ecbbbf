"""Every fence a reader sees, in page order: one test per fence, reporting what that fence did
when its lesson ran, on the build's own path (lessons.cached_run), so the build that follows
finds the results in its cache. The fences of a lesson share one xdist group: one worker."""

from pathlib import Path

import course
import pytest
from lessons import Fence, describe_failure, fence_filename


def cases() -> list[object]:
    params: list[object] = []
    for path in course.pages():
        lesson = course.lesson(path)
        for fence in lesson.fences:
            marks = [pytest.mark.xdist_group(lesson.label)]
            marks += [getattr(pytest.mark, mark) for mark in fence.marks if mark != "xfail"]
            params.append(pytest.param(path, fence, marks=marks, id=fence_filename(lesson, fence)))
    return params


@pytest.mark.parametrize(("path", "fence"), cases())
def test_fence(path: Path, fence: Fence) -> None:
    if fence.importorskip is not None:
        pytest.importorskip(fence.importorskip)
    lesson, outcome = course.lesson(path), course.outcome(path)
    index = lesson.fences.index(fence)
    if outcome.failed_at is not None and outcome.failed_at < index:
        failed = lesson.fences[outcome.failed_at]
        pytest.fail(f"not run: the fence at {fence_filename(lesson, failed)} failed first", False)
    if outcome.failed_at == index:
        pytest.fail(outcome.failure or "", pytrace=False)
    result = outcome.results[index]
    assert result is not None
    if "xfail" in fence.marks:
        assert not result.ok, describe_failure(
            lesson, fence, result
        )  # it raised, as the page shows
    else:
        assert result.ok
