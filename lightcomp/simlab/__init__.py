"""The simulated lab: LED device model, simulated instruments on real wire protocols.

``SimLab.start(station_config)`` serves every configured instrument on a local
TCP port (raw SCPI socket or a serial stream for pyserial ``socket://``), all
backed by one physical model (:mod:`lightcomp.simlab.world`,
:mod:`lightcomp.simlab.device`); ``SimlabClock`` drives its virtual time.
"""

from lightcomp.simlab.clock import SimlabClock
from lightcomp.simlab.lab import SimLab

__all__ = ["SimLab", "SimlabClock"]
