"""Analysis versions: which method set produced a stored result.

A lab's records outlive its software (ISO/IEC 17025:2017 7.5, 7.8.8): every stored set
of analysed results names the *analysis version* that produced it, and re-analysis
(``lightcomp reanalyze``) stores results of a newer version as new rows beside the old.
This module is the one place where versions are defined: a short id, a description a
person can read on a certificate, and the methods and parameters that make it up.

Only :data:`CURRENT` can be computed by this code; older entries are kept so that the
ids stored with old results stay explained.  A change to any method or parameter
listed here (a CMF table, the locus, a CRI/TM-30 edition, a rounding rule) is a new
version: add an entry, make it :data:`CURRENT`, and re-analyse the archive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lightcomp.constants import KM_LM_PER_W, KM_SCOTOPIC_LM_PER_W
from lightcomp.errors import AnalysisInputError


@dataclass(frozen=True)
class AnalysisVersion:
    """One method set: ``id`` (stored with results), ``description``, ``methods``."""

    id: str
    description: str
    methods: Mapping[str, str] = field(default_factory=dict)
    computable: bool = False

    def summary(self) -> str:
        """``LC-2026.12 — <description>`` (certificates, API, reports)."""
        return f"{self.id} — {self.description}"


_COMMON = {
    "cmfs": "CIE 1931 2° colour-matching functions, 1 nm (CIE 015:2018); CIE 1964 10° for "
    "TM-30/CIE 224 colour samples",
    "photometry": f"Km = {KM_LM_PER_W} lm/W, K'm = {KM_SCOTOPIC_LM_PER_W} lm/W "
    "(lightcomp.constants)",
    "cct": "Ohno 2013 (CIE 015:2018 9.5) on the Planckian locus in CIE 1960 uv; "
    "CCT not reported beyond |Duv| 0.05",
    "cri": "CIE 13.3-1995, R1-R15",
    "tm30": "ANSI/IES TM-30-20 = CIE 224:2017 Rf, Rg, Rf,hj, Rcs,hj",
    "binning": "ANSI C78.377-2017 quadrangles; IEC 60081 / CIE TN 001 MacAdam steps",
    "photometric_code": "IEC 62717:2014+A1:2015 6-digit photometric code",
    "rounding": "no intermediate rounding; shown values rounded by the quantity catalogue",
}

VERSIONS: Mapping[str, AnalysisVersion] = MappingProxyType(
    {
        v.id: v
        for v in (
            AnalysisVersion(
                id="LC-2026.11",
                description="first build: Planckian locus from 380-780 nm CMFs; "
                "CIE 13.3 after Sprague resampling to 1 nm for every input grid",
                methods={
                    **_COMMON,
                    "photometry": "Km = 683 lm/W in analysis, 683.002 lm/W in calibration",
                    "locus": "Planckian locus from CIE 1931 CMFs 380-780 nm",
                    "cri_grid": "every input resampled to 1 nm (CIE 167 Sprague) first",
                    "photometric_code_rounding": "CCT digits rounded half to even",
                    "cct_validity": "CCT reported at any Duv",
                },
            ),
            AnalysisVersion(
                id="LC-2026.12",
                description="Planckian locus from the full 360-830 nm CIE tables; "
                "CIE 13.3 natively at 5 nm for 5 nm input; one Km; no CCT beyond |Duv| 0.05",
                methods={
                    **_COMMON,
                    "locus": "Planckian locus from CIE 1931 CMFs 360-830 nm (CIE 015:2018)",
                    "cri_grid": "5 nm input at 5 nm (CIE 13.3 sums); other grids at 1 nm",
                    "resampling": "CIE 167 Sprague (banded) for uniform grids, spline otherwise",
                    "reference_tables": "CIE 13.3/CIE 224 reference sides from a CCT table, "
                    "within 0.01 of the exact route (tested)",
                    "photometric_code_rounding": "CCT digits rounded half up",
                },
                computable=True,
            ),
        )
    }
)

#: The version this code computes.
CURRENT: AnalysisVersion = VERSIONS["LC-2026.12"]


def get_version(version_id: str | None) -> AnalysisVersion:
    """The version named ``version_id`` (None: :data:`CURRENT`); one-line error if unknown."""
    if version_id is None:
        return CURRENT
    v = VERSIONS.get(version_id.strip())
    if v is None:
        known = ", ".join(VERSIONS)
        raise AnalysisInputError(f"unknown analysis version {version_id!r} (known: {known})")
    return v


def computable_version(version_id: str | None) -> AnalysisVersion:
    """Like :func:`get_version`, but refuse a version this code cannot compute."""
    v = get_version(version_id)
    if not v.computable:
        raise AnalysisInputError(
            f"analysis version {v.id} is kept as a record of past methods; this lightcomp "
            f"computes {CURRENT.id}"
        )
    return v
