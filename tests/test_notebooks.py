"""Each lesson's notebook, made by the build's own function: valid, its code cells exactly the
page's executed fences, its Markdown free of this site's own syntax, and run in a real Jupyter
kernel (nbclient, ipykernel) from an empty folder to print what the build printed.

Running every notebook takes minutes, so it is marked `slow` (`uv run pytest -m slow`, which CI
runs too); the default run executes the quickest lesson of each module.
"""

import re
from collections import Counter
from functools import cache
from pathlib import Path

import nbclient
import nbformat
import notebooks
import pytest
import quiz
from course import DOCS, ROOT, config, lesson, lesson_paths, outcome
from lessons import EXECUTED, fence_spans

# The lesson of each module whose notebook the default test run executes: its quickest.
RUN_BY_DEFAULT = {
    "module-1": "recap-and-key-takeaways.md",
    "module-2": "forward-and-backward-passes.md",
    "module-3": "weight-initialization.md",
}
SNIPPET_MODULES = sorted(path.stem for path in (ROOT / "snippets").glob("*.py"))
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
SITE_SYNTAX = re.compile(r"^\s*(\?\?\?|!!!|```quiz|-+8<-+|<!--\s*pytest)|\{\s*[#.][\w-]+\s*\}\s*$")


@cache
def notebook(path: Path) -> nbformat.NotebookNode:
    settings = config()
    uri = path.relative_to(DOCS).as_posix()
    return notebooks.lesson_notebook(
        lesson(path), outcome(path), uri, settings.site_url or "", settings.site_name
    )


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def label(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


def formulas(text: str) -> Counter[str]:
    """Every $...$ and $$...$$, its spacing aside (a fold's indentation is gone in a notebook)."""
    return Counter(" ".join(found.split()) for found in MATH.findall(text))


@pytest.mark.parametrize("path", lesson_paths(), ids=label)
def test_notebook_is_the_page(path: Path) -> None:
    made = notebook(path)
    nbformat.validate(made)
    fences = lesson(path).fences
    assert [cell.source for cell in code_cells(made)] == [f.code.rstrip("\n") for f in fences]

    results = outcome(path).results
    for cell, result in zip(code_cells(made), results, strict=True):
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        drawn = [o for o in cell.outputs if o.output_type == "display_data"]
        assert printed == (result.output if result else "")
        assert len(drawn) == (len(result.figures) if result else 0)
        assert all("<svg" in o.data["image/svg+xml"] for o in drawn)
        # Jupyter shows no SVG in a notebook it does not trust (a downloaded one): PNG too
        assert all(o.data["image/png"].startswith("iVBORw0KGgo") for o in drawn)

    markdown = [cell.source for cell in made.cells if cell.cell_type == "markdown"]
    for source in markdown:
        for line in source.split("\n"):
            assert not SITE_SYNTAX.search(line), f"site syntax left in the notebook: {line!r}"
    # The math survives: every formula of the page's prose and questions is in the Markdown, as
    # often (a matching question's answer repeats its definitions, so it may be more often).
    text = lesson(path).expanded
    lines = text.split("\n")
    in_code = {
        n
        for first, last, info in fence_spans(text)
        if info in (*EXECUTED, "quiz")
        for n in range(first, last + 1)
    }
    prose = [line for n, line in enumerate(lines, 1) if n not in in_code]
    for _, source in quiz.quiz_fences(text):  # as read from their YAML, quoting undone
        question = quiz.parse(source)
        prose += [question.question, *(o.text + o.why for o in question.options)]
        prose += [term + definition for term, definition in question.pairs]
    in_notebook = formulas("\n".join(markdown))
    missing = formulas("\n".join(prose)) - in_notebook
    assert not missing, f"formulas lost: {list(missing)[:3]}"


@pytest.mark.parametrize("path", lesson_paths(), ids=label)
def test_notebook_needs_no_project_file(path: Path) -> None:
    """Colab has torch and matplotlib, nothing of this repository: no cell imports a snippet."""
    imports = re.compile(rf"^\s*(from|import)\s+({'|'.join(SNIPPET_MODULES)})\b", re.MULTILINE)
    for cell in code_cells(notebook(path)):
        assert not imports.search(cell.source), cell.source[:200]


def test_every_module_runs_a_notebook_by_default() -> None:
    modules = {path.parent.name for path in lesson_paths()}
    assert modules == set(RUN_BY_DEFAULT)
    for module, name in RUN_BY_DEFAULT.items():
        assert DOCS / module / name in lesson_paths()


def run_cases() -> list[object]:
    return [
        pytest.param(
            path,
            id=label(path),
            marks=[] if RUN_BY_DEFAULT.get(path.parent.name) == path.name else [pytest.mark.slow],
        )
        for path in lesson_paths()
    ]


@pytest.mark.parametrize("path", run_cases())
def test_notebook_runs_in_jupyter(path: Path, tmp_path: Path) -> None:
    """Executed from the top in an empty folder, it prints what the build printed (timings
    aside) and draws as many figures; Jupyter draws PNG where the build drew SVG."""
    ran = nbformat.from_dict(notebook(path))
    for cell in code_cells(ran):
        cell.outputs = []
    client = nbclient.NotebookClient(
        ran, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    fences = lesson(path).fences
    for fence, cell, result in zip(fences, code_cells(ran), outcome(path).results, strict=True):
        if result is None or "machine_dependent" in fence.marks:
            continue
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        errors = [f"{o.ename}: {o.evalue}\n" for o in cell.outputs if o.output_type == "error"]
        assert printed + "".join(errors) == result.output, f"{label(path)}:{fence.lineno}"
        drawn = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(drawn) == len(result.figures), f"{label(path)}:{fence.lineno}"
        # The page shows no value of a last expression; a notebook would, after the output.
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown == [], f"{label(path)}:{fence.lineno}: Jupyter shows {shown[0].data}"


def test_colab_link_only_with_a_github_repository() -> None:
    """Colab opens a notebook from a GitHub path: the gh-pages branch the workflow publishes."""
    from execute_lessons import run_it_yourself

    on_github = run_it_yourself("module-1/a.md", "module-1/a.ipynb", "https://github.com/me/c/")
    colab = "https://colab.research.google.com/github/me/c/blob/gh-pages/module-1/a.ipynb"
    assert f"[open it in Colab]({colab})" in on_github
    assert '[download this lesson as a notebook](a.ipynb){ download="a.ipynb" }' in on_github
    for elsewhere in (None, "https://gitlab.com/me/c"):
        assert "Colab" not in run_it_yourself("module-1/a.md", "module-1/a.ipynb", elsewhere)
