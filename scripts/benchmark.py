"""Time the build and the tests: `uv run python scripts/benchmark.py`.

Prints the cold build (no cached lesson results), the warm build (nothing changed), the build
with execution switched off (the floor: MkDocs alone), and the full test run.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], **env: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as site:
        build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site]
        shutil.rmtree(ROOT / ".cache" / "lessons", ignore_errors=True)
        cold = timed(build)
        warm = timed(build)
        floor = timed(build, COURSE_EXECUTE="0")
    tests = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    print(f"cold build (cache empty):    {cold:6.1f} s")
    print(f"warm build (nothing changed): {warm:6.1f} s")
    print(f"build without execution:     {floor:6.1f} s  (warm is {warm / floor:.2f}x this floor)")
    print(f"full test run:               {tests:6.1f} s")


if __name__ == "__main__":
    main()
