"""MkDocs hook: name the search dialog, which Material's template leaves without a name."""

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

SEARCH_DIALOG = 'class="md-search" data-md-component="search" role="dialog"'


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    if SEARCH_DIALOG not in output:
        return output
    return output.replace(SEARCH_DIALOG, SEARCH_DIALOG + ' aria-label="Search the course"', 1)
