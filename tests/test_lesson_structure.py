"""Every lesson has the parts CONTRIBUTING.md lists, in order, and keeps the conventions."""

import re
from pathlib import Path

import course
import pytest
from lessons import code_blocks, enclosing_folds, fence_spans

PARTS = [
    "Introduction",
    "ELI5",
    "Mathematical foundations",
    "In-depth explanation",
    "PyTorch demonstrations",
    "Exercises",
    "Summary",
    "Key takeaways",
    "Check yourself",
]
# A module's last lesson ends with the module review in place of Check yourself.
MODULE_REVIEWS = {
    "recap-and-key-takeaways.md",
    "recap-network-vs-linear-regression.md",
    "conclusion.md",
}
# The course's last lesson adds the course review after Module 3's.
COURSE_REVIEW = "conclusion.md"
# Lesson 1.6 only recaps: no demonstrations and no exercises (lesson 2.7 has both).
RECAPS = {"recap-and-key-takeaways.md"}
# Lesson 3.8 explains and estimates, with no demonstrations; its exercises compute in plain
# Python (no device, no seed), so it has no helpers fence, and a matching question may set a task.
CASE_STUDIES = {"case-studies.md"}
NO_HELPERS = RECAPS | CASE_STUDIES


def expected_parts(path: Path) -> list[str]:
    drops = set()
    if path.name in RECAPS:
        drops = {"PyTorch demonstrations", "Exercises"}
    if path.name in CASE_STUDIES:
        drops = {"PyTorch demonstrations"}
    parts = [part for part in PARTS if part not in drops]
    if path.name in MODULE_REVIEWS:
        parts[parts.index("Check yourself")] = "Module review"
    if path.name == COURSE_REVIEW:
        parts.append("Course review")
    return parts


INLINE_CODE = re.compile(r"`[^`\n]*`")
HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")
CODEBLOCKS_MARKER = re.compile(
    r"^\s*<!--\s*(pytest-codeblocks:|pytest\.mark\.).*-->\s*$", re.MULTILINE
)

LESSONS = course.lesson_paths()


def prose(text: str) -> str:
    """The page without its code: fences and inline code are not prose."""
    in_fences = {n for first, last, _ in fence_spans(text) for n in range(first, last + 1)}
    lines = text.split("\n")
    kept = "\n".join(line for n, line in enumerate(lines, start=1) if n not in in_fences)
    return INLINE_CODE.sub("", kept)


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", prose(text), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def ids(path: Path) -> str:
    return path.name


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_parts_in_order(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a lesson opens with its title"
    headings = re.findall(r"^## (.+)$", prose(text), flags=re.MULTILINE)
    reviews = ["Module review", "Course review"]
    assert [h for h in headings if h in [*PARTS, *reviews]] == expected_parts(path)


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_title_matches_navigation(path: Path) -> None:
    title = path.read_text(encoding="utf-8").split("\n", 1)[0].removeprefix("# ")
    nav_titles = {page: name for name, page in course.nav_pages()}
    nav_title = nav_titles[str(path.relative_to(course.DOCS))]
    assert nav_title.split(" ", 1)[1] == title


SOLUTION = '??? success "Solution"'


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name not in RECAPS], ids=ids)
def test_exercises_have_a_folded_solution_with_code(path: Path) -> None:
    """Try first: each exercise states its task, then folds its whole solution (code, output
    and discussion) behind one "Solution" reveal."""
    text = path.read_text(encoding="utf-8")
    exercises_part = text.split("\n## Exercises\n", 1)[1].split("\n## Summary\n", 1)[0]
    exercises = re.split(r"^### Exercise \d+: .+$", exercises_part, flags=re.MULTILINE)[1:]
    assert 1 <= len(exercises) <= 4
    for number, exercise in enumerate(exercises, start=1):
        lines = exercise.strip("\n").split("\n")
        assert lines.count(SOLUTION) == 1, f"exercise {number}: one {SOLUTION} block"
        task, solution = exercise.split(SOLUTION)
        assert task.strip(), f"exercise {number} states no task"
        in_task = {block.syntax for block in code_blocks(task)}
        allowed = {"quiz"} if path.name in CASE_STUDIES else set()  # a matching task: no code
        assert in_task <= allowed, f"exercise {number}: code belongs in the folded solution"
        assert in_task or "```" not in task, f"exercise {number}: code belongs in the solution"
        body = [line for line in solution.split("\n") if line.strip()]
        assert all(line.startswith("    ") for line in body), (
            f"exercise {number}: everything after the reveal is indented into it"
        )
        runs = [b for b in code_blocks(solution) if b.syntax == "python"]
        assert runs or path.name in CASE_STUDIES, f"exercise {number} shows no solution code"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_key_takeaways_are_a_list(path: Path) -> None:
    takeaways = sections(path.read_text(encoding="utf-8"))["Key takeaways"]
    items = re.findall(r"^- .+", takeaways, flags=re.MULTILINE)
    assert len(items) >= 3


