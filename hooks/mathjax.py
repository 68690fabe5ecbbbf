"""MkDocs hook: serve MathJax from the installed `django-static-mathjax` package, not a CDN.

tex-svg-full.js is one self-contained file (every TeX extension, glyphs drawn as SVG paths),
so the built site typesets math with no network and no font files.
"""

from importlib.resources import files as package_files
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

MATHJAX = "assets/mathjax/tex-svg-full.js"  # where mkdocs.yml's extra_javascript expects it


def on_files(files: Files, config: MkDocsConfig) -> Files:
    source = Path(str(package_files("mathjax"))) / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    if not source.is_file():
        raise PluginError(f"MathJax not found at {source}: run `uv sync` to install it")
    files.append(File.generated(config, MATHJAX, abs_src_path=str(source)))
    return files
