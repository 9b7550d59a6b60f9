"""SQLAlchemy 2 models of the lightcomp store.

One schema for SQLite (embedded default) and PostgreSQL (shared lab/alliance
store). Spectra and other arrays are BLOBs written by
:mod:`lightcomp.store.codec`; free-form structured data (ratings, limits,
per-limit verdicts, stabilisation history) is JSON (JSONB on PostgreSQL).
Key quantities are also real columns so that searches can use indexes.

Time stamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    event,
    exists,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, aliased, mapped_column, relationship

JSONType = JSON().with_variant(JSONB(), "postgresql")
Blob = LargeBinary().with_variant(BYTEA(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


TS = DateTime(timezone=True)

LIGHT_WAVEFORM_KEY = "light_waveform"
"""Key of the light waveform in a measurement's ``electrical`` JSON (the station writes it
for plans with ``[flicker]``; the certificate's flicker figures come from it):
``{"sample_rate_hz": fs, "values": [...]}``, photoreceiver volts, DC level kept."""


class Manufacturer(Base):
    """A manufacturer registered with the alliance."""

    __tablename__ = "manufacturers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registry_id: Mapped[str] = mapped_column(String(16), unique=True)  # alliance registry id
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    families: Mapped[list[Family]] = relationship(back_populates="manufacturer")


class Family(Base):
    """A component family (type): nominal ratings and spec limits per quantity."""

    __tablename__ = "families"
    __table_args__ = (UniqueConstraint("manufacturer_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer_id: Mapped[int] = mapped_column(ForeignKey("manufacturers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))  # manufacturer's model / family name
    level: Mapped[int] = mapped_column(Integer)  # 0 light source, 1 light engine/module
    category: Mapped[str] = mapped_column(String(32))  # component category / interface form
    input_class: Mapped[str] = mapped_column(String(16))  # e.g. CC-DC, CV-DC, AC
    nominal_cct_k: Mapped[int | None] = mapped_column(Integer)
    cri_class: Mapped[int | None] = mapped_column(Integer)  # e.g. 80, 90
    nominal_flux_lm: Mapped[float | None] = mapped_column(Float)
    model_seq: Mapped[int | None] = mapped_column(Integer)
    type_code: Mapped[str | None] = mapped_column(String(40), unique=True)  # product-code type part
    rated: Mapped[dict] = mapped_column(JSONType, default=dict)  # nominal ratings, SI units
    limits: Mapped[dict] = mapped_column(JSONType, default=dict)  # quantity -> {min, max}
    lm80: Mapped[dict | None] = mapped_column(JSONType)  # LM-80 data / TM-21 result
    spec_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    manufacturer: Mapped[Manufacturer] = relationship(back_populates="families")


class Lot(Base):
    """A lot of components submitted for test."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"), index=True)
    received_at: Mapped[datetime | None] = mapped_column(TS)
    notes: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(TS)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TS)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    family: Mapped[Family | None] = relationship()


