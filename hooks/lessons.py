"""Read a lesson as the reader sees it and run its fences: shared by the build hook and the tests.

A lesson is a Markdown page under docs/. Its snippet includes are expanded with the very
pymdown-extensions preprocessor the site uses, its fences are found by pytest-codeblocks, and
they run in order in one fresh `lesson_kernel.py` process, as the cells of a notebook do.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import markdown
import pytest
from pymdownx.snippets import SnippetPreprocessor
from pytest_codeblocks import extract_from_buffer

EXECUTED = ("python", "bash", "sh")  # what pytest-codeblocks collects, exactly these info strings
INERT = ("text",)  # fences shown but not run: printed text, file listings
KERNEL = Path(__file__).with_name("lesson_kernel.py")
LESSON_TIMEOUT_S = 180.0

INCLUDE = re.compile(r"""^\s*-+8<-+\s+(?P<q>["'])(?P<target>.+?)(?P=q)\s*$""")
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<mark>`{3,}|~{3,})(?P<info>.*)$")


class LessonError(Exception):
    """A lesson that cannot be shown as written: its message names the file and the line."""


@dataclass(frozen=True)
class SourceLine:
    """Where one line of expanded fence code was written: a snippet file or the page itself."""

    path: Path
    lineno: int


@dataclass(frozen=True)
class Fence:
    """One executed code fence, after includes are expanded."""

    lineno: int  # of the opening fence line, in the Markdown file as written
    code: str
    syntax: str
    marks: tuple[str, ...] = ()
    importorskip: str | None = None
    expected_output: str | None = None
    expected_output_ignore_whitespace: bool = False
    sources: tuple[SourceLine | None, ...] = ()

    def source_of(self, code_lineno: int) -> SourceLine | None:
        if 1 <= code_lineno <= len(self.sources):
            return self.sources[code_lineno - 1]
        return None


@dataclass(frozen=True)
class Figure:
    file: str
    alt: str


@dataclass
class FenceResult:
    ok: bool
    output: str = ""
    figures: list[Figure] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Lesson:
    path: Path  # the Markdown file
    label: str  # the path shown in messages, relative to the project
    expanded: str
    fences: tuple[Fence, ...]
    snippet_files: tuple[Path, ...]


# --- Expanding includes -------------------------------------------------------------------------


def snippet_preprocessor(snippets_config: Mapping[str, Any]) -> SnippetPreprocessor:
    """The pymdown-extensions snippet preprocessor, configured as mkdocs.yml configures it."""
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": dict(snippets_config)},
    )
    preprocessor = md.preprocessors["snippet"]
    assert isinstance(preprocessor, SnippetPreprocessor)
    return preprocessor


def expand(text: str, preprocessor: SnippetPreprocessor, label: str) -> str:
    try:
        return "\n".join(preprocessor.run(text.split("\n")))
    except Exception as error:  # SnippetMissingError, or a file that cannot be read
        raise LessonError(f"{label}: broken snippet include: {error}") from error


def resolve_include(target: str, preprocessor: SnippetPreprocessor) -> tuple[Path, str | None]:
    """Split `file.py:section` and find the file the way the preprocessor does."""
    parsed = preprocessor.parse_snippet_target(target)
    if parsed is None:
        raise LessonError(f"empty snippet include {target!r}")
    found = preprocessor.get_snippet_path(parsed["path"])
    if found is None:
        raise LessonError(f"snippet file {parsed['path']!r} not found")
    section = parsed["section"]
    return Path(found), section if isinstance(section, str) else None


def locate_lines(lines: list[str], path: Path, section: str | None) -> list[SourceLine | None]:
    """Map included lines back to their file: they appear there in order, maybe indented more."""
    file_lines = path.read_text(encoding="utf-8").split("\n")
    position = 0
    if section is not None:
        start = re.compile(rf"--8<--\s*\[\s*start\s*:\s*{re.escape(section)}\s*\]")
        position = next((i for i, line in enumerate(file_lines) if start.search(line)), 0)
    located: list[SourceLine | None] = []
    for line in lines:
        wanted = line.strip()
        if not wanted:
            located.append(None)
            continue
        for i in range(position, len(file_lines)):
            if file_lines[i].strip() == wanted:
                located.append(SourceLine(path, i + 1))
                position = i + 1
                break
        else:
            located.append(None)
    return located


def trace_sources(
    raw_code_lines: list[str], first_lineno: int, page: Path, preprocessor: SnippetPreprocessor
) -> list[SourceLine | None]:
    """For each line a fence expands to, the snippet file and line (or page line) it came from."""
    sources: list[SourceLine | None] = []
    for offset, raw_line in enumerate(raw_code_lines):
        match = INCLUDE.match(raw_line)
        if match is None:
            sources.append(SourceLine(page, first_lineno + offset))
            continue
        expanded = preprocessor.run([raw_line.strip()])
        path, section = resolve_include(match["target"], preprocessor)
        sources.extend(locate_lines(expanded, path, section))
    return sources


# --- Finding fences -----------------------------------------------------------------------------


def code_blocks(text: str) -> list[Any]:
    """Every fence pytest-codeblocks finds, with the markers it reads above each one."""
    return list(extract_from_buffer(io.StringIO(text)))


def fence_problems(text: str, label: str) -> list[str]:
    """Fences that would be shown but never run: pytest-codeblocks collects only exact
    `python`, `sh` and `bash` info strings and only backtick fences; anything else is an error."""
    problems = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        mark, info = match["mark"], match["info"].strip()
        if mark.startswith("~"):
            problems.append(f"{label}:{i + 1}: tilde fence; write it with backticks")
        elif info not in EXECUTED + INERT:
            problems.append(
                f"{label}:{i + 1}: fence info string {info!r} is neither run nor allowed; "
                f"use exactly one of {', '.join(EXECUTED + INERT)}"
            )
        closing = re.compile(rf"^[ \t]*{re.escape(mark[0]) * len(mark)}")
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            i += 1
        i += 1
    return problems


def load_lesson(path: Path, preprocessor: SnippetPreprocessor, root: Path) -> Lesson:
    """Expand a page's includes and pair each executed fence with the line a reader edits."""
    label = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    raw = path.read_text(encoding="utf-8")
    expanded = expand(raw, preprocessor, label)
    problems = fence_problems(raw, label) or fence_problems(
        expanded, f"{label} (includes expanded)"
    )
    if problems:
        raise LessonError("\n".join(problems))
    raw_blocks = [b for b in code_blocks(raw) if b.syntax in EXECUTED]
    blocks = [b for b in code_blocks(expanded) if b.syntax in EXECUTED]
    if len(raw_blocks) != len(blocks):
        raise LessonError(f"{label}: its includes add or remove code fences; include code only")
    raw_lines = raw.split("\n")
    fences = []
    for raw_block, block in zip(raw_blocks, blocks, strict=True):
        indent = len(raw_lines[raw_block.lineno - 1]) - len(
            raw_lines[raw_block.lineno - 1].lstrip()
        )
        raw_code = [line[indent:] for line in raw_block.code.rstrip("\n").split("\n")]
        sources = trace_sources(raw_code, raw_block.lineno + 1, path, preprocessor)
        fences.append(
            Fence(
                lineno=raw_block.lineno,
                code=block.code,
                syntax=block.syntax,
                marks=tuple(block.marks),
                importorskip=block.importorskip,
                expected_output=block.expected_output,
                expected_output_ignore_whitespace=block.expected_output_ignore_whitespace,
                sources=tuple(sources),
            )
        )
    snippet_files = sorted(
        {resolve_include(m["target"], preprocessor)[0] for m in map(INCLUDE.match, raw_lines) if m}
    )
    return Lesson(path, label, expanded, tuple(fences), tuple(snippet_files))


# --- Running fences -----------------------------------------------------------------------------


def kernel_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(KERNEL.parent)  # for the capture backend, and nothing of the course
    env["MPLBACKEND"] = "module://capture_backend"
    # One thread per kernel: results that do not depend on the machine's core count, and
    # lessons that run side by side without fighting over cores.
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


class Kernel:
    """One lesson's Python process: fences go in one at a time and share its namespace."""

    def __init__(self, figure_dir: Path, workdir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-X", "utf8", str(KERNEL), str(figure_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=kernel_environment(),
            text=True,
            encoding="utf-8",
        )
        self.replies: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.chatter: list[str] = []  # what the process wrote outside any fence

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put("")  # end of output: the process has exited

    def run(self, fence: Fence, fence_name: str, timeout_s: float) -> FenceResult:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        request = {"code": fence.code, "syntax": fence.syntax, "filename": fence_name}
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except BrokenPipeError:
            return FenceResult(ok=False, error={"type": "KernelDied", "message": self.died()})
        while True:
            try:
                line = self.replies.get(timeout=max(timeout_s, 0.0))
            except queue.Empty:
                self.close()
                message = "still running when the lesson's time limit ran out"
                return FenceResult(ok=False, error={"type": "Timeout", "message": message})
            if not line:
                return FenceResult(ok=False, error={"type": "KernelDied", "message": self.died()})
            if line.startswith("{"):
                reply = json.loads(line)
                figures = [Figure(**f) for f in reply.get("figures", [])]
                return FenceResult(reply["ok"], reply["output"], figures, reply.get("error"))
            self.chatter.append(line)

    def died(self) -> str:
        self.process.wait()
        tail = "".join(self.chatter[-20:])
        return f"the lesson's Python process exited with status {self.process.returncode}\n{tail}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with suppress(BrokenPipeError):
                    stream.close()


def fence_filename(lesson: Lesson, fence: Fence) -> str:
    return f"{lesson.label}:{fence.lineno}"


@contextmanager
def kernel(figure_dir: Path) -> Iterator[Kernel]:
    with tempfile.TemporaryDirectory(prefix="lesson-") as workdir:
        running = Kernel(figure_dir, Path(workdir))
        try:
            yield running
        finally:
            running.close()


def evaluated_marks(fence: Fence) -> list[pytest.MarkDecorator]:
    """The marks written above a fence, evaluated the way pytest-codeblocks evaluates them."""
    marks = []
    for mark in fence.marks:
        decorator = eval(mark, {"sys": sys, "pytest": pytest})
        assert isinstance(decorator, pytest.MarkDecorator), f"not a pytest mark: {mark}"
        marks.append(decorator)
    return marks


def skipped(fence: Fence) -> bool:
    """Whether a fence's marks skip it; a skipped fence is not run by the build either."""
    for mark in evaluated_marks(fence):
        if mark.name == "skip":
            return True
        if mark.name == "skipif" and any(bool(condition) for condition in mark.args):
            return True
    if fence.importorskip is not None:
        try:
            __import__(fence.importorskip)
        except ImportError:
            return True
    return False


def describe_failure(lesson: Lesson, fence: Fence, result: FenceResult) -> str:
    """Name the Markdown file and line, and the snippet file and line, of a failed fence."""
    error = result.error or {}
    lines = [
        f"{lesson.label}:{fence.lineno}: the {fence.syntax} fence at line {fence.lineno} failed: "
        f"{error.get('type', 'Error')}: {error.get('message', '')}".rstrip()
    ]
    fence_frames = [
        f for f in error.get("frames", []) if f["filename"] == fence_filename(lesson, fence)
    ]
    if fence_frames:
        frame = fence_frames[-1]
        source = fence.source_of(frame["lineno"])
        code_line = fence.code.split("\n")[frame["lineno"] - 1].strip() if frame["lineno"] else ""
        where = (
            f"{relative(source.path)}:{source.lineno}"
            if source
            else f"fence line {frame['lineno']}"
        )
        lines.append(f"  at {where}: {code_line}")
    deeper = [f for f in error.get("frames", []) if f["filename"] != fence_filename(lesson, fence)]
    for frame in deeper[-3:]:
        lines.append(f"  in {frame['filename']}:{frame['lineno']}: {frame['line'].strip()}")
    if result.output.strip():
        lines.append("  output before the failure:")
        lines.extend("    " + line for line in result.output.rstrip().split("\n")[-10:])
    return "\n".join(lines)


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def output_mismatch(fence: Fence, output: str) -> str | None:
    """pytest-codeblocks' expected-output check: the next fence must equal what this one printed."""
    if fence.expected_output is None:
        return None
    expected, actual = fence.expected_output, output
    if fence.expected_output_ignore_whitespace:
        expected, actual = re.sub(r"\s+", "", expected), re.sub(r"\s+", "", actual)
    if expected == actual:
        return None
    return f"expected output\n{fence.expected_output}\nbut it printed\n{output}"
