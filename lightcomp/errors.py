"""Exception family of lightcomp.

Every room raises a subclass of :class:`LightcompError` whose message says what
is wrong in words a technician can act on; the CLI prints that message on one
line and exits non-zero.
"""


class LightcompError(Exception):
    """Base of every error lightcomp raises on purpose."""


class ConfigError(LightcompError):
    """A configuration value (URL, environment variable, file) is unusable."""


class StoreError(LightcompError):
    """The store cannot be opened, migrated, read or written."""


class AnalysisInputError(LightcompError, ValueError):
    """Spectra or readings handed to the analysis core are unusable."""


class InstrumentError(LightcompError):
    """An instrument did not answer, answered garbage, or reported an error."""


class PlanError(LightcompError):
    """A station configuration or test plan is invalid."""


class CalibrationError(LightcompError):
    """A calibration is missing, expired or inconsistent."""


class CodeError(LightcompError, ValueError):
    """A product code is malformed, fails its check character, or is unknown."""


class ReportError(LightcompError):
    """A report or export cannot be produced (unknown lot, empty selection...)."""
