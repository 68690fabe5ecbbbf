"""Every page in headless Chromium, at phone, tablet and desktop widths, in the light and the
dark theme: math typeset, visible and readable by a screen reader, images loaded and no wider
than the screen, no sideways scrolling, no serious accessibility problem (axe-core), no console
error, and no request that leaves the local server (no CDN for math, fonts or anything else).

The browser is COURSE_CHROMIUM if set, else a Chromium or Chrome on the PATH, else the one
Playwright installs (`uv run playwright install chromium`). Without one the tests skip, except
under CI, where they fail.
"""

import contextlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin

import course
import lessons
import nbformat
import pytest
import quiz
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError


def find_chromium() -> str | None:
    """A browser to drive, or None for Playwright's own (which may not be installed)."""
    if os.environ.get("COURSE_CHROMIUM"):
        return os.environ["COURSE_CHROMIUM"]
    names = ("chromium", "chromium-browser", "google-chrome", "chrome")
    return next((found for name in names if (found := shutil.which(name))), None)


def playwright_has_chromium() -> bool:
    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path).exists()


CHROMIUM = find_chromium()
FOUND = CHROMIUM is not None or playwright_has_chromium()
# As root, in a sandbox without network: no sandbox, no GPU, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NOT_FOUND = (
    "no Chromium found: set COURSE_CHROMIUM, install one (Debian: apt-get install chromium) "
    "or run `uv run playwright install chromium`; .ci/run installs it"
)
if not FOUND and os.environ.get("CI"):
    raise RuntimeError(NOT_FOUND)  # CI must run the browser tests, never skip them
pytestmark = [pytest.mark.skipif(not FOUND, reason=NOT_FOUND), pytest.mark.xdist_group("browser")]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    executed = [path for path in course.pages() + course.labs() if course.lesson(path).fences]
    for path in executed:  # run here, or wait for the worker that is running them
        assert course.outcome(path).failure is None, course.outcome(path).failure
    site_dir = tmp_path_factory.mktemp("site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site_dir)))
    address = f"http://127.0.0.1:{server.server_address[1]}/"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=course.ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "COURSE_SITE_URL": address},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ran = f"lessons: {len(executed)} from the cache, 0 run"
    assert ran in done.stderr, "the build ran lessons the tests had run already"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield address
    server.shutdown()
    server.server_close()


AXE = Axe()  # axe-core, the standard accessibility checker, bundled: nothing is downloaded
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")  # as the reader's system
WIDTHS = (390, 768, 1280)  # a phone, a tablet, a desktop


