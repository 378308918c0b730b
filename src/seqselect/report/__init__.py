"""Reports of bake-offs: a self-contained HTML page with its plots."""

from seqselect.report.html import render_html, write_html

__all__ = ["render_html", "write_html"]
