"""Reports of finished sweeps: tables and plots read from result.json files only.

:func:`collect` gathers the trials, :func:`build_tables` chooses hyper-parameters
on validation and reads test numbers there (with t intervals over seeds and
paired comparisons, :mod:`.stats`), :func:`write_tables` and :func:`write_plots`
write CSV, LaTeX and PNG files, and :func:`write_html` the self-contained
index.html; :func:`write_report` does all of it (``peftsweep report``). The report
never imports training code: result files are its only input.
"""

from peftsweep.report.collect import Collection, Problem, collect
from peftsweep.report.html import write_html
from peftsweep.report.plots import write_plots
from peftsweep.report.render import display, markdown_report, write_tables
from peftsweep.report.tables import Tables, build_tables
from peftsweep.report.write import write_report

__all__ = [
    "Collection",
    "Problem",
    "Tables",
    "build_tables",
    "collect",
    "display",
    "markdown_report",
    "write_html",
    "write_plots",
    "write_report",
    "write_tables",
]