class Component(Base):
    """One physical unit, identified by its product code."""

    __tablename__ = "components"
    # (family_id, id): keyset pages of one family in id order (API search).
    __table_args__ = (Index("ix_components_family_id_id", "family_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_code: Mapped[str] = mapped_column(String(48), unique=True)  # canonical, no separators
    item_serial: Mapped[int] = mapped_column(BigInteger, unique=True)  # alliance-unique
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    external_serial: Mapped[str | None] = mapped_column(String(64))  # maker's own serial
    # issued (code only) | measuring | pass | fail | error
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    photometric_code: Mapped[str | None] = mapped_column(String(16))  # IEC 62717, measured
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)

    family: Mapped[Family] = relationship()
    lot: Mapped[Lot | None] = relationship()


class CodeCounter(Base):
    """Allocation counters (e.g. the alliance-wide item serial)."""

    __tablename__ = "code_counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class SerialBlock(Base):
    """A block of item serials reserved for a station that works offline."""

    __tablename__ = "serial_blocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))  # station or person
    first: Mapped[int] = mapped_column(BigInteger)
    last: Mapped[int] = mapped_column(BigInteger)
    reserved_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    returned_at: Mapped[datetime | None] = mapped_column(TS)
    # Offline blocks (revision 0002): ``held`` rows are blocks THIS store issues from (a local
    # store; it then issues only from them), with the alliance's block id and the range as
    # first recorded (authoritative against a later, edited block file). On the alliance
    # store the reservation carries the Ed25519 signature of the block file and the key.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    alliance_block_id: Mapped[int | None] = mapped_column(Integer)
    signature: Mapped[str | None] = mapped_column(String(128))  # hex, Ed25519
    signer_key: Mapped[str | None] = mapped_column(String(64))  # hex public key


class Instrument(Base):
    """An instrument seen by a station (identity as it answered)."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("station", "role", "identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    driver: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(String(256))
    resource: Mapped[str | None] = mapped_column(String(256))
    first_seen: Mapped[datetime] = mapped_column(TS, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Calibration(Base):
    """Spectral responsivity calibration of a station's spectroradiometer + sphere."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calib_id: Mapped[str] = mapped_column(String(64), unique=True)
    station: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="spectral-responsivity")
    status: Mapped[str] = mapped_column(String(16), default="valid")  # valid|superseded|revoked
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(TS)
    valid_until: Mapped[datetime] = mapped_column(TS)
    operator: Mapped[str | None] = mapped_column(String(64))
    standard_lamp_id: Mapped[str | None] = mapped_column(String(64))
    certificate_id: Mapped[str | None] = mapped_column(String(64))
    wavelengths: Mapped[bytes | None] = mapped_column(Blob)
    responsivity: Mapped[bytes | None] = mapped_column(Blob)
    dark: Mapped[bytes | None] = mapped_column(Blob)
    aux_reference: Mapped[bytes | None] = mapped_column(Blob)  # aux lamp with std lamp in place
    uncertainty: Mapped[bytes | None] = mapped_column(Blob)  # relative, k=2
    inputs: Mapped[dict] = mapped_column(JSONType, default=dict)
    results: Mapped[dict] = mapped_column(JSONType, default=dict)


class TestRun(Base):
    """One batch run of a test plan on a station."""

    __tablename__ = "test_runs"
    __test__ = False  # not a pytest class
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_uid: Mapped[str] = mapped_column(String(64), unique=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    station: Mapped[str] = mapped_column(String(64))
    plan_name: Mapped[str] = mapped_column(String(120))
    plan_version: Mapped[str | None] = mapped_column(String(32))
    plan_hash: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[dict] = mapped_column(JSONType, default=dict)  # snapshot of the plan used
    operator: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    # running | completed | interrupted | aborted
    status: Mapped[str] = mapped_column(String(16), default="running")
    calibration_id: Mapped[int | None] = mapped_column(ForeignKey("calibrations.id"))
    software_version: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(128))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)

    lot: Mapped[Lot | None] = relationship()
    calibration: Mapped[Calibration | None] = relationship()


