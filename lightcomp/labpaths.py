"""Where the lab's data folders are.

Station files (``station/``) and calibration data (``calibration/``) are data,
not code: they live in the lab folder (the repository root in this project),
not inside the installed package. The lab folder is ``$LIGHTCOMP_LAB`` if set,
else the current directory or its nearest parent holding both folders, else the
source tree this package was imported from (an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

from lightcomp.errors import ConfigError

LAB_ROOT_ENV = "LIGHTCOMP_LAB"
_SOURCE_TREE = Path(__file__).resolve().parents[1]


def _is_lab(folder: Path) -> bool:
    return (folder / "station").is_dir() and (folder / "calibration").is_dir()


def lab_root(start: str | Path | None = None) -> Path:
    """The folder holding ``station/`` and ``calibration/`` (see module docstring)."""
    env = os.environ.get(LAB_ROOT_ENV)
    if env:
        root = Path(env).expanduser().resolve()
        if _is_lab(root):
            return root
        raise ConfigError(f"{LAB_ROOT_ENV}={env} has no station/ and calibration/ folders")
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if _is_lab(cand):
            return cand
    if _is_lab(_SOURCE_TREE):
        return _SOURCE_TREE
    raise ConfigError(
        f"cannot find the lab folders station/ and calibration/ in {here} or its parents: "
        f"run from the lightcomp repository root or set {LAB_ROOT_ENV}=/path/to/it"
    )


def lab_path(*parts: str) -> Path:
    """A path inside the lab folder, e.g. ``lab_path("station", "sim.toml")``."""
    return lab_root().joinpath(*parts)
