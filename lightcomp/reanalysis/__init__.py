"""Re-analysis of the archive: stored spectra through the current core, as new versions.

:mod:`~lightcomp.reanalysis.compute` is the pure chunk computation the engines run;
:mod:`~lightcomp.reanalysis.run` streams the store, runs an engine (in-process or Dask)
and writes the new rows.  See ``docs/reanalysis.md``.
"""
