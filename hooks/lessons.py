"""Read a lesson as the reader sees it and run its fences: shared by the build hook and the tests.

A lesson is a Markdown page under docs/. Its snippet includes are expanded with the very
pymdown-extensions preprocessor the site uses, its fences are found by pytest-codeblocks (the
one fence parser of the course), and they run in order in one lesson kernel (lesson_kernel.py),
as the cells of a notebook do. `cached_run` is the one way a lesson runs, for the build and for
the tests alike: it keeps each lesson's results in .cache/lessons/ under a key that changes
whenever anything that could change them does.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import markdown
from filelock import FileLock
from pymdownx.snippets import SnippetPreprocessor
from pytest_codeblocks import extract_from_buffer

EXECUTED = ("python", "bash", "sh")  # what pytest-codeblocks collects, exactly these info strings
INERT = ("text", "quiz")  # shown, not run: printed text and listings; questions (quiz.py)
# The markers a fence may carry, written above it as <!--pytest.mark.NAME-->. Anything else,
# skipif and conditions included, is rejected: the build and the tests must agree on every one.
MARKS = {
    "pytest.mark.skip": "skip",  # shown, never run
    "pytest.mark.xfail": "xfail",  # must raise; the page shows the error
    "pytest.mark.machine_dependent": "machine_dependent",  # timings: masked in comparisons
}
HOOKS = Path(__file__).parent
KERNEL = HOOKS / "lesson_kernel.py"
PROJECT = HOOKS.parent
LESSON_TIMEOUT_S = float(os.environ.get("COURSE_LESSON_TIMEOUT", "180"))  # a whole lesson
STARTUP_TIMEOUT_S = 120.0  # for the kernel server to import torch, or a fresh kernel to start
OUTPUT_LIMIT = 1 << 20  # bytes one fence may print; the kernel is told, and stopped past it
# Fork kernels from the server where that is safe; on macOS start each one fresh.
FORK = os.environ.get("COURSE_KERNEL_FORK", "1" if sys.platform == "linux" else "0") != "0"

INCLUDE = re.compile(r"""^\s*-+8<-+\s+(?P<q>["'])(?P<target>.+?)(?P=q)\s*$""")
CODEBLOCKS_KEYWORD = re.compile(r"^\s*<!--[-\s]*pytest-codeblocks:(?P<keyword>.*?)[-\s]*-->\s*$")
CODEBLOCKS_USED = r"expected-output|expected-output-ignore-whitespace|importorskip\(.+\)"
TILDE_FENCE = re.compile(r"^[ \t]*~{3,}")


def _sources_hash() -> str:
    """The code that shapes a lesson's results, as loaded now: part of every cache key."""
    digest = hashlib.sha256()
    for name in ("lessons.py", "lesson_kernel.py", "capture_backend.py"):
        digest.update(name.encode() + b"\0" + (HOOKS / name).read_bytes())
    return digest.hexdigest()


SOURCES = _sources_hash()


def sources_changed() -> bool:
    """Whether that code was edited since this module was imported (under `mkdocs serve`)."""
    return _sources_hash() != SOURCES


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
    marks: tuple[str, ...] = ()  # values of MARKS
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
    seconds: float = 0.0  # inside the fence's code, measured by the kernel


@dataclass(frozen=True)
class Lesson:
    path: Path  # the Markdown file
    label: str  # the path shown in messages, relative to the project, with / on every OS
    expanded: str
    fences: tuple[Fence, ...]


@dataclass
class LessonOutcome:
    """What a lesson's fences did: one result per fence (None where skipped, or not reached)."""

    results: list[FenceResult | None]
    figure_dir: Path
    failure: str | None = None  # the first unexpected failure, naming page and snippet lines
    failed_at: int | None = None  # its index in lesson.fences
    from_cache: bool = False

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results if r is not None)


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


# --- Finding fences: pytest-codeblocks is the one parser ---------------------------------------


