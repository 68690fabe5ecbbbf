"""Time the build and the tests against the yardstick S: `uv run python scripts/benchmark.py`.

S is the wall time of one fresh Python that imports torch and matplotlib and makes its first
optimizer: what every lesson kernel would pay without the kernel server. Every target is a
ratio to S (or to the build's floor), measured in the same run, so the machine's speed cancels.
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hooks"))

import lessons  # noqa: E402  (after the path that finds it)

CACHE = ROOT / ".cache" / "lessons"
CORES = os.cpu_count() or 1
BUDGET_S = 20.0  # a lesson's own compute, at most
FIRST_LESSONS = 6  # the targets were set with Module 1's six lessons; later ones add compute
YARDSTICK = (
    "import torch, matplotlib.pyplot; "
    "torch.optim.SGD([torch.zeros(1, requires_grad=True)]).zero_grad()"
)
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def timed(command: list[str], **env: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**ENV, **env}, capture_output=True, text=True)
    if done.returncode != 0:  # a timing of a failed run means nothing: show why it failed
        tail = (done.stdout + done.stderr).splitlines()[-40:]
        sys.exit("\n".join([*tail, f"benchmark: {' '.join(command)} exited {done.returncode}"]))
    return time.perf_counter() - start


def forked_start_s() -> float:
    """Median time to fork a kernel from a running server, until it answers, and end it."""
    with tempfile.TemporaryDirectory() as folder:
        lessons.Kernel(Path(folder), Path(folder)).close()  # starts the server
        times = []
        for _ in range(10):
            start = time.perf_counter()
            lessons.Kernel(Path(folder), Path(folder)).close()
            times.append(time.perf_counter() - start)
    lessons.SERVER.close()
    return statistics.median(times)


def lesson_table() -> list[tuple[str, float, int, int]]:
    """(page, own compute in s, fences run, figures) from the cache the last build wrote."""
    nav = re.findall(r"^\s+- \".+\": (module-\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)
    rows = []
    for page in nav:
        entries = list((CACHE / "docs" / page.removesuffix(".md")).glob("*/results.json"))
        results = [r for r in json.loads(entries[0].read_text()) if r] if entries else []
        seconds = sum(r["seconds"] for r in results)
        rows.append((page, seconds, len(results), sum(len(r["figures"]) for r in results)))
    return rows


@contextmanager
def serving() -> Iterator[subprocess.Popen[str]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", address],
        cwd=ROOT,
        env={**ENV, "COURSE_SITE_URL": f"http://{address}/"},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_for(process: subprocess.Popen[str], pattern: str) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if re.search(pattern, line):
            return
    raise RuntimeError(f"mkdocs serve ended before printing {pattern!r}")


def serve_rebuild_s(snippet: Path, settle_s: float) -> float:
    """Seconds from editing one snippet to the end of `mkdocs serve`'s rebuild. The edit, a
    comment, lands inside the first section the page includes, so the lesson runs again."""
    original = snippet.read_text(encoding="utf-8")
    marker = original.index("\n", original.index("# --8<-- [start:")) + 1
    edited = original[:marker] + "# an edit\n" + original[marker:]
    with serving() as process:
        wait_for(process, r"Serving on")
        time.sleep(settle_s)  # the kernel server starts meanwhile, as while a reader reads
        try:
            start = time.perf_counter()
            snippet.write_text(edited, encoding="utf-8")
            wait_for(process, r"Documentation built in")
            return time.perf_counter() - start
        finally:
            snippet.write_text(original, encoding="utf-8")


def check(name: str, value: float, limit: float, unit: str) -> bool:
    verdict = "pass" if value <= limit else "FAIL"
    print(f"  {verdict}  {name:<44} {value:7.2f} {unit:<8} target <= {limit:.2f}")
    return value <= limit


def main() -> None:
    yardstick = statistics.median(timed([sys.executable, "-c", YARDSTICK]) for _ in range(3))
    with tempfile.TemporaryDirectory() as site:
        build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site]
        shutil.rmtree(CACHE, ignore_errors=True)
        cold = timed(build)
        table = lesson_table()
        warm = timed(build)
        floor = timed(build, COURSE_EXECUTE="0")
    fork = forked_start_s()
    edited = ROOT / "snippets" / "what_is_a_training_loop.py"
    rebuild = serve_rebuild_s(edited, settle_s=2 * yardstick)
    shutil.rmtree(CACHE, ignore_errors=True)  # the tests run every fence, as CI does
    tests = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])

    print(f"yardstick S (fresh torch + matplotlib + first optimizer): {yardstick:6.2f} s")
    print(f"start-up of one forked kernel:                            {fork:6.3f} s")
    print(f"cold build (cache empty):                                 {cold:6.1f} s")
    print(f"warm build (nothing changed):                             {warm:6.1f} s")
    print(f"build without execution (the floor):                      {floor:6.1f} s")
    print(f"mkdocs serve rebuild after editing {edited.name}: {rebuild:6.1f} s")
    print(f"full test run (cache empty):                              {tests:6.1f} s")
    print()
    print(f"{'lesson':<52} {'compute':>8} {'fences':>7} {'figures':>8}")
    for page, seconds, fences, figures in table:
        flag = "  over the 20 s budget" if seconds > BUDGET_S else ""
        print(f"{page:<52} {seconds:7.1f}s {fences:7d} {figures:8d}{flag}")
    compute = sum(row[1] for row in table)
    added = sum(row[1] for row in table[FIRST_LESSONS:]) / CORES
    edited_compute = next((row[1] for row in table if "what-is-a-training-loop" in row[0]), 0.0)
    print(f"{'all lessons':<52} {compute:7.1f}s")
    print()
    print(f"targets ({CORES} cores; added lessons' compute / cores = {added:.1f} s):")
    results = [
        check("forked kernel start-up / S", fork / yardstick, 0.3, "S"),
        check("cold build / S", cold / yardstick, 1.5 + added / yardstick, "S"),
        check("full test run / S", tests / yardstick, 12 + added / yardstick, "S"),
        check("warm build / floor", warm / floor, 1.3, "x floor"),
        check(
            "serve rebuild - floor - lesson compute",
            (rebuild - floor - edited_compute) / yardstick,
            0.5,
            "S",
        ),
        *(check(f"compute of {row[0]}", row[1], BUDGET_S, "s") for row in table),
    ]
    print("all targets met" if all(results) else "some targets missed")


if __name__ == "__main__":
    main()
