"""Sphinx configuration: Markdown pages (MyST) and an API reference from numpydoc docstrings."""

project = "skhyper"
author = "the skhyper developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
numpydoc_show_class_members = False
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]  # links to files outside docs/ (CHANGELOG.md)
html_theme = "alabaster"
