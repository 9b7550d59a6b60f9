"""Re-analysis of stored spectra: new versions beside the originals, kill-safe, engines agree."""

from __future__ import annotations

import os

import pytest
from _station_helpers import Lab
from sqlalchemy import func, select
from typer.testing import CliRunner

from lightcomp.analysis.version import CURRENT
from lightcomp.cli import app
from lightcomp.errors import LightcompError
from lightcomp.reanalysis import run as rerun
from lightcomp.reanalysis.run import Selection, reanalyze
from lightcomp.store.models import (
    Component,
    CurrentMeasurement,
    Lot,
    Measurement,
    current_measurement_clause,
    current_measurement_id,
)

N = 6


@pytest.fixture
def lab(tmp_path, db_url):
    lab = Lab(tmp_path, db_url)
    summary = lab.runner(lot="LOT-RA").run(count=N)
    assert summary.measured == N
    assert {r.analysis_version for r in _rows(lab.store)} == {CURRENT.id}
    # As if measured under the previous method set: rows of version LC-2026.11.
    for comp in sorted({r.component_id for r in _rows(lab.store)}):
        _forge_old_version(lab.store, comp, cct_shift=0.0)
    yield lab
    lab.close()


def _rows(store):
    with store.session() as s:
        return s.execute(
            select(
                Measurement.id,
                Measurement.component_id,
                current_measurement_clause().label("current"),
                Measurement.kind,
                Measurement.analysis_version,
                Measurement.supersedes_id,
                Measurement.source_measurement_id,
                Measurement.cct_k,
                Measurement.verdict,
            ).order_by(Measurement.id)
        ).all()


def _forge_old_version(
    store, component_id: int, *, cct_shift: float, verdict: str | None = None
) -> int:
    """A stored row with different numbers, as an older method set would have given
    (a new row superseding the current one: nothing is edited)."""
    from sqlalchemy import update

    with store.transaction() as s:
        cur = s.scalars(
            select(Measurement).where(Measurement.id == current_measurement_id(component_id))
        ).one()
        cols = {c.key: getattr(cur, c.key) for c in Measurement.__table__.columns if c.key != "id"}
        q = dict(cols["quantities"])
        q["CCT"] = q["CCT"] + cct_shift
        cols.update(
            quantities=q,
            cct_k=q["CCT"],
            analysis_version="LC-2026.11",
            kind="correction",
            supersedes_id=cur.id,
            reason="test: as an older method set computed it",
        )
        if verdict is not None:
            cols["verdict"] = verdict
        m = Measurement(**cols)
        s.add(m)
        s.flush()
        s.execute(
            update(CurrentMeasurement)
            .where(CurrentMeasurement.component_id == component_id)
            .values(measurement_id=m.id)
        )
        return m.id


def test_dry_run_reports_and_stores_nothing(lab):
    comp = _rows(lab.store)[0].component_id
    _forge_old_version(lab.store, comp, cct_shift=40.0)
    before = _rows(lab.store)
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"), dry_run=True)
    assert _rows(lab.store) == before
    assert diff.components == N and diff.written == 0
    # The forged component's CCT changes back by 40 K; nothing else changes CCT.
    assert diff.changed["cct"] == 1
    assert diff.max_abs["cct"] == pytest.approx(40.0, abs=0.01)


def test_reanalysis_adds_rows_linking_what_they_supersede(lab):
    first = _rows(lab.store)
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"), who="tester", why="new locus")
    assert diff.written == N
    # The report says where the time went, stage by stage.
    stages = diff.as_dict()["stage_seconds"]
    assert set(stages) == {"read", "decode", "analyse", "judge", "compare", "write"}
    assert all(v >= 0 for v in stages.values())
    rows = _rows(lab.store)
    old = {r.id: r for r in first}
    new = [r for r in rows if r.id not in old]
    assert len(new) == N
    for r in new:
        assert r.current and r.kind == "reanalysis" and r.analysis_version == CURRENT.id
        assert r.supersedes_id in old and r.source_measurement_id == r.supersedes_id
        assert r.cct_k == pytest.approx(old[r.supersedes_id].cct_k, rel=1e-12)
    # The originals are all still there, unchanged but for the pointer.
    for r in rows:
        if r.id in old:
            o = old[r.id]
            assert (r.cct_k, r.verdict, r.kind) == (o.cct_k, o.verdict, o.kind)
            assert not r.current
    # Who and why are stored with every row; one audit entry per chunk.
    with lab.store.session() as s:
        who = s.execute(
            select(Measurement.recorded_by, Measurement.reason).where(
                Measurement.kind == "reanalysis"
            )
        ).all()
        assert set(who) == {("tester", "new locus")}
        from lightcomp.store.audit import verify_chain

        assert verify_chain(s).ok
    # A second run finds nothing to do.
    again = reanalyze(lab.store, Selection(lot="LOT-RA"))
    assert again.components == 0 and again.written == 0


