"""Reports: paper-style tables (Markdown/LaTeX/CSV), plots and a self-contained HTML report.

`build_report(run_dirs, out_dir, formats, profile_dir=None, store=None) -> Path` is the entry
point (`ffbench report` and the demo call it); report/ reads run dirs and the results store,
never the models.
"""
from .builder import FORMATS, build_report

__all__ = ["build_report", "FORMATS"]
