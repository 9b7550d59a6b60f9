"""lightcomp.coding."""
