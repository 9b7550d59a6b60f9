"""lightcomp.station: station files, test plans, stabilisation, verdicts and the batch runner.

- :func:`~lightcomp.station.config.load_station` -> :class:`~lightcomp.station.config.StationConfig`
- :func:`~lightcomp.station.plan.load_plan` -> :class:`~lightcomp.station.plan.TestPlan`
- :class:`~lightcomp.station.runner.BatchRunner` (``run(count=N | serials=[...])``)
- :func:`~lightcomp.station.lab.calibrate`, :func:`~lightcomp.station.lab.simulated_station`

See ``docs/station.md``.
"""

from lightcomp.station.config import StationConfig, find_lab_root, load_station
from lightcomp.station.plan import QUANTITIES, TestPlan, load_plan

__all__ = ["QUANTITIES", "StationConfig", "TestPlan", "find_lab_root", "load_plan", "load_station"]
