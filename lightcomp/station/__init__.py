"""lightcomp.station."""
