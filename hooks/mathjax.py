"""MkDocs hook: serve MathJax from the installed `django-static-mathjax` package, not a CDN.

tex-svg-full.js is one self-contained file (every TeX extension, glyphs drawn as SVG paths),
so the built site typesets math with no network and no font files. Every page loads it once,
after javascripts/mathjax-config.js; the labs' pages (mkdocs-jupyter) would load it a second
time, before that configuration, so their copy of the script tag is dropped.
"""

import re
from importlib.resources import files as package_files
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MATHJAX = "assets/mathjax/tex-svg-full.js"  # where mkdocs.yml's extra_javascript expects it
NOTEBOOK_MATHJAX = re.compile(
    rf'<script src="{re.escape(MATHJAX)}">\s*</script>|'  # custom_mathjax_url in mkdocs.yml
    r'<script type="text/x-mathjax-config">.*?</script>',  # MathJax 2's settings, unused by 3
    re.DOTALL,
)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    source = Path(str(package_files("mathjax"))) / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    if not source.is_file():
        raise PluginError(f"MathJax not found at {source}: run `uv sync` to install it")
    files.append(File.generated(config, MATHJAX, abs_src_path=str(source)))
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return NOTEBOOK_MATHJAX.sub("", html) if 'class="jupyter-wrapper"' in html else html
