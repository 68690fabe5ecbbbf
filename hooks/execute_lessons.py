"""MkDocs hook: run every lesson's code at build time and show what it printed and drew.

Lessons run side by side, one per core, each in a kernel forked from one kernel server (see
lessons.py); results are cached under .cache/lessons/, where the tests store theirs too. Set
COURSE_EXECUTE=0 to build without running anything (the benchmark's floor).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
import platform
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import Any

import lessons
import notebooks
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

EXECUTE = os.environ.get("COURSE_EXECUTE", "1") != "0"
log = logging.getLogger("mkdocs.hooks.execute_lessons")
THIS_FILE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

outcomes: dict[str, lessons.LessonOutcome] = {}  # by page src_uri
notebook_uris: dict[str, str] = {}  # each lesson's notebook, by page src_uri
COLAB_BRANCH = "gh-pages"  # where the publishing workflow puts the site, notebooks included


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """`mkdocs serve` keeps hooks loaded across rebuilds: reload the kernel's code if edited."""
    global lessons
    if lessons.sources_changed():
        lessons.SERVER.close()
        sys.path.insert(0, str(Path(__file__).parent))  # as MkDocs does to load a hook
        try:
            lessons = importlib.reload(lessons)
        finally:
            sys.path.remove(str(Path(__file__).parent))
        log.info("hooks/lessons.py, lesson_kernel.py or capture_backend.py changed: reloaded")
    if hashlib.sha256(Path(__file__).read_bytes()).hexdigest() != THIS_FILE:
        log.warning("hooks/execute_lessons.py changed: restart mkdocs serve to use the edit")
    return config


def on_startup(command: str, dirty: bool) -> None:
    if command == "serve" and EXECUTE:
        lessons.SERVER.address()  # import torch now, not after the reader's first edit


@event_priority(50)  # before mkdocs-jupyter's, which must find the labs' notebooks
def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    preprocessor = lessons.snippet_preprocessor(config.mdx_configs["pymdownx.snippets"])
    found: dict[str, lessons.Lesson] = {}
    problems = []
    for file in files.documentation_pages():
        try:
            lesson = lessons.load_lesson(Path(file.abs_src_path or ""), preprocessor, root)
        except lessons.LessonError as error:
            problems.append(str(error))
            continue
        if lesson.fences:
            found[file.src_uri] = lesson
    labs = {}
    for file in files:
        if Path(file.src_uri).name == notebooks.LAB and file.abs_src_path:
            try:
                labs[file.src_uri] = notebooks.load_lab(Path(file.abs_src_path), root)
            except lessons.LessonError as error:
                problems.append(str(error))
    if problems:
        raise PluginError("lessons that cannot be read:\n" + "\n\n".join(problems))
    outcomes.clear()
    notebook_uris.clear()
    if EXECUTE:
        run_all(found | labs, root)
    for src_uri, lab in labs.items():
        # Written outside docs/ (mkdocs serve would rebuild forever); rendered by mkdocs-jupyter,
        # which needs a file on disk (it cannot render a generated File).
        uri = src_uri.removesuffix(".py") + ".ipynb"
        executed = notebooks.dumps(notebooks.lab_notebook(lab, outcomes.get(src_uri)))
        # A folder per content: two builds at once (one with outputs, one without) never read
        # each other's notebook half written.
        digest = hashlib.sha256(executed.encode()).hexdigest()[:16]
        folder = root / ".cache" / "labs" / digest
        if not (folder / uri).exists():
            (folder / uri).parent.mkdir(parents=True, exist_ok=True)
            scratch = (folder / uri).with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(executed, encoding="utf-8")
            scratch.replace(folder / uri)
        files.append(File(uri, str(folder), config.site_dir, config.use_directory_urls))
    for src_uri, lesson in found.items():
        outcome = outcomes.get(src_uri)
        notebook = notebooks.lesson_notebook(
            lesson, outcome, src_uri, config.site_url or "", config.site_name
        )
        notebook_uris[src_uri] = src_uri.removesuffix(".md") + ".ipynb"
        files.append(
            File.generated(config, notebook_uris[src_uri], content=notebooks.dumps(notebook))
        )
        if outcome is None:
            continue
        for result in filter(None, outcome.results):
            for figure in result.figures:
                uri = f"{src_uri.removesuffix('.md')}/{figure.file}"
                source = str(outcome.figure_dir / figure.file)
                files.append(File.generated(config, uri, abs_src_path=source))
    return files


def run_all(found: dict[str, lessons.Lesson], root: Path) -> None:
    """Every lesson from the cache or run, side by side; a failure fails the build."""
    settings = lessons.environment()
    cache_root = root / ".cache" / "lessons"

    def run(lesson: lessons.Lesson) -> lessons.LessonOutcome:
        try:
            return lessons.cached_run(lesson, cache_root, settings)
        except Exception as error:  # whatever went wrong, say which lesson it was
            message = f"{lesson.label}: {type(error).__name__}: {error}"
            return lessons.LessonOutcome([], Path(), failure=message)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outcomes.update(zip(found, pool.map(run, found.values()), strict=True))
    failures = [o.failure for o in outcomes.values() if o.failure is not None]
    if failures:
        raise PluginError("lesson code failed at build time:\n" + "\n\n".join(failures))
    ran = [uri for uri, outcome in outcomes.items() if not outcome.from_cache]
    log.info(f"lessons: {len(outcomes) - len(ran)} from the cache, {len(ran)} run")