@pytest.mark.parametrize("path", course.pages(), ids=ids)
def test_markdown_only_no_html(path: Path) -> None:
    text = CODEBLOCKS_MARKER.sub("", prose(path.read_text(encoding="utf-8")))
    assert HTML_TAG.findall(text) == [], "write Markdown, not HTML"
    assert "<!--" not in text, "HTML comments other than pytest-codeblocks markers"


@pytest.mark.parametrize("path", course.pages(), ids=ids)
def test_math_uses_dollar_delimiters_only(path: Path) -> None:
    text = prose(path.read_text(encoding="utf-8"))
    for delimiter in (r"\(", r"\)", r"\[", r"\]", r"\begin{equation}", r"\begin{displaymath}"):
        assert delimiter not in text, f"use $...$ or $$...$$, not {delimiter}"
    assert text.count("$$") % 2 == 0, "an unclosed $$ block"
    for block in re.findall(r"\$\$(.*?)\$\$", text, flags=re.DOTALL):
        assert block.strip(), "an empty $$ block"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_every_display_formula_is_explained(path: Path) -> None:
    """A $$ block is followed by prose (its symbols in plain words), not by a heading or formula."""
    text = prose(path.read_text(encoding="utf-8"))
    for block in re.finditer(r"\$\$.*?\$\$", text, flags=re.DOTALL):
        after = text[block.end() :].lstrip()
        explained = after != "" and not after.startswith(("#", "$$"))
        assert explained, f"no plain-words explanation after the formula {block[0][:60]!r}"


@pytest.mark.parametrize("path", [*course.pages(), course.ROOT / "README.md"], ids=ids)
def test_installs_use_uv_not_pip(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\bpip3? install\b|python -m pip\b", text), "install with uv, not pip"


# The course's helpers open every lesson's code, folded: each lesson uses them, none is about them.
HELPERS_FOLD = "The course's helpers: device, seeding, log-scale axes"
FOLDED = re.compile(r'^(\s*)\?\?\?\+? (\w+) "(.+)"\n', flags=re.MULTILINE)


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_folded_blocks_are_plotting_code_going_deeper_or_a_solution(path: Path) -> None:
    """What is folded: drawing code, an optional "Going deeper" box, a solution to try first, or
    code an earlier lesson already showed, included again unchanged."""
    text = path.read_text(encoding="utf-8")
    titles = [title for _, _, title in FOLDED.findall(text)]
    assert len(titles) == len(re.findall(r"^\s*\?\?\?", text, flags=re.MULTILINE)), (
        'write folded blocks as ??? kind "title"'
    )
    for title in titles:
        assert (
            title.endswith("(plotting code)")
            or title.startswith("Going deeper")
            or re.search(r"\(code from lesson \d\.\d\)$", title) is not None
            or title in {"Solution", "Answer", HELPERS_FOLD}
        ), title


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name not in NO_HELPERS], ids=ids)
def test_the_helpers_come_first_and_folded(path: Path) -> None:
    """Every lesson's program starts with the shared helpers, in their fold: one copy of them,
    out of the way of the lesson's own code."""
    lines = path.read_text(encoding="utf-8").split("\n")
    first = course.lesson(path).fences[0]
    assert "def get_device()" in first.code
    assert enclosing_folds(lines, first.lineno) == [f'??? example "{HELPERS_FOLD}"']


