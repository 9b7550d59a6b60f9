"""lightcomp: test-data system for LED standard light components.

Data flows one way: instruments -> raw readings -> calibrated spectra ->
quantities (arrays) -> verdicts -> store -> reports / API.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lightcomp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
