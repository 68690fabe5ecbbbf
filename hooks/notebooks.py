"""A lesson page as a Jupyter notebook: its prose as Markdown cells, each executed fence a code
cell holding what the build printed and drew. Also a module's lab (docs/module-N/lab.py, a
notebook in jupytext's percent format): its code cells run as a lesson's fences do, through
lessons.cached_run, and its executed notebook is what mkdocs-jupyter renders.

Jupyter renders neither this site's folds and admonitions nor its question fences, so they
become what a notebook shows: a fold without code becomes an HTML <details>, a fold holding code
a bold title over its content (a code cell cannot sit inside <details>), an admonition a
quotation, and a question plain text with its answer folded. Links between pages point at the
published site, where a downloaded notebook can still follow them.
"""

from __future__ import annotations

import base64
import platform
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jupytext
import lessons
import nbformat
import quiz

BLOCK = re.compile(
    r'^(?P<indent>\s*)(?P<marker>\?\?\?\+?|!!!)\s+[\w-]+(?:\s+"(?P<title>[^"]*)")?\s*$'
)
ATTRIBUTES = re.compile(
    r"\s*\{:?\s*[#.][\w-]+(?:\s+[#.][\w-]+)*\s*\}\s*$"
)  # `{ #id }`, `{ .class }`
MARKER = re.compile(r"^\s*<!--\s*pytest[.-].*-->\s*$")  # fence markers (lessons.MARKS)
PAGE_LINK = re.compile(r"\]\((?P<target>[^)\s]*?)(?P<anchor>#[^)\s]*)?\)")
LAB = "lab.py"  # the file name of a module's lab
CODE_MARKER = re.compile(r"^# %%(?!.*\[markdown\])")  # a code cell in percent format
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass(frozen=True)
class Code:
    index: int  # of the fence among the page's executed fences


@dataclass(frozen=True)
class NewCell:
    """Start a new Markdown cell here."""


Item = str | Code | NewCell  # a Markdown line, a code cell, or a cell boundary


def convert(lines: list[tuple[int, str]], starts: dict[int, tuple[int, Any]]) -> list[Item]:
    """Markdown lines and code cells for `lines` ((page line number, text), dedented already).
    `starts` maps the first line of every fence to (its last line, an executed index or the
    quiz source)."""
    items: list[Item] = []
    n = 0
    while n < len(lines):
        lineno, line = lines[n]
        if lineno in starts:
            last, what = starts[lineno]
            end = n + (last - lineno) + 1
            if isinstance(what, int):
                items.append(Code(what))
            elif isinstance(what, str):  # a question
                question = quiz.parse(what)
                items += quiz.as_markdown(question, quiz.quiz_key(what)).split("\n")
            else:  # shown as written: printed text, listings
                items += [text for _, text in lines[n:end]]
            n = end
            continue
        block = BLOCK.match(line)
        if block:
            indent = len(block["indent"]) + 4
            body_end = n + 1
            while body_end < len(lines) and (
                not lines[body_end][1].strip()
                or len(lines[body_end][1]) - len(lines[body_end][1].lstrip()) >= indent
            ):
                body_end += 1
            body = convert([(k, text[indent:]) for k, text in lines[n + 1 : body_end]], starts)
            title = block["title"] or ""
            if any(isinstance(item, Code) for item in body):
                items += [NewCell(), f"**{title}**", "", *body]
            elif block["marker"] == "!!!":
                items += [f"> **{title}**", ">", *[f"> {item}".rstrip() for item in body]]
            else:
                items += [f"<details><summary>{title}</summary>", "", *body, "</details>", ""]
            n = body_end
            continue
        if not MARKER.match(line):
            items.append(ATTRIBUTES.sub("", line))
        n += 1
    return [item for item in items if not isinstance(item, str) or not MARKER.match(item)]


def absolute_links(markdown: str, page_uri: str, site_url: str) -> str:
    """Links to pages of this site (`other.md#part`, `#part`) as addresses on the site."""

    def address(match: re.Match[str]) -> str:
        target, anchor = match["target"], match["anchor"] or ""
        if "://" in target or target.startswith("mailto:"):
            return match[0]
        if target and not target.endswith(".md"):
            return match[0]
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), target or page_uri))
        url = "" if path == "index.md" else path.removesuffix(".md").removesuffix("/index") + "/"
        return f"]({site_url.rstrip('/')}/{url}{anchor})"

    return PAGE_LINK.sub(address, markdown)


def about(page_uri: str, site_url: str, site_name: str) -> str:
    """The line under a notebook's title: where it comes from, and what it needs."""
    site = site_url.rstrip("/")
    page = f"{site}/{page_uri.removesuffix('.md')}/"
    return (
        f"*This notebook is a page of [{site_name}]({site}/), made when the site was built: "
        f"[read the page there]({page}). The outputs under the code are the build's, made with "
        f"Python {platform.python_version()}, torch {version('torch')} and matplotlib "
        f"{version('matplotlib')}. It needs torch and matplotlib and nothing else (Colab has "
        "both): run the cells from the top.*"
    )