class Measurement(Base):
    """Everything measured on one component in one run, stored in one transaction."""

    __tablename__ = "measurements"
    __table_args__ = (
        # Searches by family (manufacturer) and measured quantity, e.g. a maker's parts in a
        # CCT window, go straight to the rows instead of scanning each family's components.
        # (No index on cct_k or ra alone: no query used one, every stored row paid it;
        # revision 0011.)
        Index("ix_measurements_family_cct", "family_id", "cct_k"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed: a component's history.  Which row is current is not stored here but in
    # ``current_measurements`` (:class:`CurrentMeasurement`): the row itself never changes.
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    # The component's family, copied for indexed searches (filled on insert, see below).
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"))
    test_run_id: Mapped[int | None] = mapped_column(ForeignKey("test_runs.id"), index=True)
    calibration_id: Mapped[int | None] = mapped_column(ForeignKey("calibrations.id"))
    measured_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    verdict: Mapped[str] = mapped_column(String(8))  # pass | fail | error
    error_message: Mapped[str | None] = mapped_column(Text)
    failed_limits: Mapped[list] = mapped_column(JSONType, default=list)
    verdicts: Mapped[dict] = mapped_column(JSONType, default=dict)  # limit -> {value,min,max,pass}
    quantities: Mapped[dict] = mapped_column(JSONType, default=dict)  # every scalar quantity
    # Key quantities as columns (indexed searches, fast reports).
    luminous_flux_lm: Mapped[float | None] = mapped_column(Float)
    efficacy_lmw: Mapped[float | None] = mapped_column(Float)
    cct_k: Mapped[float | None] = mapped_column(Float)
    duv: Mapped[float | None] = mapped_column(Float)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    ra: Mapped[float | None] = mapped_column(Float)
    r9: Mapped[float | None] = mapped_column(Float)
    rf: Mapped[float | None] = mapped_column(Float)
    rg: Mapped[float | None] = mapped_column(Float)
    voltage_v: Mapped[float | None] = mapped_column(Float)
    current_a: Mapped[float | None] = mapped_column(Float)
    power_w: Mapped[float | None] = mapped_column(Float)
    power_factor: Mapped[float | None] = mapped_column(Float)
    thd_current: Mapped[float | None] = mapped_column(Float)
    tc_c: Mapped[float | None] = mapped_column(Float)
    ambient_c: Mapped[float | None] = mapped_column(Float)
    ansi_category: Mapped[str | None] = mapped_column(String(16))
    ansi_inside: Mapped[bool | None] = mapped_column(Boolean)
    sdcm_steps: Mapped[float | None] = mapped_column(Float)
    photometric_code: Mapped[str | None] = mapped_column(String(16))
    # Arrays (codec BLOBs).
    wavelengths: Mapped[bytes | None] = mapped_column(Blob)
    raw_spectrum: Mapped[bytes | None] = mapped_column(Blob)
    dark_spectrum: Mapped[bytes | None] = mapped_column(Blob)
    spectrum: Mapped[bytes | None] = mapped_column(Blob)  # calibrated spectral flux, W/nm
    # Structured readings.
    electrical: Mapped[dict] = mapped_column(JSONType, default=dict)  # + LIGHT_WAVEFORM_KEY
    temperatures: Mapped[dict] = mapped_column(JSONType, default=dict)
    stabilisation: Mapped[list] = mapped_column(JSONType, default=list)
    instruments: Mapped[dict] = mapped_column(JSONType, default=dict)  # role -> identity
    uncertainty: Mapped[dict] = mapped_column(JSONType, default=dict)
    # VLC modulation test (issue 17): bandwidths at the plan's first bias point, the
    # large-signal edges, and the curves (frequency response per bias, THD sweep).
    modulation_bandwidth_mhz: Mapped[float | None] = mapped_column(Float)  # white, -3 dB
    modulation_bandwidth_blue_mhz: Mapped[float | None] = mapped_column(Float)  # blue filter
    rise_time_ns: Mapped[float | None] = mapped_column(Float)  # 10-90 %
    fall_time_ns: Mapped[float | None] = mapped_column(Float)
    modulation: Mapped[dict | None] = mapped_column(JSONType)
    # Record history (append-only, lightcomp.store.append_only): the analysis version of
    # the values (lightcomp.analysis.version), what kind of row this is (measurement |
    # retest | correction | reanalysis), the row it supersedes, the row holding its arrays
    # when it reuses them (a re-analysis), and who recorded it and why.
    analysis_version: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="measurement")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"), index=True)
    source_measurement_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"))
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime | None] = mapped_column(TS, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    component: Mapped[Component] = relationship()
    test_run: Mapped[TestRun | None] = relationship()
    calibration: Mapped[Calibration | None] = relationship()

    @property
    def has_spectrum(self) -> bool:
        """A calibrated spectrum is stored for this row: its own, or (a re-analysis) the
        one of the stored measurement it links through ``source_measurement_id``."""
        return self.spectrum is not None or self.source_measurement_id is not None


#: The row that holds a measurement's arrays (wavelengths, spectrum, raw reading, dark):
#: the row itself, or the stored measurement a re-analysis links through
#: ``source_measurement_id`` (a re-analysis stores no copy of the arrays).  Every reader
#: of arrays selects them from here, joined with :func:`array_source_on`.
ArraySource = aliased(Measurement, name="array_source")


def array_source_on():
    """Join condition of :data:`ArraySource` for the ``Measurement`` rows of a query."""
    return ArraySource.id == func.coalesce(Measurement.source_measurement_id, Measurement.id)


#: The measurement whose Monte Carlo gave a re-analysis its U (the row holding the
#: arrays it re-analysed): a re-analysis stores only a reference to it
#: (:func:`lightcomp.uncertainty.station.carry_reference`).  Outer-joined with
#: :func:`carry_source_on`, for re-analysis rows only, so an original row's U is read once.
CarrySource = aliased(Measurement, name="carry_source")


def carry_source_on():
    """Join condition of :data:`CarrySource` for the ``Measurement`` rows of a query."""
    return and_(
        Measurement.kind == "reanalysis", CarrySource.id == Measurement.source_measurement_id
    )


def uncertainty_columns() -> tuple:
    """The columns a reader rebuilds a row's U from
    (:func:`lightcomp.uncertainty.station.stored_uncertainty`): the row's stored JSON, its
    values when it is a re-analysis (``u_quantities``), and its carry source's U and
    values (``source_uncertainty``, ``source_quantities``).  The query outer-joins
    :data:`CarrySource` on :func:`carry_source_on`."""
    return (
        Measurement.uncertainty.label("uncertainty"),
        case((Measurement.kind == "reanalysis", Measurement.quantities)).label("u_quantities"),
        CarrySource.uncertainty.label("source_uncertainty"),
        CarrySource.quantities.label("source_quantities"),
    )


class CurrentMeasurement(Base):
    """A component's current measurement: a pointer, not a flag on the measurement row.

    ISO/IEC 17025:2017 7.5 / 7.8.8 (issue 15): a stored measurement never changes; a
    retest, correction or re-analysis is a new row linking the one it supersedes
    (``Measurement.supersedes_id``), and "current" moves here, forward only: the
    append-only triggers (:mod:`lightcomp.store.append_only`) refuse a DELETE and let an
    UPDATE only point at a newer measurement of the same component that supersedes the
    one pointed at.  One row per measured component (the primary key makes "at most one
    current measurement per component" structural); narrow, so moving it costs an
    update of a small row instead of a rewrite of a wide one.

    Readers go through :func:`current_join` or :func:`current_measurement_clause`.
    """

    __tablename__ = "current_measurements"
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), primary_key=True)
    measurement_id: Mapped[int] = mapped_column(ForeignKey("measurements.id"), unique=True)


