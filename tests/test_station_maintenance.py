"""Maintained digits of the photometric code from a family's LM-80 data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from lightcomp.analysis.photometric_code import parse_photometric_code, photometric_code
from lightcomp.errors import PlanError
from lightcomp.station.runner import family_maintenance

DEMO = Path(__file__).resolve().parents[1] / "station" / "registry" / "demo.toml"


def test_no_lm80_gives_dashes():
    steps, frac = family_maintenance(None, "F")
    assert np.isnan(steps) and np.isnan(frac)
    code = photometric_code(
        np.array([92.0]), np.array([3000.0]), np.array([2.4]), np.array([steps]), np.array([frac])
    )[0]
    assert code.endswith("--")


def test_demo_family_lm80_gives_full_code():
    fams = {f["name"]: f for f in tomllib.loads(DEMO.read_text())["family"]}
    lm80 = fams["LM1-AC-3000"]["lm80"]
    steps, frac = family_maintenance(lm80, "LM1-AC-3000")
    # 25 % of 25 000 h = 6250 h, capped at 6000 h: the last LM-80 reading, averaged
    flux = np.asarray(lm80["flux"], float)
    assert frac == pytest.approx(np.mean(flux[:, -1] / flux[:, 0]), rel=1e-12)
    code = photometric_code(
        np.array([92.0]), np.array([3000.0]), np.array([2.4]), np.array([steps]), np.array([frac])
    )[0]
    fields = parse_photometric_code(code)
    assert code == "930/339"
    assert fields["maintained_macadam_steps"] == 3
    assert fields["lumen_maintenance_code"] == "9"


def test_broken_lm80_names_the_family():
    with pytest.raises(PlanError, match="'F1'.*rated_life_h"):
        family_maintenance({"hours": [0, 1000], "flux": [[1, 0.99]]}, "F1")
    with pytest.raises(PlanError, match="'F2'.*unusable"):
        family_maintenance({"hours": [0, 1000], "flux": [[1, 0.99]], "rated_life_h": 25000}, "F2")
