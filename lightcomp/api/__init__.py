"""lightcomp.api."""