def current_join(stmt, *, outer: bool = False, measurement=None):
    """``stmt`` (which has ``Component`` in its FROM) joined to each component's current
    ``Measurement`` (or the alias ``measurement``) through :class:`CurrentMeasurement`;
    ``outer=True`` keeps components never measured (their measurement columns NULL)."""
    m = Measurement if measurement is None else measurement
    join = stmt.outerjoin if outer else stmt.join
    stmt = join(CurrentMeasurement, CurrentMeasurement.component_id == Component.id)
    join = stmt.outerjoin if outer else stmt.join
    return join(m, m.id == CurrentMeasurement.measurement_id)


def current_measurement_clause(measurement=None):
    """SQL condition: the ``Measurement`` row (or the alias ``measurement``, ORM or of the
    table) of a query is its component's current one (a semi-join on the pointer's unique
    measurement id)."""
    m = Measurement if measurement is None else measurement
    mid = m.c.id if hasattr(m, "c") else m.id  # a Core alias of the table, or an ORM one
    return exists().where(CurrentMeasurement.measurement_id == mid)


def current_measurement_id(component_id):
    """Scalar subquery: the id of the current measurement of ``component_id`` (a value
    or a column), NULL when the component was never measured."""
    return (
        select(CurrentMeasurement.measurement_id)
        .where(CurrentMeasurement.component_id == component_id)
        .scalar_subquery()
    )


def point_unmeasured_to_latest(session) -> int:
    """Point every component that has measurements but no current one at its newest
    measurement (by id); returns how many pointers were inserted.  For bulk loads that
    insert measurement rows directly (test fixtures, benchmarks): the station and the
    re-analysis move the pointer in the transaction that stores the row."""
    latest = (
        select(Measurement.component_id, func.max(Measurement.id))
        .where(~exists().where(CurrentMeasurement.component_id == Measurement.component_id))
        .group_by(Measurement.component_id)
    )
    res = session.execute(
        insert(CurrentMeasurement).from_select(["component_id", "measurement_id"], latest)
    )
    return res.rowcount or 0


