"""lightcomp.reports."""
