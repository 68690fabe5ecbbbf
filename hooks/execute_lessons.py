"""MkDocs hook: run every lesson's code at build time and show what it printed and drew.

Each lesson runs in its own process (lessons side by side, one per core); results are cached
under .cache/lessons/ by a hash of everything that can change them. Set COURSE_EXECUTE=0 to
build without running anything (the benchmark's floor).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lessons import (
    KERNEL,
    LESSON_TIMEOUT_S,
    FenceResult,
    Figure,
    Lesson,
    LessonError,
    code_blocks,
    describe_failure,
    evaluated_marks,
    expand,
    fence_filename,
    kernel,
    load_lesson,
    output_mismatch,
    skipped,
    snippet_preprocessor,
)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

EXECUTE = os.environ.get("COURSE_EXECUTE", "1") != "0"
# Whatever changes a lesson's results without changing its code: the kernel and the libraries.
ENVIRONMENT = {
    "kernel": [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(KERNEL.parent.glob("*.py"))
    ],
    "python": sys.version,
    "torch": version("torch"),
    "matplotlib": version("matplotlib"),
}

results: dict[str, list[FenceResult | None]] = {}  # by page src_uri; None for a skipped fence


def cache_key(lesson: Lesson) -> str:
    content = {
        "environment": ENVIRONMENT,
        "fences": [[f.code, f.syntax, list(f.marks), f.importorskip] for f in lesson.fences],
        "snippets": [
            [p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in lesson.snippet_files
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def run_lesson(lesson: Lesson, figure_dir: Path) -> list[FenceResult | None]:
    """Run the fences in order in one process; raise LessonError at the first unexpected failure."""
    outcome: list[FenceResult | None] = []
    deadline = time.monotonic() + LESSON_TIMEOUT_S  # for the whole lesson, not per fence
    with kernel(figure_dir) as running:
        for fence in lesson.fences:
            if skipped(fence):
                outcome.append(None)
                continue
            remaining = deadline - time.monotonic()
            result = running.run(fence, fence_filename(lesson, fence), remaining)
            expect_failure = any(mark.name == "xfail" for mark in evaluated_marks(fence))
            if not result.ok and not expect_failure:
                raise LessonError(describe_failure(lesson, fence, result))
            if not result.ok:  # the lesson shows this error on purpose, as a notebook would
                error = result.error or {}
                result.output += f"{error.get('type')}: {error.get('message')}\n"
            mismatch = output_mismatch(fence, result.output)
            if mismatch:
                raise LessonError(f"{lesson.label}:{fence.lineno}: {mismatch}")
            outcome.append(result)
    return outcome


def cached_run(lesson: Lesson, cache_dir: Path) -> list[FenceResult | None]:
    key = cache_key(lesson)
    key_file, results_file = cache_dir / "key", cache_dir / "results.json"
    if key_file.exists() and key_file.read_text() == key:
        stored = json.loads(results_file.read_text())
        return [
            None
            if r is None
            else FenceResult(r["ok"], r["output"], [Figure(**f) for f in r["figures"]])
            for r in stored
        ]
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    outcome = run_lesson(lesson, cache_dir)
    results_file.write_text(json.dumps([None if r is None else asdict(r) for r in outcome]))
    key_file.write_text(key)  # last: a build that died half way leaves no valid cache
    return outcome


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    preprocessor = snippet_preprocessor(config.mdx_configs["pymdownx.snippets"])
    lessons = {}
    for file in files.documentation_pages():
        try:
            lesson = load_lesson(Path(file.abs_src_path or ""), preprocessor, root)
        except LessonError as error:
            raise PluginError(str(error)) from error
        if lesson.fences:
            lessons[file.src_uri] = lesson
    results.clear()
    if not EXECUTE:
        return files

    def run(src_uri: str) -> list[FenceResult | None]:
        return cached_run(
            lessons[src_uri], root / ".cache" / "lessons" / src_uri.removesuffix(".md")
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {src_uri: pool.submit(run, src_uri) for src_uri in lessons}
        failures = []
        for src_uri, future in futures.items():
            try:
                results[src_uri] = future.result()
            except LessonError as error:
                failures.append(str(error))
    if failures:
        raise PluginError("lesson code failed at build time:\n" + "\n\n".join(failures))

    for src_uri, outcome in results.items():
        figure_dir = root / ".cache" / "lessons" / src_uri.removesuffix(".md")
        for result in filter(None, outcome):
            for figure in result.figures:
                uri = f"{src_uri.removesuffix('.md')}/{figure.file}"
                files.append(
                    File.generated(config, uri, abs_src_path=str(figure_dir / figure.file))
                )
    return files


def output_lines(result: FenceResult, indent: str, page_dir: str) -> list[str]:
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


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    outcome = results.get(page.file.src_uri)
    if outcome is None:
        return markdown
    preprocessor = snippet_preprocessor(config.mdx_configs["pymdownx.snippets"])
    text = expand(markdown, preprocessor, page.file.src_uri)
    lines = text.split("\n")
    blocks: list[Any] = [b for b in code_blocks(text) if b.syntax in ("python", "bash", "sh")]
    if len(blocks) != len(outcome):
        raise PluginError(f"{page.file.src_uri}: fences changed while building; build again")
    page_dir = Path(page.file.src_uri).stem
    # From the last fence up, so that inserting lines keeps the earlier line numbers right.
    for block, result in reversed(list(zip(blocks, outcome, strict=True))):
        if result is None or block.expected_output is not None:
            continue  # skipped, or the page already shows the output it expects
        opening = lines[block.lineno - 1]
        indent = opening[: len(opening) - len(opening.lstrip())]
        closing = block.lineno + block.code.count("\n")  # 0-based index of the closing fence
        lines[closing + 1 : closing + 1] = output_lines(result, indent, page_dir)
    return "\n".join(lines)
