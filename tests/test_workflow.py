"""The publishing workflow: valid against GitHub's workflow schema (bundled with
check-jsonschema, so the check runs offline), and doing what the README says it does."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from course import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
CHECK = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


def schema_errors(path: Path) -> str:
    assert CHECK, "check-jsonschema is not installed: uv sync"
    done = subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "" if done.returncode == 0 else done.stdout + done.stderr


def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_workflow_is_valid() -> None:
    assert schema_errors(WORKFLOW) == ""


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:")
    broken.write_text(text, encoding="utf-8")
    assert "runs-on" in schema_errors(broken) or "runs_on" in schema_errors(broken)


def test_workflow_tests_then_publishes_with_the_cache() -> None:
    found = steps()
    commands = "\n".join(step.get("run", "") for step in found)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = [
        line.split(" #")[0].strip().replace('"${uv[@]}"', "uv")
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").split("\n")
    ]
    for command in (
        "uv sync --locked --compile-bytecode",
        "uv run pytest\n",
        "uv run pytest -m slow",
    ):
        assert command in commands + "\n", command
    for command in ("uv run pytest", "uv run pytest -m slow"):
        assert command in readme, f"the README does not say {command!r}"
        assert command in ci, f".ci/run does not run {command!r}"
    cache = next(step for step in found if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".cache"  # where the lessons' results are kept
    deploy = found[-1]
    assert "mkdocs gh-deploy --strict" in deploy["run"]
    mkdocs_yml = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for variable in ("COURSE_SITE_URL", "COURSE_REPO_URL", "COURSE_EDIT_URI"):
        assert variable in deploy["env"]
        assert f"!ENV [{variable}," in mkdocs_yml, f"mkdocs.yml does not read {variable}"


def test_the_deploy_build_links_repository_edit_and_colab(tmp_path: Path) -> None:
    """Built as the workflow builds it (the code not run, which changes no link): the lessons
    offer Colab from gh-pages, and "edit this page" opens the page's source, the lab's too."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "COURSE_EXECUTE": "0",
        "COURSE_SITE_URL": "https://me.github.io/course/",
        "COURSE_REPO_URL": "https://github.com/me/course",
        "COURSE_EDIT_URI": "edit/main/docs/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lesson = (tmp_path / "module-1" / "linear-regression" / "index.html").read_text()
    colab = "https://colab.research.google.com/github/me/course/blob/gh-pages/module-1/"
    assert f'href="{colab}linear-regression.ipynb"' in lesson
    edit = "https://github.com/me/course/edit/main/docs/module-1/"
    assert f'href="{edit}linear-regression.md"' in lesson
    lab = (tmp_path / "module-1" / "lab" / "index.html").read_text()
    assert f'href="{edit}lab.py"' in lab
    assert f'href="{colab}lab/lab.ipynb"' in lab  # the copy beside the lab's page
    assert (tmp_path / "module-1" / "lab" / "lab.ipynb").is_file()
    assert 'class="md-source"' in lesson  # the header's link to the repository
