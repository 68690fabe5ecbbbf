"""Types everywhere, checked strictly, and one code style: snippets, tests, hooks, scripts and
the labs."""

import ast
import subprocess
import sys
import tomllib
from importlib import metadata

import course
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CHECKED = ["snippets", "tests", "hooks", "scripts"]
# Every lab is a module named lab, so mypy checks each on its own.
LABS = [str(path.relative_to(course.ROOT)) for path in course.labs()]


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


def test_mypy_strict_on_each_lab() -> None:
    assert LABS, "no labs found"
    for lab in LABS:
        done = run("mypy", "--strict", lab)
        assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_lint() -> None:
    done = run("ruff", "check", *CHECKED, *LABS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = run("ruff", "format", "--check", *CHECKED, *LABS)
    assert done.returncode == 0, done.stdout + done.stderr


def requirement_closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements install here, transitively, extras left out."""
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        pending += [Requirement(text) for text in metadata.requires(name) or []]
    return found


def test_the_docs_group_installs_what_the_build_imports() -> None:
    """`uv sync --only-group docs` plus the course's dependencies must be enough to build."""
    project = tomllib.loads((course.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = requirement_closure(
        project["project"]["dependencies"] + project["dependency-groups"]["docs"]
    )
    hooks = course.ROOT / "hooks"
    own = {path.stem for path in hooks.glob("*.py")}
    imported: set[str] = set()
    for path in hooks.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - own - set(sys.stdlib_module_names)
    distributions = metadata.packages_distributions()
    for module in sorted(third_party):
        names = {canonicalize_name(name) for name in distributions[module]}
        assert names & installed, f"hooks import {module}, which the docs group does not install"
