"""The laboratory's identity (name, address, accreditation): one rule for every surface.

Certificates, the API's records and TM-27 files and the portal all name the
laboratory from :func:`lab_identity`, in this order: an explicit lab config file
(``--lab-config``), ``LIGHTCOMP_LAB_CONFIG``, ``LIGHTCOMP_LAB_NAME`` (and
``LIGHTCOMP_LAB_ADDRESS``), the station's ``lab`` / ``lab_address`` recorded with the
run, else :data:`DEFAULT_LAB`. A lab config is TOML ``[lab] name, address,
accreditation``; unknown keys are refused like the station and plan files'.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from lightcomp.errors import ReportError

__all__ = ["DEFAULT_LAB", "lab_identity"]

DEFAULT_LAB = {"name": "lightcomp test laboratory", "address": "(address not configured)"}

_LAB_KEYS = frozenset({"name", "address", "accreditation"})


def _lab_from_toml(path: str | Path) -> dict[str, str]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"lab config {p} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ReportError(f"lab config {p} is not readable TOML: {exc}") from None
    unknown = sorted(set(data) - {"lab", "station"})
    if unknown:
        raise ReportError(
            f"lab config {p}: unknown table or key {', '.join(map(repr, unknown))} "
            "(expected [lab] name, address, accreditation)"
        )
    lab = data.get("lab") if isinstance(data.get("lab"), dict) else {}
    bad = sorted(set(lab) - _LAB_KEYS)
    if bad:
        raise ReportError(
            f"lab config {p}: unknown key {', '.join('lab.' + k for k in bad)} "
            f"(allowed: {', '.join(sorted(_LAB_KEYS))})"
        )
    st = data.get("station") if isinstance(data.get("station"), dict) else {}
    name = lab.get("name") or st.get("lab")
    address = lab.get("address") or st.get("lab_address")
    if not name:
        raise ReportError(f'lab config {p} names no laboratory: add [lab] name = "..."')
    out = {"name": str(name), "address": str(address or DEFAULT_LAB["address"])}
    if lab.get("accreditation"):
        out["accreditation"] = str(lab["accreditation"])
    return out


def lab_identity(
    run_params: dict | None = None, lab_config: str | Path | None = None
) -> dict[str, str]:
    """Laboratory name and address (and accreditation) by the order in the module docstring."""
    if lab_config:
        return _lab_from_toml(lab_config)
    env_cfg = os.environ.get("LIGHTCOMP_LAB_CONFIG")
    if env_cfg:
        return _lab_from_toml(env_cfg)
    if os.environ.get("LIGHTCOMP_LAB_NAME"):
        return {
            "name": os.environ["LIGHTCOMP_LAB_NAME"],
            "address": os.environ.get("LIGHTCOMP_LAB_ADDRESS") or DEFAULT_LAB["address"],
        }
    params = run_params or {}
    for src in (params, params.get("station") if isinstance(params.get("station"), dict) else {}):
        if src.get("lab"):
            return {
                "name": str(src["lab"]),
                "address": str(src.get("lab_address") or DEFAULT_LAB["address"]),
            }
    return dict(DEFAULT_LAB)
