"""lightcomp: test-data system for LED standard light components.

Data flows one way: instruments -> raw readings -> calibrated spectra ->
quantities (arrays) -> verdicts -> store -> reports / API.
"""


def __getattr__(name: str):
    # ``__version__`` reads the installed metadata on first use only (importlib.metadata
    # costs a noticeable part of a command's start-up).
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("lightcomp")
        except PackageNotFoundError:  # running from a source tree that is not installed
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'lightcomp' has no attribute {name!r}")