def code_blocks(text: str, label: str = "page") -> list[Any]:
    """Every fence pytest-codeblocks finds, with the markers it reads above each one. A page it
    cannot read, or a marker this course does not use, is a LessonError naming the line."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        keyword = CODEBLOCKS_KEYWORD.match(line)
        if keyword and not re.fullmatch(CODEBLOCKS_USED, keyword["keyword"]):
            raise LessonError(
                f"{label}:{number}: marker {line.strip()} is not used in this course; "
                f"use one of {', '.join(f'<!--{m}-->' for m in MARKS)}, "
                "<!--pytest-codeblocks:expected-output--> or importorskip(module)"
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # deprecated pytest-codeblocks keywords
            return list(extract_from_buffer(io.StringIO(text)))
    except (RuntimeError, Warning) as error:
        openings = [n for n, line in enumerate(lines, start=1) if line.lstrip().startswith("```")]
        where = f"{label}:{openings[-1]}" if openings else label
        raise LessonError(
            f"{where}: pytest-codeblocks cannot read this page ({error}); is a fence left unclosed?"
        ) from error


def fence_spans(text: str, label: str = "page") -> list[tuple[int, int, str]]:
    """(first line, last line, info string) of every backtick fence, expected outputs included."""
    keywordless = "\n".join(
        "" if CODEBLOCKS_KEYWORD.match(line) else line for line in text.split("\n")
    )
    return [
        (block.lineno, block.lineno + block.code.count("\n") + 1, block.syntax)
        for block in code_blocks(keywordless, label)
    ]


def enclosing_folds(lines: list[str], lineno: int) -> list[str]:
    """The ??? lines of the folded blocks that hold line `lineno` (1-based), innermost first."""
    indent = len(lines[lineno - 1]) - len(lines[lineno - 1].lstrip())
    folds = []
    for line in reversed(lines[: lineno - 1]):
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            indent = len(line) - len(line.lstrip())
            if line.lstrip().startswith("???"):
                folds.append(line.strip())
    return folds


WORDS_PER_MINUTE = 180  # careful reading of technical prose
CODE_LINES_PER_MINUTE = 15  # reading code closely (blank lines aside), not running it


def reading_minutes(text: str, label: str = "page") -> int:
    """Minutes to read a page with its includes expanded: its prose, and its code except the
    folded plotting code a reader may skip. Display math counts as prose, a word a symbol."""
    lines = text.split("\n")
    code_lines: set[int] = set()
    read_code = 0
    for first, last, _ in fence_spans(text, label):
        code_lines.update(range(first, last + 1))
        if not any("(plotting code)" in fold for fold in enclosing_folds(lines, first)):
            read_code += sum(1 for line in lines[first : last - 1] if line.strip())
    words = sum(len(line.split()) for n, line in enumerate(lines, 1) if n not in code_lines)
    return max(1, round(words / WORDS_PER_MINUTE + read_code / CODE_LINES_PER_MINUTE))


def fence_problems(text: str, label: str) -> list[str]:
    """Fences that would be shown but never run: pytest-codeblocks collects only exact
    `python`, `sh` and `bash` info strings and only backtick fences; anything else is an error."""
    problems = []
    inside: set[int] = set()
    for first, last, info in fence_spans(text, label):
        inside.update(range(first, last + 1))
        if info not in EXECUTED + INERT:
            problems.append(
                f"{label}:{first}: fence info string {info!r} is neither run nor allowed; "
                f"use exactly one of {', '.join(EXECUTED + INERT)}"
            )
    for number, line in enumerate(text.split("\n"), start=1):
        if number not in inside and TILDE_FENCE.match(line):
            problems.append(f"{label}:{number}: tilde fence; write it with backticks")
    return problems


def fence_marks(block: Any, label: str) -> tuple[str, ...]:
    unknown = [mark for mark in block.marks if mark not in MARKS]
    if unknown:
        raise LessonError(
            f"{label}:{block.lineno}: marker <!--{unknown[0]}--> is not used in this course; "
            f"use one of {', '.join(f'<!--{m}-->' for m in MARKS)}"
        )
    return tuple(MARKS[mark] for mark in block.marks)


def load_lesson(path: Path, preprocessor: SnippetPreprocessor, root: Path) -> Lesson:
    """Expand a page's includes and pair each executed fence with the line a reader edits."""
    label = (path.relative_to(root) if path.is_relative_to(root) else path).as_posix()
    raw = path.read_text(encoding="utf-8")
    expanded = expand(raw, preprocessor, label)
    problems = fence_problems(raw, label) or fence_problems(
        expanded, f"{label} (includes expanded)"
    )
    if problems:
        raise LessonError("\n".join(problems))
    raw_blocks = [b for b in code_blocks(raw, label) if b.syntax in EXECUTED]
    blocks = [b for b in code_blocks(expanded, label) if b.syntax in EXECUTED]
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
                marks=fence_marks(raw_block, label),
                importorskip=block.importorskip,
                expected_output=block.expected_output,
                expected_output_ignore_whitespace=block.expected_output_ignore_whitespace,
                sources=tuple(sources),
            )
        )
    return Lesson(path, label, expanded, tuple(fences))