# A line of drawing: a call on plt, a figure or an axes (ax, axes[0], ax_loss, ...).
PLOTTING_CALL = re.compile(r"^\s*(plt|fig|ax|axes|ax_\w+)(\[[^\]]*\])?\.\w+\(", re.MULTILINE)


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_drawing_code_is_folded(path: Path) -> None:
    """The code in view computes; drawing lives in folded draw_* functions. The shared
    log_scale helper (two calls) is the most drawing a fence in view may hold."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for fence in course.lesson(path).fences:
        folded = "(plotting code)" in " ".join(enclosing_folds(lines, fence.lineno))
        calls = len(PLOTTING_CALL.findall(fence.code))
        assert folded or calls <= 2, (
            f"line {fence.lineno}: {calls} plotting calls in view; move them into a draw_* "
            'function shown in a folded ??? example "... (plotting code)" block'
        )


# Numbers a question states that the rest of its lesson does not: each is checked where noted.
QUIZ_NUMBERS_CHECKED_ELSEWHERE = {
    "what-is-a-training-loop.md": {"-1.2471"},  # a wrong option: 1.2471 with its sign flipped
    # worked arithmetic, checked in test_check_yourself_arithmetic
    "visualizing-the-loss-landscape.md": {"-0.6", "-1.8", "0.36", "0.4", "0.42", "0.984", "1.6"},
}
QUIZ = re.compile(r"```quiz\n.*?```", flags=re.DOTALL)
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+")


def unchecked_quiz_numbers(path: Path) -> list[str]:
    """Decimals the page's questions state that appear nowhere else in the lesson (whose prose
    numbers its own test checks), less those checked elsewhere."""
    text = path.read_text(encoding="utf-8")
    rest = QUIZ.sub("", text)
    numbers = {n for block in QUIZ.findall(text) for n in DECIMAL.findall(block)}
    numbers -= QUIZ_NUMBERS_CHECKED_ELSEWHERE.get(path.name, set())
    return sorted(n for n in numbers if n not in rest)


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name not in MODULE_REVIEWS], ids=ids)
def test_check_yourself(path: Path) -> None:
    """3 to 5 questions after the key takeaways; their numbers are the lesson's own (tested)."""
    text = path.read_text(encoding="utf-8")
    assert "\n## Check yourself\n" in text, "a lesson ends with Check yourself"
    questions = text.split("\n## Check yourself\n", 1)[1]
    assert 3 <= questions.count("```quiz\n") <= 5
    if path.name in CASE_STUDIES:  # its matching exercise is a question that sets a task
        exercises = text.split("\n## Exercises\n", 1)[1].split("\n## Summary\n", 1)[0]
        text = text.replace(exercises, "")
    assert text.count("```quiz\n") == questions.count("```quiz\n"), "questions go at the end"
    assert unchecked_quiz_numbers(path) == []


def test_module_one_has_a_matching_question() -> None:
    module = [p for p in LESSONS if p.parent.name == "module-1"]
    assert any("\nmatch:\n" in p.read_text(encoding="utf-8") for p in module)


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name in MODULE_REVIEWS], ids=ids)
def test_module_review_checks_with_the_same_questions(path: Path) -> None:
    """A module review: a checklist, then questions in Check yourself's form, then worked
    questions; the quick check's numbers are the lesson's own (tested there)."""
    review = path.read_text(encoding="utf-8").split("\n## Module review\n", 1)[1]
    review = review.split("\n## Course review\n", 1)[0]
    headings = re.findall(r"^### (.+)$", review, flags=re.MULTILINE)
    assert headings == ["Checklist", "Quick check", "Worked questions"]
    quick = review.split("### Quick check", 1)[1].split("### Worked questions", 1)[0]
    assert 4 <= quick.count("```quiz\n") <= 8
    assert unchecked_quiz_numbers(path) == []


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name == COURSE_REVIEW], ids=ids)
def test_course_review_covers_every_module(path: Path) -> None:
    """The course ends with its review: a checklist across the three modules, then questions."""
    review = path.read_text(encoding="utf-8").split("\n## Course review\n", 1)[1]
    headings = re.findall(r"^### (.+)$", review, flags=re.MULTILINE)
    assert headings == ["Checklist", "Quick check"]
    checklist, quick = review.split("### Quick check", 1)
    assert all(f"Module {n}" in checklist for n in (1, 2, 3))
    assert 4 <= quick.count("```quiz\n") <= 8
