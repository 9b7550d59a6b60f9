"""lightcomp.analysis."""