def test_killed_run_continues_without_duplicates(lab, monkeypatch):
    real = rerun._write
    calls = {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed between two chunk transactions
        return real(*a, **kw)

    monkeypatch.setattr(rerun, "_write", dying)
    with pytest.raises(KeyboardInterrupt):
        reanalyze(lab.store, Selection(lot="LOT-RA"), chunk=2)
    done = [r for r in _rows(lab.store) if r.kind == "reanalysis"]
    assert len(done) == 2  # the first chunk, whole
    monkeypatch.setattr(rerun, "_write", real)
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"), chunk=2)
    assert diff.written == N - 2
    rows = _rows(lab.store)
    current = [r for r in rows if r.current]
    assert len(current) == N and len({r.component_id for r in current}) == N
    assert sum(r.kind == "reanalysis" for r in rows) == N


def test_published_lot_keeps_its_version_until_published_again(lab):
    from lightcomp.api.publication import publish_lot

    with lab.store.transaction() as s:
        publish_lot(s, "LOT-RA", actor="lab")
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"))
    assert diff.written == 0 and diff.skipped_published == N
    assert not [r for r in _rows(lab.store) if r.kind == "reanalysis"]
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"), publish=True)
    assert diff.written == N


@pytest.mark.parametrize("bad", ["lot", "version", "scheduler"])
def test_bad_input_is_one_line_and_writes_nothing(lab, bad):
    before = _rows(lab.store)
    kw = {
        "lot": (Selection(lot="NO-SUCH-LOT"), {}),
        "version": (Selection(lot="LOT-RA"), {"version": "LC-1999.01"}),
        "scheduler": (
            Selection(lot="LOT-RA"),
            {"engine": "dask", "scheduler": "tcp://127.0.0.1:9"},
        ),
    }[bad]
    with pytest.raises(LightcompError) as err:
        reanalyze(lab.store, kw[0], **kw[1])
    assert "\n" not in str(err.value)
    assert _rows(lab.store) == before


def _new_results(store, after: int):
    """(component, verdict, quantities, key columns) of the re-analysis rows above ``after``."""
    with store.session() as s:
        return sorted(
            s.execute(
                select(
                    Measurement.component_id,
                    Measurement.verdict,
                    Measurement.quantities,
                    Measurement.verdicts,
                    Measurement.cct_k,
                    Measurement.ra,
                    Measurement.photometric_code,
                ).where(Measurement.id > after, Measurement.kind == "reanalysis")
            ).all()
        )


def _again_as_old_version(store) -> int:
    """Every component's current row superseded by one on the old version (nothing
    edited); returns the highest id so far."""
    for comp in sorted({r.component_id for r in _rows(store) if r.current}):
        _forge_old_version(store, comp, cct_shift=0.0)
    return max(r.id for r in _rows(store))


def test_local_and_dask_engines_agree_bit_for_bit(lab):
    # Dask workers read their key ranges from the store and write themselves: compare
    # what each engine stored, on the same spectra (the second run reads them through
    # the first run's links).
    start = max(r.id for r in _rows(lab.store))
    # The local engine as the command runs it: in a fresh process, as each Dask worker
    # is. (In this long-lived test process the CIE 13.3 reference table came out 1e-13
    # different after some other tests had run — a process-history effect not yet found,
    # see the closing note of issue 15 — so an in-process run is not the fair comparison.)
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", "reanalyze", "--lot", "LOT-RA",
         "--engine", "local", "--chunk", "4", "--db", lab.db_url],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    local = _new_results(lab.store, start)
    start = _again_as_old_version(lab.store)

    def core_threads():  # (pickled by value: runs on each worker)
        from lightcomp.analysis import _cr_common

        return _cr_common.THREADS

    eng = rerun.DaskEngine(store_url=lab.store.engine.url)
    try:
        # The LocalCluster's two workers split this machine's cores between their cores
        # (the local run above used two threads: the results must not depend on it).
        per_worker = max(1, (os.cpu_count() or 1) // 2)
        assert sorted(eng.client.run(core_threads).values()) == [per_worker, per_worker]
        diff = reanalyze(lab.store, Selection(lot="LOT-RA"), engine=eng, chunk=4)
    finally:
        eng.close()
    assert diff.written == N
    dask = _new_results(lab.store, start)
    assert len(local) == N
    assert local == dask  # exact equality of every float


def test_copy_and_executemany_store_identical_rows(lab, monkeypatch):
    # PostgreSQL loads a chunk's new values with COPY, SQLite with executemany: both
    # loaders must give the same stored rows (on SQLite both runs use executemany).
    start = max(r.id for r in _rows(lab.store))
    reanalyze(lab.store, Selection(lot="LOT-RA"))
    copied = _new_results(lab.store, start)
    start = _again_as_old_version(lab.store)
    monkeypatch.setattr(rerun, "USE_COPY", False)
    reanalyze(lab.store, Selection(lot="LOT-RA"))
    assert _new_results(lab.store, start) == copied


def test_reanalysed_row_serves_the_spectrum_it_links(lab):
    from fastapi.testclient import TestClient

    from lightcomp.api import create_app
    from lightcomp.api.keys import create_api_key
    from lightcomp.store import queries as sq

    with lab.store.session() as s:
        code = s.scalars(select(Component.product_code).order_by(Component.id)).first()
        before = sq.component_spectrum(s, code)
    reanalyze(lab.store, Selection(lot="LOT-RA"))
    with lab.store.session() as s:
        cur = s.scalars(
            select(Measurement)
            .join(Component, Component.id == Measurement.component_id)
            .where(Component.product_code == code, current_measurement_clause())
        ).one()
        # The new row holds no copy of the arrays: it links the stored measurement.
        assert cur.kind == "reanalysis" and cur.spectrum is None and cur.wavelengths is None
        assert cur.source_measurement_id is not None
        after = sq.component_spectrum(s, code)
        record = sq.component_record(s, code)
        codes, _, specs = sq.records_spectra(s, lot="LOT-RA")
    assert record["measurement"]["has_spectrum"]
    assert after is not None
    assert (after[0] == before[0]).all() and (after[1] == before[1]).all()
    assert code in codes and (specs[codes.index(code)] == before[1]).all()
    # The API serves it too, calibrated and raw (the lab's key).
    with lab.store.transaction() as s:
        _, key = create_api_key(s, "lab", name="t")
    with TestClient(create_app(lab.store)) as client:
        auth = {"Authorization": f"Bearer {key}"}
        r = client.get(f"/components/{code}/spectrum", params={"format": "csv"}, headers=auth)
        assert r.status_code == 200, r.text
        flux = [float(line.split(",")[1]) for line in r.text.splitlines()[1:]]
        assert flux == before[1].tolist()
        r = client.get(f"/components/{code}/spectrum", params={"data": "raw"}, headers=auth)
        assert r.status_code == 200, r.text


def test_cli(lab, tmp_path):
    import json

    # One unit's stored verdict differs from what the current core gives: it flips.
    comp = _rows(lab.store)[0].component_id
    with lab.store.session() as s:
        was, code = s.execute(
            select(Measurement.verdict, Component.product_code)
            .join(Component, Component.id == Measurement.component_id)
            .where(Measurement.id == current_measurement_id(comp))
        ).one()
    other = "fail" if was == "pass" else "pass"
    _forge_old_version(lab.store, comp, cct_shift=0.0, verdict=other)
    runner = CliRunner()
    report = tmp_path / "diff.json"
    r = runner.invoke(
        app,
        ["reanalyze", "--lot", "LOT-RA", "--dry-run", "--report", str(report), "--db", lab.db_url],
    )
    assert r.exit_code == 0, r.output
    assert f"{CURRENT.id}: {N} components re-analysed" in r.output
    assert "dry run" in r.output
    assert f"1 verdict(s) flip, e.g. {code}" in r.output
    got = json.loads(report.read_text(encoding="utf-8"))
    assert got["verdict_flips"] == {f"{other}->{was}": 1}
    assert [e for flips in got["verdict_flips_by_manufacturer"].values() for e in flips] == [
        {"code": code, "from": other, "to": was}
    ]
    r = runner.invoke(app, ["reanalyze", "--db", lab.db_url])
    assert r.exit_code != 0
    with lab.store.session() as s:
        n = s.scalar(
            select(func.count()).select_from(Measurement).where(Measurement.kind == "reanalysis")
        )
        lot = s.scalars(select(Lot).where(Lot.name == "LOT-RA")).one()
        comps = s.scalar(
            select(func.count()).select_from(Component).where(Component.lot_id == lot.id)
        )
    assert n == 0 and comps == N


def test_certificate_and_api_name_the_version_and_a_reissue_names_both(lab, tmp_path):
    from lightcomp.reports.certificate import issue_certificate

    with lab.store.session() as s:
        code = s.scalars(select(Component.product_code).order_by(Component.id)).first()
    comp = _rows(lab.store)[0].component_id
    _forge_old_version(lab.store, comp, cct_shift=25.0)
    first = issue_certificate(
        lab.store, code, tmp_path / "a.html", fmt="html", authorised_by="Dr. Lin"
    )
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "Analysis version" in html and "LC-2026.11" in html
    reanalyze(lab.store, Selection(lot="LOT-RA"))
    issue_certificate(
        lab.store,
        code,
        tmp_path / "b.html",
        fmt="html",
        authorised_by="Dr. Lin",
        reissue=first["report_id"],
        reason="values on the current analysis version",
    )
    html = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert (
        f"analysis version LC-2026.11; this report gives them on analysis version {CURRENT.id}"
        in html
    )


def test_unit_measured_again_meanwhile_is_skipped_not_superseded(lab, monkeypatch):
    # Between reading a chunk and writing it, a station stores a retest of one unit:
    # the write keeps the retest current and stores no re-analysis of the older row.
    real = rerun._write
    moved = {}

    def retest_first(store, rows, results, *a, **kw):
        if not moved:
            moved["component"] = rows[0].component_id
            moved["row"] = _forge_old_version(store, rows[0].component_id, cct_shift=1.0)
        return real(store, rows, results, *a, **kw)

    monkeypatch.setattr(rerun, "_write", retest_first)
    diff = reanalyze(lab.store, Selection(lot="LOT-RA"))
    assert diff.written == N - 1 and diff.skipped_moved == 1
    current = {r.component_id: r for r in _rows(lab.store) if r.current}
    assert len(current) == N
    assert current[moved["component"]].id == moved["row"]
    assert sum(r.kind == "reanalysis" for r in current.values()) == N - 1


def test_in_memory_store_runs_locally_and_refuses_dask(tmp_path):
    # The local engine's helper threads and Dask's workers would each open an empty
    # in-memory SQLite: the local engine then works without them, Dask is refused.
    lab = Lab(tmp_path, "sqlite://")
    try:
        lab.runner(lot="LOT-RA").run(count=2)
        for comp in sorted({r.component_id for r in _rows(lab.store)}):
            _forge_old_version(lab.store, comp, cct_shift=0.0)
        with pytest.raises(LightcompError, match="in-memory SQLite") as err:
            reanalyze(lab.store, Selection(lot="LOT-RA"), engine="dask")
        assert "\n" not in str(err.value)
        diff = reanalyze(lab.store, Selection(lot="LOT-RA"), chunk=1)
        assert diff.written == 2
    finally:
        lab.close()


def test_worker_takes_the_password_from_its_own_environment(monkeypatch):
    # A task names the store without its password; the worker completes it from its
    # own $LIGHTCOMP_DB when that names the same database, else leaves it to libpq
    # (PGPASSWORD, ~/.pgpass).
    from lightcomp.store.engine import ENV_VAR

    sent = rerun.task_url("postgresql://lab:s3cret@db-host:5432/lightcomp")
    assert "s3cret" not in sent and sent.startswith("postgresql+psycopg://lab@db-host")
    monkeypatch.setenv(ENV_VAR, "postgresql+psycopg://lab:s3cret@db-host:5432/lightcomp")
    assert rerun._worker_url(sent) == "postgresql+psycopg://lab:s3cret@db-host:5432/lightcomp"
    other = rerun.task_url("postgresql://lab@db-host:5432/archive")
    assert rerun._worker_url(other) == other
    monkeypatch.delenv(ENV_VAR)
    assert rerun._worker_url(sent) == sent


@pytest.mark.pg
def test_dask_tasks_carry_no_password(tmp_path, pg_url):
    # The store's URL holds a password (the test server trusts local connections, so
    # any password opens it): no argument of any task holds it, and the LocalCluster's
    # workers have it from the environment the command gave them.
    import os
    import pickle
    import uuid

    from sqlalchemy.engine import make_url

    secret = f"pw-{uuid.uuid4().hex}"
    url = make_url(pg_url).set(password=secret).render_as_string(hide_password=False)
    lab = Lab(tmp_path, url)
    try:
        assert lab.runner(lot="LOT-PW").run(count=2).measured == 2
        for comp in sorted({r.component_id for r in _rows(lab.store)}):
            _forge_old_version(lab.store, comp, cct_shift=0.0)
        engine = rerun.DaskEngine(store_url=lab.store.engine.url)
        sent: list[bytes] = []
        submit = engine.client.submit

        def recording(fn, *args, **kw):
            sent.append(pickle.dumps((args, kw)))
            return submit(fn, *args, **kw)

        engine.client.submit = recording
        try:
            diff = reanalyze(lab.store, Selection(lot="LOT-PW"), engine=engine, chunk=1)
            envs = engine.client.run(lambda: os.environ.get("LIGHTCOMP_DB"))
        finally:
            engine.close()
    finally:
        lab.close()
    assert diff.written == 2 and len(sent) == 2
    assert not [b for b in sent if secret.encode() in b]
    assert {make_url(e).password for e in envs.values()} == {secret}


def test_older_generations_are_collected_less_often_during_a_run_only(lab):
    """A run walks its chunks' objects less often (``fewer_full_collections``) and puts
    the collector's thresholds back afterwards, also when it fails."""
    import gc

    before = gc.get_threshold()
    seen = []
    reanalyze(
        lab.store,
        Selection(lot="LOT-RA"),
        dry_run=True,
        progress=lambda d: seen.append(gc.get_threshold()),
    )
    assert seen and all(t[0] == before[0] and min(t[1:]) >= 100 for t in seen)
    assert gc.get_threshold() == before
    with pytest.raises(ZeroDivisionError), rerun.fewer_full_collections():
        assert gc.get_threshold() != before
        1 / 0  # noqa: B018
    assert gc.get_threshold() == before


def test_verdict_flips_beyond_the_memory_limit_are_spooled_and_reported_whole(
    tmp_path, monkeypatch
):
    """The driver keeps at most FLIPS_IN_MEMORY flips in memory; the rest go to temporary
    files, and the report, the counts and the list per manufacturer are the same."""
    import json

    def chunk_diff(k: int) -> rerun.Diff:
        d = rerun.Diff(version="V", selection="lot X", dry_run=True)
        for j in range(3):
            maker = "Maker A" if (k + j) % 2 else "制造商 B"
            d.flips_by_maker[maker].append({"code": f"C{k}-{j}", "from": "pass", "to": "fail"})
        return d

    def merged(limit: int) -> rerun.Diff:
        monkeypatch.setattr(rerun, "FLIPS_IN_MEMORY", limit)
        total = rerun.Diff(version="V", selection="lot X", dry_run=True)
        for k in range(5):
            total.merge(chunk_diff(k))
        return total

    whole, spooled = merged(10_000), merged(4)
    assert not whole._spooled and spooled._spooled  # (the limit was passed)
    assert sum(map(len, spooled.flips_by_maker.values())) <= 4 + 3
    assert spooled.flip_counts() == whole.flip_counts() == {"制造商 B": 8, "Maker A": 7}
    assert spooled.as_dict() == whole.as_dict()
    assert [e["code"] for e in spooled.flips("Maker A")][:3] == ["C0-1", "C1-0", "C1-2"]
    for d, name in ((whole, "whole.json"), (spooled, "spooled.json")):
        d.write_report(tmp_path / name)
        assert json.loads((tmp_path / name).read_text(encoding="utf-8")) == whole.as_dict()
    none = rerun.Diff(version="V", selection="lot X", dry_run=True)
    none.write_report(tmp_path / "none.json")
    assert json.loads((tmp_path / "none.json").read_text(encoding="utf-8")) == none.as_dict()
