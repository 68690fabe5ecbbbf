"""The course as the tests see it: its config, its pages, its lessons with includes expanded, and
what their fences did (run once per test session, through the build's cache)."""

import re
from functools import cache
from pathlib import Path
from typing import Any

import notebooks
from lessons import (
    Lesson,
    LessonOutcome,
    cached_run,
    environment,
    load_lesson,
    snippet_preprocessor,
)
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from pymdownx.snippets import SnippetPreprocessor

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
CACHE = ROOT / ".cache" / "lessons"  # the build's cache: the tests fill it, the build reads it


@cache
def config() -> MkDocsConfig:
    return load_config(str(ROOT / "mkdocs.yml"))


@cache
def preprocessor() -> SnippetPreprocessor:
    settings = dict(config().mdx_configs["pymdownx.snippets"])
    settings["base_path"] = [str(ROOT / base) for base in settings["base_path"]]
    return snippet_preprocessor(settings)


def nav_pages() -> list[tuple[str, str]]:
    """(title, path under docs/) for every page in the navigation, in order."""

    def walk(items: list[Any]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for item in items:
            for title, target in item.items():
                found += walk(target) if isinstance(target, list) else [(title, target)]
        return found

    return walk(config().nav or [])


def lesson_paths() -> list[Path]:
    """The lesson pages: every Markdown page in the navigation but the home page."""
    return [DOCS / path for _, path in nav_pages() if path != "index.md" and path.endswith(".md")]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def labs() -> list[Path]:
    """Each module's lab: docs/module-N/lab.py, a notebook in percent format."""
    return sorted(DOCS.rglob(notebooks.LAB))


@cache
def lesson(path: Path) -> Lesson:
    """A lesson page, or a lab: each runs in the build's kernel, through its cache."""
    if path.name == notebooks.LAB:
        return notebooks.load_lab(path, ROOT)
    return load_lesson(path, preprocessor(), ROOT)


@cache
def outcome(path: Path) -> LessonOutcome:
    """The lesson's fences run in order, as the build runs them, and stored where it looks."""
    return cached_run(lesson(path), CACHE, settings())


def printed(path: Path) -> str:
    """Everything a lesson's or lab's code printed when the build ran it."""
    return "".join(result.output for result in outcome(path).results if result)


def printed_number(pattern: str, text: str) -> float:
    """The number that `pattern`'s first group finds in printed `text`."""
    found = re.search(pattern, text)
    assert found, f"not printed: {pattern}"
    return float(found[1])


@cache
def settings() -> dict[str, Any]:
    return environment()


def flat_text(path: Path) -> str:
    """A page's Markdown with every run of whitespace made one space, so that a test finds a
    sentence wherever the page breaks its lines."""
    return " ".join(path.read_text(encoding="utf-8").split())