def skipped(fence: Fence) -> bool:
    """Whether a fence is shown without running, in the build and the tests alike."""
    if "skip" in fence.marks:
        return True
    if fence.importorskip is not None:
        try:
            __import__(fence.importorskip)
        except ImportError:
            return True
    return False


# --- Kernels ------------------------------------------------------------------------------------


def kernel_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COURSE_KERNEL_SERVER", None)
    env["PYTHONPATH"] = str(HOOKS)  # for the capture backend, and nothing of the course
    env["MPLBACKEND"] = "module://capture_backend"
    # One thread per kernel: results that do not depend on the machine's core count, and
    # lessons that run side by side without fighting over cores.
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def kernel_command(mode: str, where: str) -> list[str]:
    return [sys.executable, "-X", "utf8", "-B", str(KERNEL), mode, where]


class KernelServer:
    """The process every kernel is forked from: it pays for importing torch once.

    One per process, started by the first kernel that needs it. A build or test run can hand
    its server to builds it starts through COURSE_KERNEL_SERVER. The server ends with the
    process that started it (its stdin closes).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None

    def address(self) -> str:
        shared = os.environ.get("COURSE_KERNEL_SERVER")
        if shared:
            return shared
        with self._lock:
            if self._process is None:
                self._folder = Path(tempfile.mkdtemp(prefix="course-kernels-"))
                with open(self._folder / "server.log", "wb") as log:
                    self._process = subprocess.Popen(
                        kernel_command("serve", str(self._folder / "server.sock")),
                        stdin=subprocess.PIPE,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=kernel_environment(),
                        start_new_session=True,  # Ctrl-C in a terminal stops the build, not it
                    )
            assert self._folder is not None
            return str(self._folder / "server.sock")

    def connect(self) -> socket.socket:
        address = self.address()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.connect(address)
                return client
            except (FileNotFoundError, ConnectionRefusedError):
                client.close()
            process = self._process
            if process is not None and process.poll() is not None:
                log = (self._folder or Path()) / "server.log"
                raise LessonError(
                    f"the kernel server exited with status {process.returncode}:\n"
                    + log.read_text(encoding="utf-8", errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise LessonError(f"no kernel server answered at {address}")
            time.sleep(0.05)

    def shared(self) -> dict[str, str]:
        """Environment for a build this process starts, so that it forks from this server."""
        return {"COURSE_KERNEL_SERVER": self.address()} if FORK else {}

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                assert process.stdin is not None
                process.stdin.close()  # the server's signal to end
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None


SERVER = KernelServer()


class Kernel:
    """One lesson's process: fences go in one at a time and share its namespace."""

    def __init__(self, figure_dir: Path, workdir: Path, fork: bool = FORK) -> None:
        if os.name == "nt":
            raise LessonError(
                "running the lessons needs Linux or macOS (on Windows, WSL); "
                "COURSE_EXECUTE=0 builds the site without running them"
            )
        handle, output = tempfile.mkstemp(prefix="lesson-output-", suffix=".txt")
        os.close(handle)
        self.output = Path(output)
        self.pid: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        if fork:
            ours = SERVER.connect()
        else:
            ours, theirs = socket.socketpair()
            with open(self.output, "ab") as written:
                self.process = subprocess.Popen(
                    kernel_command("fresh", str(theirs.fileno())),
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=written,
                    stderr=written,
                    env=kernel_environment(),
                    start_new_session=True,
                )
            theirs.close()
        self.channel = Connection(ours.detach())
        setup = {
            "workdir": str(workdir),
            "figure_dir": str(figure_dir),
            "output": output,
            "output_limit": OUTPUT_LIMIT,
        }
        self.channel.send(setup)
        hello = self._receive(STARTUP_TIMEOUT_S, 0)
        if not isinstance(hello, dict) or "pid" not in hello:
            self.close()
            raise LessonError(f"the lesson kernel did not start: {hello}")
        self.pid = hello["pid"]

    def _written(self, start: int) -> str:
        with open(self.output, "rb") as output:
            output.seek(start)
            return output.read(OUTPUT_LIMIT).decode("utf-8", errors="replace")

    def _receive(self, timeout_s: float, start: int) -> dict[str, Any] | str:
        """The kernel's next message, or why there is none: a problem in words."""
        deadline = time.monotonic() + timeout_s
        too_much = f"OutputLimit: the fence printed more than {OUTPUT_LIMIT} bytes; print less"
        while not self.channel.poll(0.1):
            if self.output.stat().st_size - start > OUTPUT_LIMIT:
                return too_much
            if time.monotonic() > deadline:
                return (
                    f"Timeout: still running when the lesson's time limit of "
                    f"{LESSON_TIMEOUT_S:.0f} s ran out (COURSE_LESSON_TIMEOUT sets it)"
                )
        try:
            reply: dict[str, Any] = self.channel.recv()
        except (EOFError, OSError):
            status = "" if self.process is None else f" with status {self.process.wait(5)}"
            return f"KernelDied: the lesson's Python process ended{status} before answering"
        if self.output.stat().st_size - start > OUTPUT_LIMIT:  # it printed fast, then answered
            return too_much
        return reply

    def run(self, fence: Fence, fence_name: str, timeout_s: float) -> FenceResult:
        start = self.output.stat().st_size
        request = {"code": fence.code, "syntax": fence.syntax, "filename": fence_name}
        try:
            self.channel.send(request)
        except OSError:
            reply: dict[str, Any] | str = "KernelDied: the lesson's Python process had ended"
        else:
            reply = self._receive(max(timeout_s, 0.0), start)
        if isinstance(reply, str):
            output = self._written(start)
            self.close()  # a kernel that failed this way cannot go on
            kind, message = reply.split(": ", 1)
            return FenceResult(False, output, error={"type": kind, "message": message})
        figures = [Figure(**f) for f in reply["figures"]]
        return FenceResult(
            reply["ok"], reply["output"], figures, reply.get("error"), reply["seconds"]
        )

    def close(self) -> None:
        """End the kernel and everything its fences started, at once."""
        if self.pid is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.process is not None:
            with suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(timeout=10)
        self.channel.close()
        self.output.unlink(missing_ok=True)