def code_cell(
    fence: lessons.Fence, result: lessons.FenceResult | None, figure_dir: Path, count: int
) -> nbformat.NotebookNode:
    source = fence.code.rstrip("\n")
    if fence.syntax != "python":
        source = f"%%bash\n{source}"  # IPython's way to run a shell fence
    cell = nbformat.v4.new_code_cell(source, execution_count=count)
    tags = []
    if "xfail" in fence.marks:
        tags.append("raises-exception")  # the lesson shows this error on purpose
    if "machine_dependent" in fence.marks:
        tags.append("machine-dependent")
    if tags:
        cell.metadata["tags"] = tags
    if result is not None:
        if result.output:
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=result.output))
        for figure in result.figures:
            svg = figure_dir / figure.file
            png = base64.b64encode(svg.with_suffix(".png").read_bytes()).decode()
            data = {
                "image/svg+xml": svg.read_text(encoding="utf-8"),
                "image/png": png,  # what Jupyter shows while it does not trust the notebook
                "text/plain": f"<Figure: {figure.alt}>",
            }
            cell.outputs.append(nbformat.v4.new_output("display_data", data=data))
    return cell  # type: ignore[no-any-return]  # nbformat's constructors are untyped


def lesson_notebook(
    lesson: lessons.Lesson,
    outcome: lessons.LessonOutcome | None,
    page_uri: str,
    site_url: str,
    site_name: str,
) -> nbformat.NotebookNode:
    """The notebook of a lesson, with the build's outputs when the build ran its code."""
    text = lesson.expanded
    executed = [b for b in lessons.code_blocks(text, lesson.label) if b.syntax in lessons.EXECUTED]
    starts: dict[int, tuple[int, Any]] = {
        first: (last, None) for first, last, _ in lessons.fence_spans(text, lesson.label)
    }
    for index, block in enumerate(executed):
        starts[block.lineno] = (starts[block.lineno][0], index)
    for lineno, source in quiz.quiz_fences(text):
        starts[lineno] = (starts[lineno][0], source)
    lines = list(enumerate(text.split("\n"), start=1))
    items = convert(lines, starts)

    cells: list[nbformat.NotebookNode] = []
    markdown: list[str] = []

    def flush() -> None:
        body = "\n".join(markdown).strip("\n")
        markdown.clear()
        if body.strip():
            body = re.sub(r"\n{3,}", "\n\n", body)
            cells.append(nbformat.v4.new_markdown_cell(absolute_links(body, page_uri, site_url)))

    for item in items:
        if isinstance(item, NewCell):
            flush()
        elif isinstance(item, Code):
            flush()
            result = None if outcome is None else outcome.results[item.index]
            figure_dir = Path() if outcome is None else outcome.figure_dir
            cells.append(code_cell(lesson.fences[item.index], result, figure_dir, item.index + 1))
        else:
            markdown.append(item)
            if item.startswith("# ") and len(markdown) == 1 and not cells:
                markdown += ["", about(page_uri, site_url, site_name), ""]
    flush()
    return finish(cells)


def finish(cells: Sequence[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A valid notebook of these cells; ids numbered, so that every build writes the same bytes."""
    for n, cell in enumerate(cells, start=1):
        cell.id = f"cell-{n}"
    notebook = nbformat.v4.new_notebook(
        cells=list(cells),
        metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
    )
    nbformat.validate(notebook)
    return notebook  # type: ignore[no-any-return]


def dumps(notebook: nbformat.NotebookNode) -> str:
    return str(nbformat.writes(notebook)) + "\n"


def load_lab(path: Path, root: Path) -> lessons.Lesson:
    """A lab as a lesson: its code cells are the fences, each traced to its lines in the file."""
    label = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
    text = path.read_text(encoding="utf-8")
    cells = [cell for cell in jupytext.reads(text, fmt="py:percent").cells]
    markers = [n for n, line in enumerate(text.split("\n"), 1) if CODE_MARKER.match(line)]
    code = [cell.source for cell in cells if cell.cell_type == "code"]
    if len(markers) != len(code):
        raise lessons.LessonError(f"{label}: {len(markers)} `# %%` markers, {len(code)} cells")
    fences = tuple(
        lessons.Fence(
            lineno=marker,
            code=source + "\n",
            syntax="python",
            sources=tuple(
                lessons.SourceLine(path, marker + n) for n in range(1, source.count("\n") + 2)
            ),
        )
        for marker, source in zip(markers, code, strict=True)
    )
    return lessons.Lesson(path, label, text, fences)


def lab_notebook(
    lab: lessons.Lesson, outcome: lessons.LessonOutcome | None
) -> nbformat.NotebookNode:
    """The lab as a notebook, with the build's outputs in its code cells."""
    read = jupytext.reads(lab.expanded, fmt="py:percent")
    cells, index = [], 0
    for cell in read.cells:
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
            continue
        result = None if outcome is None else outcome.results[index]
        figure_dir = Path() if outcome is None else outcome.figure_dir
        cells.append(code_cell(lab.fences[index], result, figure_dir, index + 1))
        index += 1
    return finish(cells)
