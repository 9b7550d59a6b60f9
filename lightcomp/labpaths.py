"""Where the lab's data folders are.

Station files (``station/``) and calibration data (``calibration/``) are data,
not code: a lab keeps its own in its lab folder. The lab folder is
``$LIGHTCOMP_LAB`` if set, else the current directory or its nearest parent
holding both folders, else the demo lab shipped inside the package.

The shipped demo lab (:data:`PACKAGED_LAB`, ``lightcomp/labdata/``) has one home:
the repository's ``station/`` and ``calibration/`` folders. ``lightcomp/labdata/``
holds two symbolic links to them, which setuptools follows when it builds a wheel
(package data, ``[tool.setuptools.package-data]``), so ``pip install .`` copies the
files into the installed package and ``lightcomp demo`` runs from any folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from lightcomp.errors import ConfigError

LAB_ROOT_ENV = "LIGHTCOMP_LAB"
LAB_FOLDERS = ("station", "calibration")
"""The folders that make a lab folder (the README's layout)."""
PACKAGED_LAB = Path(__file__).resolve().parent / "labdata"
"""The demo lab shipped with the package (symbolic links to the repository's folders in a
source tree, copies in an installed wheel)."""


def _is_lab(folder: Path) -> bool:
    return all((folder / name).is_dir() for name in LAB_FOLDERS)


def _env_lab() -> Path | None:
    """``$LIGHTCOMP_LAB`` when set (checked), else None."""
    env = os.environ.get(LAB_ROOT_ENV)
    if not env:
        return None
    root = Path(env).expanduser().resolve()
    if _is_lab(root):
        return root
    raise ConfigError(f"{LAB_ROOT_ENV}={env} has no station/ and calibration/ folders")


def packaged_lab() -> Path:
    """The demo lab shipped inside the package (raises when the installation lacks it)."""
    if _is_lab(PACKAGED_LAB):
        return PACKAGED_LAB
    raise ConfigError(
        f"the demo lab data is missing from the installed package ({PACKAGED_LAB}): "
        f"reinstall lightcomp, or set {LAB_ROOT_ENV}=/path/to/a/lab/folder"
    )


def demo_lab_root() -> Path:
    """The lab the demo runs on: ``$LIGHTCOMP_LAB`` if set, else the shipped demo lab.

    Not the current folder: a lab's own folder need not hold the demo's simulated
    station, plan and registry, and the demo must run from anywhere."""
    return _env_lab() or packaged_lab()


def lab_root(start: str | Path | None = None) -> Path:
    """The folder holding ``station/`` and ``calibration/`` (see module docstring)."""
    env = _env_lab()
    if env is not None:
        return env
    here = Path(start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if _is_lab(cand):
            return cand
    return packaged_lab()


def lab_path(*parts: str) -> Path:
    """A path inside the lab folder, e.g. ``lab_path("station", "sim.toml")``."""
    return lab_root().joinpath(*parts)