def output_lines(result: lessons.FenceResult, indent: str, page_dir: str) -> list[str]:
    """Markdown for what a fence printed and drew, indented to sit beside the fence."""
    lines = []
    if result.output.strip():
        ticks = "`" * max(3, longest_backtick_run(result.output) + 1)
        lines += [
            "",
            f'{ticks} text title="Output"',
            *result.output.rstrip("\n").split("\n"),
            ticks,
        ]
    for figure in result.figures:
        alt = " ".join(figure.alt.split()).replace("[", "(").replace("]", ")")
        lines += ["", f"![{alt}]({page_dir}/{figure.file})"]
    return [indent + line if line else line for line in lines]


def longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def on_pre_page(page: Page, config: MkDocsConfig, files: Files) -> Page:
    """A lab's page edits the lab's source, not the notebook the build made of it."""
    if (
        page.edit_url
        and Path(page.file.src_uri).name == Path(notebooks.LAB).with_suffix(".ipynb").name
    ):
        page.edit_url = page.edit_url.removesuffix(".ipynb") + ".py"
    return page


NO_ALT = 'alt="No description has been provided for this image"'  # what nbconvert writes


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """A lab's figures get their alt text (nbconvert has no place for it), in order; its
    headings lose nbconvert's ¶ links, which search would show in every section title; its
    code blocks can take the keyboard's focus, as Material's do."""
    outcome = outcomes.get(page.file.src_uri.removesuffix(".ipynb") + ".py")
    if outcome is None:
        return html
    html = re.sub(r'<a class="anchor-link" href="[^"]*">¶</a>', "", html)
    html = html.replace("<pre>", '<pre tabindex="0">')  # a keyboard can scroll wide code
    for figure in (f for result in filter(None, outcome.results) for f in result.figures):
        html = html.replace(NO_ALT, f'alt="{escape(" ".join(figure.alt.split()))}"', 1)
    if NO_ALT in html:
        raise PluginError(f"{page.file.src_uri}: an image without alt text")
    return html


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    notebook_uri = notebook_uris.get(page.file.src_uri)
    if notebook_uri is None:
        return markdown  # a page without code
    preprocessor = lessons.snippet_preprocessor(config.mdx_configs["pymdownx.snippets"])
    text = lessons.expand(markdown, preprocessor, page.file.src_uri)
    lines = text.split("\n")
    outcome = outcomes.get(page.file.src_uri)
    header = []
    if outcome is not None:
        insert_outputs(lines, text, outcome, page.file.src_uri)
        header += ["", facts(text, outcome, page.file.src_uri)]
    header += ["", run_it_yourself(page.file.src_uri, notebook_uri, config.repo_url)]
    title = next(n for n, line in enumerate(lines) if line.startswith("# "))
    lines[title + 1 : title + 1] = header
    return "\n".join(lines)


def insert_outputs(lines: list[str], text: str, outcome: lessons.LessonOutcome, uri: str) -> None:
    blocks: list[Any] = [b for b in lessons.code_blocks(text, uri) if b.syntax in lessons.EXECUTED]
    if len(blocks) != len(outcome.results):
        raise PluginError(f"{uri}: fences changed while building; build again")
    page_dir = Path(uri).stem
    # From the last fence up, so that inserting lines keeps the earlier line numbers right.
    for block, result in reversed(list(zip(blocks, outcome.results, strict=True))):
        if result is None or block.expected_output is not None:
            continue  # skipped, or the page already shows the output it expects
        opening = lines[block.lineno - 1]
        indent = opening[: len(opening) - len(opening.lstrip())]
        closing = block.lineno + block.code.count("\n")  # 0-based index of the closing fence
        lines[closing + 1 : closing + 1] = output_lines(result, indent, page_dir)


def run_it_yourself(page_uri: str, notebook_uri: str, repo_url: str | None) -> str:
    """Links to the page's notebook: to download, and to open in Colab where the site knows its
    public repository on GitHub (Colab opens notebooks from a GitHub path)."""
    name = Path(notebook_uri).name
    links = [f'[download this lesson as a notebook]({name}){{ download="{name}" }}']
    github = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", repo_url or "")
    if github:
        colab = f"https://colab.research.google.com/github/{github[1]}/blob/{COLAB_BRANCH}"
        links.append(f"[open it in Colab]({colab}/{notebook_uri})")
    return f"Run it yourself: {' or '.join(links)}.\n{{ .lesson-run }}"


def facts(text: str, outcome: lessons.LessonOutcome, label: str) -> str:
    """The line under a lesson's title: reading time, the code's run time at build, and the
    versions it ran with (a cached result ran with these too: they are part of its key)."""
    minutes = lessons.reading_minutes(text, label)
    ran = f"{outcome.seconds:.1f} s" if outcome.seconds >= 0.05 else "under 0.1 s"
    return (
        f"*About {minutes} minutes to read · its code ran in {ran} when this page was built · "
        f"verified with torch {importlib.metadata.version('torch')} and "
        f"Python {platform.python_version()}*\n{{ .lesson-facts }}"
    )
