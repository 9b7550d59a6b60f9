"""lightcomp.simlab."""