@pytest.fixture(scope="session")
def browsers() -> Iterator[dict[str, BrowserContext]]:
    """One browser context per theme, shared by every page, so that MathJax is fetched once."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts: dict[str, BrowserContext] = {
            scheme: launched.new_context(color_scheme=scheme) for scheme in SCHEMES
        }
        for context in contexts.values():
            # The largest pages (the labs) took over Playwright's 30 s to load on a busy machine:
            # what is tested here is how a page renders, not how fast.
            context.set_default_navigation_timeout(90_000)
        yield contexts
        for context in contexts.values():
            context.close()
        launched.close()


@pytest.fixture(scope="session")
def browser(browsers: dict[str, BrowserContext]) -> BrowserContext:
    return browsers["light"]


def url_of(path: Path) -> str:
    relative = path.relative_to(course.DOCS).with_suffix("")
    return "" if relative.name == "index" else f"{relative.as_posix()}/"


ALL_MATH_TYPESET = """() => {
  const math = [...document.querySelectorAll('.arithmatex')];
  const notebook = [...document.querySelectorAll('.jp-MarkdownOutput')];
  return math.every(element => element.querySelector('mjx-container'))
    && notebook.every(element => !/\\$/.test(element.textContent.replace(/\\s+/g, '')));
}"""
# A lab's Markdown (mkdocs-jupyter) has no .arithmatex: its math is typeset where it stands.
NOTEBOOK_MATH = (
    """() => [...document.querySelectorAll('.jp-MarkdownOutput mjx-container')].length"""
)
BROKEN_IMAGES = """() => [...document.images]
  .filter(image => !image.complete || image.naturalWidth === 0)
  .map(image => image.getAttribute('src'))"""
# A display formula whose svg renders at 1 px is there but invisible (it happened below 720 px).
INVISIBLE_DISPLAY_MATH = """() => [...document.querySelectorAll('div.arithmatex')]
  .filter(element => {
    const svg = element.querySelector('mjx-container svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return box.width < 4 || box.height < 4;
  })
  .map(element => element.textContent.trim().slice(0, 60))"""
TOO_WIDE_IMAGES = """() => [...document.images]
  .filter(image => image.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(image => image.getAttribute('src'))"""
SIDEWAYS_SCROLL = """() => {
  const root = document.documentElement;
  return root.scrollWidth - root.clientWidth;
}"""
THEME = """() => document.body.getAttribute('data-md-color-scheme')"""
# The kernel fails a figure whose text would be too small at the width it is drawn on a phone;
# a page must not draw it narrower (the labs' notebook padding once did: 286 px).
PHONE_FIGURE_PX = int(
    re.search(r"^PHONE_FIGURE_PX = (\d+)", lessons.KERNEL.read_text(encoding="utf-8"), re.M)[1]  # type: ignore[index]
)
NARROW_FIGURES = """(least) => [...document.querySelectorAll('article img')]
  .filter(image => image.getBoundingClientRect().width < Math.min(image.naturalWidth, least) - 0.5)
  .map(image => image.getAttribute('alt').slice(0, 60))"""


# One xdist group (one worker, one site build) per theme, so that the two run side by side.
@pytest.mark.parametrize(
    "scheme", [pytest.param(s, marks=pytest.mark.xdist_group(f"browser-{s}")) for s in SCHEMES]
)
@pytest.mark.parametrize("path", course.pages() + course.labs(), ids=lambda p: url_of(p) or "home")
def test_page_renders_offline_at_every_width(
    browsers: dict[str, BrowserContext], site: str, path: Path, scheme: str
) -> None:
    """Loaded on a phone-sized screen, then widened to a tablet and a desktop: the layout
    (CSS media queries, Material's viewport observers) follows each width as on a fresh load,
    and one load per page and theme keeps the test fast."""
    page = browsers[scheme].new_page()
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    errors: list[str] = []
    outside: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_request(route: Route) -> None:
        if route.request.url.startswith(site):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", on_request)
    page.goto(site + url_of(path), wait_until="load")
    page.wait_for_function(ALL_MATH_TYPESET, timeout=30_000)

    math = page.locator(".arithmatex").count() + page.evaluate(NOTEBOOK_MATH)
    if path in course.lesson_paths() + course.labs():
        assert math > 0, "a lesson without math: is arithmatex (or the labs' MathJax) configured?"
    assert page.locator("mjx-container").count() >= math
    assert page.locator("mjx-merror").count() == 0, "MathJax could not typeset some math"
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.evaluate(THEME) == ("slate" if scheme == "dark" else "default")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(100)  # let the layout settle
        # Under load a layout can lag a resize longer; a real overflow stays, so the assertion
        # below still fails once the wait runs out.
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function(f"({SIDEWAYS_SCROLL})() <= 0", timeout=3_000)
        at = f"at {width} px, {scheme}"
        assert page.evaluate(INVISIBLE_DISPLAY_MATH) == [], f"display math not visible {at}"
        assert page.evaluate(TOO_WIDE_IMAGES) == [], f"an image wider than the screen {at}"
        assert page.evaluate(SIDEWAYS_SCROLL) <= 0, f"the page scrolls sideways {at}"
        if width == WIDTHS[0]:
            narrow = page.evaluate(NARROW_FIGURES, PHONE_FIGURE_PX)
            assert narrow == [], f"figures drawn under {PHONE_FIGURE_PX} px wide {at}"
    # Formulas are read out from MathJax's hidden MathML copy (no speech files from a CDN).
    assert page.locator("mjx-container mjx-assistive-mml").count() == math
    serious = [
        f"{violation['id']} ({violation['impact']}): {len(violation['nodes'])} nodes, "
        f"first {violation['nodes'][0]['target']}"
        for violation in AXE.run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"accessibility, {scheme}: {serious}"
    assert errors == []
    assert outside == []
    page.close()


def test_instant_navigation_typesets_the_next_page(browser: BrowserContext, site: str) -> None:
    page = browser.new_page()
    page.goto(site, wait_until="networkidle")
    page.evaluate("window.stillTheSameDocument = true")
    lesson = course.lesson_paths()[-1]
    page.click(f"article a[href$='{url_of(lesson)}']")  # instant navigation makes links absolute
    page.wait_for_url(site + url_of(lesson))
    # the address changes before the new content is in: wait for the content, then its math
    page.wait_for_function(
        "document.querySelectorAll('article .arithmatex').length > 0", timeout=30_000
    )
    page.wait_for_function(ALL_MATH_TYPESET, timeout=30_000)
    assert page.locator(".arithmatex mjx-container").count() > 0
    assert page.evaluate("window.stillTheSameDocument === true"), "navigation reloaded the page"
    page.close()


def test_solutions_are_folded_and_printing_opens_them(browser: BrowserContext, site: str) -> None:
    """Try first: a solution starts closed, opens on click with its output inside, and the
    print view (Material opens every fold on beforeprint) shows it unfolded."""
    page = browser.new_page()
    page.goto(site + url_of(course.lesson_paths()[1]), wait_until="load")
    solutions = page.locator("details.success")
    assert solutions.count() >= 1
    assert page.evaluate("[...document.querySelectorAll('details.success')].every(d => !d.open)")
    first = solutions.first
    assert not first.locator("pre").first.is_visible()
    first.locator("summary").first.click()
    assert first.locator("pre").first.is_visible()
    assert first.get_by_text("Output").first.is_visible()  # what the solution printed
    first.locator("summary").first.click()
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_function("[...document.querySelectorAll('details')].every(d => d.open)")
    page.close()


@pytest.mark.parametrize("path", course.lesson_paths(), ids=url_of)
def test_facts_under_the_title(browser: BrowserContext, site: str, path: Path) -> None:
    """The build writes the reading time, the code's run time and the versions it ran with."""
    page = browser.new_page()
    page.goto(site + url_of(path), wait_until="load")
    facts = page.locator("article h1 + p.lesson-facts").inner_text()
    text = lessons.expand(path.read_text(encoding="utf-8"), course.preprocessor(), path.name)
    minutes = lessons.reading_minutes(text, path.name)
    torch_version = importlib.metadata.version("torch")
    assert facts.startswith(f"About {minutes} minutes to read · its code ran in ")
    assert re.search(r"ran in (\d+\.\d s|under 0\.1 s) when this page was built", facts)
    assert facts.endswith(
        f"verified with torch {torch_version} and Python {platform.python_version()}"
    )
    page.close()


def fetch_notebook(page: Page, href: str | None) -> nbformat.NotebookNode:
    assert href, "no link to the notebook"
    response = page.request.get(urljoin(page.url, href))
    assert response.ok, f"{href}: HTTP {response.status}"
    notebook: nbformat.NotebookNode = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(notebook)
    return notebook


def code_sources(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", course.lesson_paths(), ids=url_of)
def test_lesson_offers_its_notebook(browser: BrowserContext, site: str, path: Path) -> None:
    """Under the facts, a link downloads the lesson's notebook: its code is the page's. The
    offline build knows no repository, so it offers no Colab link (test_notebooks checks one)."""
    page = browser.new_page()
    page.goto(site + url_of(path), wait_until="load")
    line = page.locator("article h1 + p.lesson-facts + p.lesson-run")
    assert line.inner_text().startswith("Run it yourself: download this lesson as a notebook")
    notebook = fetch_notebook(page, line.locator("a[download]").get_attribute("href"))
    assert code_sources(notebook) == [f.code.rstrip("\n") for f in course.lesson(path).fences]
    assert line.locator("a", has_text="Colab").count() == 0
    page.close()


@pytest.mark.parametrize("path", course.labs(), ids=url_of)
def test_lab_offers_its_notebook_with_outputs(
    browser: BrowserContext, site: str, path: Path
) -> None:
    """The lab's page has a download button for the executed notebook; its figures carry their
    alt text; its script is on the site too."""
    page = browser.new_page()
    page.goto(site + url_of(path), wait_until="load")
    button = page.locator("a.md-content__button[download]")
    notebook = fetch_notebook(page, button.get_attribute("href"))
    lab, outcome = course.lesson(path), course.outcome(path)
    assert code_sources(notebook) == [f.code.rstrip("\n") for f in lab.fences]
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell, result in zip(cells, outcome.results, strict=True):
        assert result is not None
        printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
        assert printed == result.output
    alts = [figure.alt for result in filter(None, outcome.results) for figure in result.figures]
    shown = page.locator(".jupyter-wrapper img").evaluate_all("els => els.map(e => e.alt)")
    assert shown == [" ".join(alt.split()) for alt in alts]
    script = page.request.get(urljoin(page.url, f"../{path.name}"))
    assert script.ok
    assert script.text() == path.read_text(encoding="utf-8")
    page.close()


def quiz_page(kind: str) -> Path:
    """The first lesson with a question of this kind: 'options' or 'match'."""
    for path in course.lesson_paths():
        questions = [
            quiz.parse(source) for _, source in quiz.quiz_fences(path.read_text(encoding="utf-8"))
        ]
        if any(question.options if kind == "options" else question.pairs for question in questions):
            return path
    raise AssertionError(f"no lesson has a {kind} question")


def test_choice_questions_answer_back_by_mouse_and_keyboard(
    browser: BrowserContext, site: str
) -> None:
    page = browser.new_page()
    page.goto(site + url_of(quiz_page("options")), wait_until="load")
    question = page.locator(".quiz:has(.quiz-option)").first
    wrong = question.locator('.quiz-option[data-correct="false"]').first
    right = question.locator('.quiz-option[data-correct="true"]').first

    def feedback_of(option: Locator) -> Locator:
        return page.locator(f"#{option.get_attribute('aria-describedby')}")

    assert not feedback_of(wrong).is_visible()
    wrong.click()  # by mouse
    assert feedback_of(wrong).is_visible()
    assert feedback_of(wrong).inner_text().startswith("Not quite.")
    assert "quiz-wrong" in (wrong.get_attribute("class") or "")
    right.focus()  # by keyboard
    page.keyboard.press("Enter")
    assert feedback_of(right).inner_text().startswith("Right.")
    assert "quiz-right" in (right.get_attribute("class") or "")
    page.close()


def test_matching_by_click_keyboard_and_drag(browser: BrowserContext, site: str) -> None:
    page = browser.new_page()
    page.goto(site + url_of(quiz_page("match")), wait_until="load")
    question = page.locator(".quiz:has(.quiz-term)").first
    terms = question.locator(".quiz-term")
    feedback = question.locator(".quiz-feedback")
    count = terms.count()

    def definition_of(term_index: int, right: bool = True) -> Locator:
        pair = terms.nth(term_index).get_attribute("data-pair")
        selector = (
            f'.quiz-definition[data-pair="{pair}"]'
            if right
            else (f'.quiz-definition:not([data-pair="{pair}"])')
        )
        return question.locator(selector).first

    terms.nth(0).click()  # a wrong pair first, by mouse
    definition_of(0, right=False).click()
    assert feedback.inner_text().startswith("Not a match")
    definition_of(0).click()  # then the right one
    assert feedback.inner_text().startswith("Right")
    terms.nth(1).focus()  # by keyboard
    page.keyboard.press("Space")
    definition_of(1).focus()
    page.keyboard.press("Enter")
    assert definition_of(1).is_disabled()
    for n in range(2, count):  # by dragging
        terms.nth(n).drag_to(definition_of(n))
    assert feedback.inner_text() == "Right: all matched."
    assert question.locator(".quiz-right").count() == 2 * count
    page.close()


def test_questions_read_without_javascript(browser: BrowserContext, site: str) -> None:
    """Without JavaScript, every question shows its options and, folded, its answer and reasons."""
    assert browser.browser is not None
    context = browser.browser.new_context(java_script_enabled=False)
    for path in course.lesson_paths():
        written = path.read_text(encoding="utf-8").count("```quiz\n")
        page = context.new_page()
        page.goto(site + url_of(path), wait_until="load")
        quizzes = page.locator(".quiz")
        assert quizzes.count() == written
        for n in range(written):
            question = quizzes.nth(n)
            assert question.locator(".quiz-question").is_visible()
            answer = question.locator("details.quiz-answer")
            assert not answer.locator("li").first.is_visible()  # folded: try first
            answer.locator("summary").click()
            assert answer.locator("li").first.is_visible()
        page.close()
    context.close()