@contextmanager
def kernel(figure_dir: Path, fork: bool = FORK) -> Iterator[Kernel]:
    with tempfile.TemporaryDirectory(prefix="lesson-") as workdir:
        running = Kernel(figure_dir, Path(workdir), fork)
        try:
            yield running
        finally:
            running.close()


# --- Running a lesson: the one path for the build and the tests --------------------------------


def fence_filename(lesson: Lesson, fence: Fence) -> str:
    return f"{lesson.label}:{fence.lineno}"


FATAL = ("Timeout", "KernelDied", "OutputLimit")  # a kernel that cannot go on, xfail or not


def run_lesson(lesson: Lesson, figure_dir: Path, fork: bool = FORK) -> LessonOutcome:
    """Run the fences in order in one kernel; stop at the first unexpected failure."""
    outcome = LessonOutcome([None] * len(lesson.fences), figure_dir)
    deadline = time.monotonic() + LESSON_TIMEOUT_S  # for the whole lesson, not per fence
    with kernel(figure_dir, fork) as running:
        for index, fence in enumerate(lesson.fences):
            if skipped(fence):
                continue
            result = running.run(fence, fence_filename(lesson, fence), deadline - time.monotonic())
            outcome.results[index] = result
            error = result.error or {}
            problem = None
            if not result.ok and ("xfail" not in fence.marks or error.get("type") in FATAL):
                problem = describe_failure(lesson, fence, result)
            elif result.ok and "xfail" in fence.marks:
                problem = f"{fence_filename(lesson, fence)}: marked xfail, but it ran without error"
            else:
                if not result.ok:  # the lesson shows this error on purpose, as a notebook would
                    result.output += f"{error.get('type')}: {error.get('message')}\n"
                mismatch = output_mismatch(fence, result.output)
                if mismatch:
                    problem = f"{fence_filename(lesson, fence)}: {mismatch}"
            if problem:
                outcome.failure, outcome.failed_at = problem, index
                return outcome
    return outcome


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
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


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


