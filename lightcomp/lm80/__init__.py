"""IES LM-80 lumen-maintenance campaigns (issue 16).

``campaign`` runs a campaign (start, interval measurements, stop: kill-safe,
one committed row per sample per interval); ``results`` turns the stored
readings into the LM-80 table, TM-21-11 projections per case temperature and
the chromaticity shift; ``rig`` reads the rig file and opens the (simulated)
lab. The TM-21 arithmetic itself is :mod:`lightcomp.analysis.lumen_maintenance`.
"""