class Certificate(Base):
    """An issued test certificate (report); a reissue names the one it replaces."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(String(64), unique=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"), index=True)
    measurement_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    authorised_by: Mapped[str | None] = mapped_column(String(120))
    format: Mapped[str | None] = mapped_column(String(8))
    content_sha256: Mapped[str | None] = mapped_column(String(64))


class ApiPrincipal(Base):
    """An API key holder. Only a hash of the key is stored."""

    __tablename__ = "api_principals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))  # lab | manufacturer | member
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("manufacturers.id"))
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)  # public part, for look-up
    key_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS)

    manufacturer: Mapped[Manufacturer | None] = relationship()


class AuditEvent(Base):
    """Who did what to shared records (publish, withdraw, key revocation ...)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Hash chain (lightcomp.store.audit): position, previous entry's hash, own hash.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(Measurement, "before_insert")
def _copy_family_of_component(_mapper, connection, target: Measurement) -> None:
    """Every ORM-inserted measurement carries its component's family (search index)."""
    if target.family_id is not None:
        return
    comp = target.__dict__.get("component")
    if comp is not None and comp.family_id is not None:
        target.family_id = comp.family_id
    elif target.component_id is not None:
        target.family_id = connection.scalar(
            select(Component.family_id).where(Component.id == target.component_id)
        )


# -- LM-80 lumen-maintenance campaigns (issue 16) ----------------------------------------


class Lm80Campaign(Base):
    """An IES LM-80 lumen-maintenance campaign: coded samples aged in chambers on a rack.

    ``status``: running | stopped | finished. ``clock`` says how campaign hours are
    counted: ``system`` (wall time since ``started_at``) or ``simlab`` (the simulated
    lab's virtual clock, advanced to each interval when it is measured).
    """

    __tablename__ = "lm80_campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    station: Mapped[str] = mapped_column(String(64))  # sphere station of the interval readings
    rig: Mapped[str] = mapped_column(String(64))  # chambers + rack + Tc logger
    clock: Mapped[str] = mapped_column(String(16), default="system")
    case_temps_c: Mapped[list] = mapped_column(JSONType, default=list)
    current_a: Mapped[float] = mapped_column(Float)
    duration_h: Mapped[float] = mapped_column(Float)
    interval_h: Mapped[float] = mapped_column(Float)
    samples_per_temp: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="running")
    operator: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    end_reason: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSONType, default=dict)

    family: Mapped[Family] = relationship()


class Lm80Sample(Base):
    """One coded component of a campaign: its chamber (case temperature) and rack channel."""

    __tablename__ = "lm80_samples"
    __table_args__ = (
        UniqueConstraint("campaign_id", "component_id"),
        UniqueConstraint("campaign_id", "channel", name="uq_lm80_samples_campaign_channel"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lm80_campaigns.id"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id"))
    case_temp_c: Mapped[float] = mapped_column(Float)
    chamber: Mapped[int] = mapped_column(Integer)  # 1-based, in --case-temperatures order
    channel: Mapped[int] = mapped_column(Integer)  # rack channel, 1-based
    position: Mapped[int] = mapped_column(Integer)  # 1-based within the chamber

    component: Mapped[Component] = relationship()


class Lm80Reading(Base):
    """One sample at one interval (at most one: kill-safe resume relies on the unique key)."""

    __tablename__ = "lm80_readings"
    __table_args__ = (UniqueConstraint("sample_id", "interval_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lm80_campaigns.id"), index=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("lm80_samples.id"))
    interval_index: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)  # nominal ageing hours of the interval
    measured_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)  # catastrophic failure
    error_message: Mapped[str | None] = mapped_column(Text)
    luminous_flux_lm: Mapped[float | None] = mapped_column(Float)
    u_prime: Mapped[float | None] = mapped_column(Float)
    v_prime: Mapped[float | None] = mapped_column(Float)
    cct_k: Mapped[float | None] = mapped_column(Float)
    duv: Mapped[float | None] = mapped_column(Float)
    current_a: Mapped[float | None] = mapped_column(Float)  # drive current in the sphere
    case_temp_c: Mapped[float | None] = mapped_column(Float)  # Tc logger reading while ageing
    calibration_id: Mapped[int | None] = mapped_column(ForeignKey("calibrations.id"))
    quantities: Mapped[dict] = mapped_column(JSONType, default=dict)
    spectrum: Mapped[bytes | None] = mapped_column(Blob)  # calibrated W/nm, 380-780 nm 1 nm