# --- The cache: one entry per lesson and key, written whole or not at all ---------------------

# Environment variables that can change what a lesson computes or how its figures look. Not
# TORCHINDUCTOR_*: importing torch._dynamo sets one in the importing process, results aside.
RESULT_VARIABLES = re.compile(
    r"^(OMP_|MKL_|OPENBLAS_|KMP_|CUBLAS_|CUDA_|PYTORCH_|TORCH_|MPL|PYTHONHASHSEED$|PYTHONPATH$)"
)


def environment() -> dict[str, Any]:
    """Whatever changes a lesson's results without changing its code."""
    lock = PROJECT / "uv.lock"
    return {
        "sources": SOURCES,
        "python": sys.version,
        "platform": [platform.platform(), platform.machine()],
        "uv.lock": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else None,
        "packages": sorted(
            f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
        ),
        "variables": {
            name: value
            for name, value in sorted(kernel_environment().items())
            if RESULT_VARIABLES.match(name)
        },
        "fork": FORK,
    }


def cache_key(lesson: Lesson, settings: Mapping[str, Any]) -> str:
    content = {
        "environment": settings,
        "fences": [
            [f.code, f.syntax, f.marks, f.importorskip, skipped(f), f.expected_output]
            for f in lesson.fences
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _load(entry: Path) -> LessonOutcome:
    stored = json.loads((entry / "results.json").read_text(encoding="utf-8"))
    results: list[FenceResult | None] = [
        None
        if r is None
        else FenceResult(
            r["ok"], r["output"], [Figure(**f) for f in r["figures"]], None, r["seconds"]
        )
        for r in stored
    ]
    return LessonOutcome(results, entry, from_cache=True)


def cached_run(
    lesson: Lesson, cache_root: Path, settings: Mapping[str, Any] | None = None
) -> LessonOutcome:
    """The lesson's results from the cache, or from running it; only a clean run is kept.

    A lock per lesson makes a second build or test run wait, then read what the first wrote.
    Each entry is written to a temporary folder and renamed into place, so a reader sees a
    whole entry or none.
    """
    settings = environment() if settings is None else settings
    key = cache_key(lesson, settings)
    folder = cache_root / lesson.label.removesuffix(".md")
    entry = folder / key
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".lock"):
        if (entry / "results.json").exists():
            return _load(entry)
        scratch = Path(tempfile.mkdtemp(prefix=".running-", dir=folder))
        try:
            outcome = run_lesson(lesson, scratch)
            if outcome.failure is not None:
                return outcome  # figures are not needed: the build fails
            stored = [None if r is None else asdict(r) for r in outcome.results]
            (scratch / "results.json").write_text(json.dumps(stored), encoding="utf-8")
            # What the key was made of, besides the fences: to tell why a build missed.
            environment_json = json.dumps(settings, indent=1, sort_keys=True)
            (scratch / "environment.json").write_text(environment_json, encoding="utf-8")
            scratch.rename(entry)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for old in folder.iterdir():  # what earlier code or settings left
            if old.is_dir() and old != entry:
                shutil.rmtree(old, ignore_errors=True)
        outcome.figure_dir = entry
        return outcome


def masked(lesson: Lesson, outcome: LessonOutcome) -> list[tuple[str, list[bytes]]]:
    """Each fence's output and figure bytes, with what is marked machine_dependent masked: what
    every comparison of two runs of a lesson compares."""
    shown: list[tuple[str, list[bytes]]] = []
    for fence, result in zip(lesson.fences, outcome.results, strict=True):
        if result is None or "machine_dependent" in fence.marks:
            shown.append(("(masked)", []))
        else:
            figures = [(outcome.figure_dir / f.file).read_bytes() for f in result.figures]
            shown.append((result.output, figures))
    return shown
