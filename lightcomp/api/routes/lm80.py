"""Routes of a family's published LM-80/TM-21 results (``/families/{family}/lm80``).

The family's registry LM-80 data (IES LM-80 readings of its units at one case
temperature, with their source: an LM-80 campaign of the lab or data imported
with the registry) and the IES TM-21-11 projection from them. Registry data are
published to every key holder.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from lightcomp.api.deps import TEXT, PrincipalDep, SessionDep
from lightcomp.api.errors import ERRORS, HttpError
from lightcomp.jsonvalues import json_safe

router = APIRouter(tags=["families"])


class Lm80Projection(BaseModel):
    text: str = Field(description='TM-21 wording, e.g. "L70(10k) > 60,000 h"')


class Tm21Result(BaseModel):
    units: int = Field(description="units in the projection (failed units excluded)")
    fit_window_h: list[float] = Field(description="first and last hour of the TM-21 fit")
    alpha: float = Field(description="decay constant alpha (1/h)")
    b: float = Field(description="projected initial constant B")
    projection: dict[str, Lm80Projection] = Field(description="L70 and L90")


class Lm80Data(BaseModel):
    source: str = Field(description='"LM-80 campaign <name>" or "registry import"')
    campaign: str | None = None
    case_temperature_c: float | None = None
    drive_current_a: float | None = None
    units: int | None = None
    hours: list[float]
    mean_normalised_flux: list[float] | None = None
    rated_life_h: float | None = None
    notes: str | None = None
    tm21: Tm21Result | None = Field(None, description="None: under 6000 h of data or no decay")


class FamilyLm80(BaseModel):
    family: str
    type_code: str | None
    manufacturer: str
    lm80: Lm80Data | None = Field(None, description="None: the family has no LM-80 data")


@router.get("/families/{family}/lm80", response_model=FamilyLm80, responses=ERRORS)
def get_family_lm80(
    family: Annotated[
        str, PathParam(pattern=TEXT, max_length=120, description="name or type code")
    ],
    principal: PrincipalDep,  # noqa: ARG001 - any key holder may read registry data
    session: SessionDep,
) -> dict[str, Any]:
    """A family's published LM-80 data and their TM-21-11 projection."""
    from lightcomp.lm80.results import family_lm80_record

    rec = family_lm80_record(session, family)
    if rec is None:
        raise HttpError(404, "no such family")
    return json_safe(rec)