class Lm80Interval(Base):
    """An interval whose readings are all stored (the resume point of the campaign)."""

    __tablename__ = "lm80_intervals"
    __table_args__ = (UniqueConstraint("campaign_id", "interval_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lm80_campaigns.id"), index=True)
    interval_index: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    chamber_temps_c: Mapped[dict] = mapped_column(JSONType, default=dict)  # chamber -> PV, Tc


class Lm80Event(Base):
    """Something that happened to samples while ageing: chamber excursion, channel outage,
    catastrophic failure, stop. One row per affected sample; ``event_key`` names the
    instrument's own log entry so re-reading the log never duplicates an event."""

    __tablename__ = "lm80_events"
    __table_args__ = (
        UniqueConstraint("campaign_id", "sample_id", "event_key", name="uq_lm80_events_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lm80_campaigns.id"), index=True)
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("lm80_samples.id"))
    kind: Mapped[str] = mapped_column(String(16))  # excursion | outage | failure | stop
    event_key: Mapped[str] = mapped_column(String(64))
    start_h: Mapped[float | None] = mapped_column(Float)
    duration_h: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    details: Mapped[dict] = mapped_column(JSONType, default=dict)


class SigningKey(Base):
    """Keys for signed block files: the alliance's own key pair (``name = "own"``, private
    part present) or, in a local store, the alliance key it trusts (``name = "alliance"``)."""

    __tablename__ = "signing_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))  # hex, raw Ed25519 public key
    private_key: Mapped[str | None] = mapped_column(Text)  # hex, raw; only on the signer
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class LotLock(Base):
    """A lot's batch is exclusive: the run holding it, where, and its last sign of life."""

    __tablename__ = "lot_locks"
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    station: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    run_uid: Mapped[str | None] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class UncertaintyEvaluation(Base):
    """How a measurement's uncertainties were obtained (issue 19): the GUM S1 Monte
    Carlo's model, seed, trials, convergence, time, the plan's decision rule and the
    budget (input group -> quantity key -> standard uncertainty from that group alone).
    The U of each quantity is in the measurement's ``uncertainty`` JSON."""

    __tablename__ = "uncertainty_evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurements.id"), unique=True, index=True
    )
    method: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    seed: Mapped[int] = mapped_column(Integer)
    trials: Mapped[int] = mapped_column(Integer)
    batches: Mapped[int] = mapped_column(Integer)
    converged: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[float] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    decision_rule: Mapped[str] = mapped_column(String(16))
    budget: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


# -- web portal accounts (issue 18) ---------------------------------------------------------------
class PortalUser(Base):
    """A person who signs in to the web portal; the password is stored as an Argon2id hash.

    Role and manufacturer follow the API's (``lab`` / ``manufacturer`` / ``member``);
    repeated wrong passwords lock the account until ``locked_until``.
    """

    __tablename__ = "portal_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))  # $argon2id$...
    role: Mapped[str] = mapped_column(String(16))  # lab | manufacturer | member
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("manufacturers.id"))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(TS)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last success
    locked_until: Mapped[datetime | None] = mapped_column(TS)
    last_login_at: Mapped[datetime | None] = mapped_column(TS)
    password_changed_at: Mapped[datetime | None] = mapped_column(TS)


class PortalSession(Base):
    """A signed-in browser: only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "portal_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(80), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))  # synchroniser token of its forms
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)  # logout, disable, password reset


class PortalUserKey(Base):
    """An API key (``api_principals`` row) that a portal user made for themself."""

    __tablename__ = "portal_user_keys"
    principal_id: Mapped[int] = mapped_column(ForeignKey("api_principals.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_users.id"), index=True)
