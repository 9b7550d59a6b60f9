"""lightcomp.drivers."""
