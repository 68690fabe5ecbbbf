"""The lesson kernel holds up whatever a fence does, and each kernel is a clean program.

Every test here once failed: a stray write that swallowed the reply, a fence that read the
protocol pipe as stdin, a close that waited on a grandchild, output with no cap or that could
not be decoded, a namespace that could not pickle.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import course
import pytest
from lessons import (
    FORK,
    OUTPUT_LIMIT,
    Fence,
    FenceResult,
    Kernel,
    load_lesson,
    masked,
    run_lesson,
    snippet_preprocessor,
)


def run(tmp_path: Path, *fences: tuple[str, str], timeout_s: float = 60) -> list[FenceResult]:
    """Run (syntax, code) fences in order in one kernel, then close it."""
    kernel = Kernel(tmp_path, tmp_path)
    try:
        return [
            kernel.run(Fence(lineno=n, code=code, syntax=syntax), f"page.md:{n}", timeout_s)
            for n, (syntax, code) in enumerate(fences, start=1)
        ]
    finally:
        kernel.close()


def python(code: str) -> tuple[str, str]:
    return ("python", code)


def bash(code: str) -> tuple[str, str]:
    return ("bash", code)


def test_writes_past_sys_stdout_are_output_not_protocol(tmp_path: Path) -> None:
    printf, brace, after = run(
        tmp_path,
        python('import os\nos.system("printf x")\nprint("after")\n'),
        python("os.system(\"echo '{not json'\")\n"),
        python("print('still talking')\n"),
    )
    assert (printf.ok, printf.output) == (True, "xafter\n")
    assert (brace.ok, brace.output) == (True, "{not json\n")
    assert (after.ok, after.output) == (True, "still talking\n")


def test_fences_read_an_empty_stdin(tmp_path: Path) -> None:
    start = time.monotonic()
    asked, cat = run(tmp_path, python("input('your name? ')\n"), bash("cat\necho done\n"))
    assert time.monotonic() - start < 30  # not the time limit: stdin is empty, not the pipe
    assert not asked.ok
    assert asked.error is not None
    assert asked.error["type"] == "EOFError"
    assert "empty stdin" in asked.error["message"]
    assert (cat.ok, cat.output) == (True, "done\n")


def state_of(pid: int) -> str:
    """A process's state letter, or 'gone'; a killed child that no one reaped yet is 'Z'."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_closing_a_kernel_ends_what_its_fences_started(tmp_path: Path) -> None:
    kernel = Kernel(tmp_path, tmp_path)
    started = [
        "import subprocess\nforever = subprocess.Popen(['sleep', 'infinity'])\nprint(forever.pid)",
        "import subprocess\nlong = subprocess.Popen(['sleep', '20'])\nprint(long.pid)",
    ]
    pids = []
    for n, code in enumerate(started, start=1):
        result = kernel.run(Fence(lineno=n, code=code, syntax="python"), f"page.md:{n}", 60)
        assert result.ok, result.error
        pids.append(int(result.output))
    background = kernel.run(Fence(3, "sleep 30 &\necho $!\n", "bash"), "page.md:3", 60)
    pids.append(int(background.output))
    start = time.monotonic()
    kernel.close()
    assert time.monotonic() - start < 5
    deadline = time.monotonic() + 5
    while any(state_of(pid) not in ("gone", "Z") for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [state_of(pid) in ("gone", "Z") for pid in pids] == [True, True, True]


def test_output_is_capped(tmp_path: Path) -> None:
    start = time.monotonic()
    burst, endless = run(
        tmp_path, python(f"print('x' * {2 * OUTPUT_LIMIT})\n"), timeout_s=120
    ) + run(tmp_path, python("while True:\n    print('spam')\n"), timeout_s=120)
    assert time.monotonic() - start < 60  # stopped for its size, not at the time limit
    for result in (burst, endless):
        assert not result.ok
        assert result.error is not None
        assert result.error["type"] == "OutputLimit"
        assert len(result.output.encode()) <= OUTPUT_LIMIT


def test_odd_output_is_shown(tmp_path: Path) -> None:
    raw, undecodable = run(
        tmp_path,
        python("import sys\nsys.stdout.buffer.write(b'bytes\\n')\n"),
        bash(r"printf 'caf\xe9 ok\n'"),
    )
    assert (raw.ok, raw.output) == (True, "bytes\n")
    assert (undecodable.ok, undecodable.output) == (True, "caf\ufffd ok\n")


def test_the_time_limit_says_what_it_was_and_shows_the_output(tmp_path: Path) -> None:
    (hang,) = run(
        tmp_path, python("print('started', flush=True)\nimport time\ntime.sleep(60)\n"), timeout_s=2
    )
    assert not hang.ok
    assert hang.error is not None
    assert hang.error["type"] == "Timeout"
    assert "time limit of" in hang.error["message"]
    assert "COURSE_LESSON_TIMEOUT" in hang.error["message"]
    assert hang.output == "started\n"


def test_each_kernel_is_a_clean_program(tmp_path: Path) -> None:
    facts = (
        "import os, random, sys, warnings, torch\n"
        "print(__name__, os.getcwd(), os.environ['OMP_NUM_THREADS'], torch.get_num_threads())\n"
        "print(sys.flags.utf8_mode, hash('the training loop'), random.random())\n"
        "x = 1\n"
    )
    first, warned = run(tmp_path, python(facts), python("warnings.warn('a warning')\n"))
    second, unknown = run(tmp_path, python(facts), python("print(x)\n"), python("print(y)\n"))[::2]
    reference = subprocess.run(
        [sys.executable, "-c", "print(hash('the training loop'))"],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    name, cwd, omp, threads = first.output.split("\n")[0].split()
    assert (name, Path(cwd).resolve(), omp, threads) == ("__main__", tmp_path.resolve(), "1", "1")
    utf8, hashed, draw = first.output.split("\n")[1].split()
    assert (utf8, hashed) == ("1", reference)
    assert draw != second.output.split("\n")[1].split()[2]  # each kernel draws its own seed
    assert not warned.ok  # warnings are errors
    assert unknown.error is not None
    assert unknown.error["type"] == "NameError"  # namespaces are not shared between kernels


@pytest.mark.skipif(not FORK, reason="kernels start fresh here: nothing is preloaded")
def test_forked_kernels_find_torch_and_the_optimizer_machinery_loaded(tmp_path: Path) -> None:
    (loaded,) = run(tmp_path, python("import sys\nprint('torch._dynamo' in sys.modules)\n"))
    assert loaded.output == "True\n"


@pytest.mark.skipif(sys.platform != "linux", reason="lessons use fork contexts on Linux only")
def test_what_a_fence_defines_pickles_and_reaches_worker_processes(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        python(
            "import pickle\n"
            "import torch\n"
            "from torch.utils.data import DataLoader, Dataset\n\n"
            "class Squares(Dataset[torch.Tensor]):\n"
            "    def __len__(self) -> int:\n"
            "        return 8\n\n"
            "    def __getitem__(self, i: int) -> torch.Tensor:\n"
            "        return torch.tensor(float(i * i))\n\n"
            "print(len(pickle.loads(pickle.dumps(Squares()))))\n"
            "loader = DataLoader(Squares(), batch_size=4, num_workers=2,\n"
            "                    multiprocessing_context='fork')\n"
            "print(sum(batch.sum().item() for batch in loader))\n"
        ),
    )
    assert result.ok, result.error
    assert result.output == "8\n140.0\n"


def test_a_forked_kernel_and_a_fresh_one_show_the_same_lesson(tmp_path: Path) -> None:
    lesson = course.lesson(course.DOCS / "module-1" / "linear-regression.md")
    (tmp_path / "forked").mkdir()
    (tmp_path / "fresh").mkdir()
    forked = run_lesson(lesson, tmp_path / "forked", fork=True)
    fresh = run_lesson(lesson, tmp_path / "fresh", fork=False)
    assert forked.failure is None
    assert fresh.failure is None
    assert any(result and result.figures for result in forked.results)
    assert masked(lesson, forked) == masked(lesson, fresh)


def test_comparisons_mask_machine_dependent_fences_and_nothing_else(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Timing\n\n```python\nprint('same')\n```\n\n"
        "<!--pytest.mark.machine_dependent-->\n```python\nimport time\n"
        "print(time.perf_counter_ns())\n```\n",
        encoding="utf-8",
    )
    lesson = load_lesson(page, snippet_preprocessor({"base_path": [str(tmp_path)]}), tmp_path)
    assert [fence.marks for fence in lesson.fences] == [(), ("machine_dependent",)]
    one, two = run_lesson(lesson, tmp_path), run_lesson(lesson, tmp_path)
    assert one.results[1] is not None
    assert two.results[1] is not None
    assert one.results[1].output != two.results[1].output
    assert masked(lesson, one) == masked(lesson, two)
    assert masked(lesson, one)[0] == ("same\n", [])


def test_a_figure_too_small_to_read_on_a_phone_fails_its_fence(tmp_path: Path) -> None:
    """10 pt text on a 10-inch figure shrinks to about 4 px on a 390 px phone: refused, with
    the text, its size and the remedy; the same text on a 5.4-inch figure passes."""
    draw = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=({width}, 3))\n"
        "ax.set_xlabel('step')\n"
        "fig.set_label('a line')\n"
        "plt.show()\n"
    )
    wide, narrow = run(tmp_path, python(draw.format(width=10)), python(draw.format(width=5.4)))
    assert not wide.ok
    assert wide.error is not None
    assert "its text 'step' would be 4.4 px tall on a phone, under 8 px" in wide.error["message"]
    assert "stack side-by-side panels" in wide.error["message"]
    assert narrow.ok, narrow.error
    assert len(narrow.figures) == 1
