"""The site follows the outline in CONTRIBUTING.md: the navigation, the home page and the README
agree."""

import re

import course

OUTLINE = {
    "1": [
        "Introduction: What is a Training Loop?",
        "The Simplest Case: Linear Regression",
        "Batch vs. Stochastic Gradient Descent",
        "Visualizing the Loss Landscape",
        "Numerical vs. Analytical Gradients",
        "Recap and Key Takeaways",
    ],
    "2": [
        "From Linear to Nonlinear: Why Neural Networks?",
        "Forward and Backward Passes",
        "Implementing a Simple Neural Net from Scratch",
        "The Role of Activations",
        "Mini-batching and Data Pipelines",
        "Regularization and Overfitting",
        "Recap: Comparing Our Simple Network with Linear Regression",
    ],
    "3": [
        "Optimization Algorithms Beyond SGD",
        "Learning Rate Scheduling",
        "Weight Initialization",
        "Deeper Networks and Backprop Challenges",
        "Large-Scale Training: Data Parallelism and Hardware",
        "Monitoring and Debugging the Training Loop",
        "Modern Regularization and Generalization Techniques",
        "The Training Loop in Practice: Case Studies",
        "Conclusion: What's Next After the Training Loop?",
    ],
}
NUMBERED = [f"{m}.{i} {t}" for m, titles in OUTLINE.items() for i, t in enumerate(titles, start=1)]


def test_navigation_follows_the_outline_in_order() -> None:
    pages = [(title, path) for title, path in course.nav_pages() if path != "index.md"]
    titles = [title for title, path in pages if path.endswith(".md")]
    assert titles == NUMBERED[: len(titles)], "lessons are written and listed in outline order"
    for n, (title, path) in enumerate(pages):
        if path.endswith("/lab.ipynb"):  # a module's lab comes after its last lesson
            module = path.split("/")[0].removeprefix("module-")
            assert title == f"Module {module} lab"
            assert pages[n - 1][0].startswith(f"{module}.{len(OUTLINE[module])} ")
        else:
            assert path.startswith(f"module-{title.split('.')[0]}/"), path


def test_home_page_lists_every_lesson_linking_only_written_ones() -> None:
    home = (course.DOCS / "index.md").read_text(encoding="utf-8")
    written = {
        path: title.split(" ", 1)[1]
        for title, path in course.nav_pages()
        if path != "index.md" and path.endswith(".md")
    }
    items = re.findall(r"^\d+\. (.+)$", home.split("## The outline", 1)[1], flags=re.MULTILINE)
    shown = []
    for item in items:
        link = re.fullmatch(r"\[(.+)\]\((.+)\)", item)
        if link:
            assert written.get(link[2]) == link[1], f"{item} links to a page not in the nav"
            shown.append(link[1])
        else:
            assert item not in written.values(), f"{item} is written: link it"
            shown.append(item)
    assert shown == [t for titles in OUTLINE.values() for t in titles]


def test_readme_lesson_table_lists_every_lesson() -> None:
    readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d\.\d) \| (.+?) \|", readme, flags=re.MULTILINE)
    assert [f"{number} {title.strip('[]').split('](')[0]}" for number, title in rows] == NUMBERED
