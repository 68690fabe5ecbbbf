"""Types everywhere, checked strictly, and one code style: snippets, tests, hooks and scripts."""

import subprocess
import sys

import course

CHECKED = ["snippets", "tests", "hooks", "scripts"]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=course.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mypy_strict() -> None:
    done = run("mypy", "--strict", *CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_lint() -> None:
    done = run("ruff", "check", *CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run("ruff", "format", "--check", *CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr
