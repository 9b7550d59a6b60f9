"""Shared read queries (lightcomp.store.queries) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from _report_fixtures import WL, fill_lot

from lightcomp.errors import ReportError
from lightcomp.reports.yields import lot_yield, yield_summary_dict
from lightcomp.store import Component, Lot
from lightcomp.store.queries import (
    component_record,
    component_spectrum,
    lot_limits,
    lot_records,
    yield_by_lot,
)


@pytest.fixture
def filled(store):
    a = fill_lot(store, lot="LOT-A", n=120, seed=11)
    b = fill_lot(store, lot="LOT-B", n=80, seed=12, n_untested=5)
    return store, a, b


def test_lot_records_match_what_was_stored(filled):
    store, a, _ = filled
    with store.session() as s:
        df = lot_records(s, lot="LOT-A")
    assert len(df) == a.n
    assert df["product_code"].tolist() == a.codes  # ordered by measurement time
    assert Counter(df["verdict"]) == Counter(a.verdict.tolist())
    ok = df["verdict"] != "error"
    np.testing.assert_array_equal(df.loc[ok, "luminous_flux_lm"], a.flux[ok.to_numpy()])
    assert set(df["lot"]) == {"LOT-A"}
    failed = df[df["verdict"] == "fail"]
    assert failed["failed_limits"].map(len).min() >= 1
    assert df.loc[df["verdict"] == "pass", "failed_limits"].map(len).max() == 0


def test_lot_yield_counts_and_interval(filled):
    store, a, b = filled
    with store.session() as s:
        y = lot_yield(s, "LOT-B")
    c = Counter(b.verdict.tolist())
    assert (y["n_pass"], y["n_fail"], y["n_error"]) == (c["pass"], c["fail"], c["error"])
    assert y["n_tested"] == c["pass"] + c["fail"]
    assert y["n_components"] == b.n + 5 and y["n_unmeasured"] == 5
    assert y["yield"] == pytest.approx(c["pass"] / (c["pass"] + c["fail"]))
    assert y["lower"] < y["yield"] < y["upper"]
    from _verdict_oracle import expected_verdict

    assert y["verdict"] == expected_verdict(c["pass"], c["fail"])


def test_yield_summary_worked_example():
    # domain brief: 190/200 -> Wilson [0.910, 0.973], Clopper-Pearson [0.910, 0.976]
    w = yield_summary_dict(190, 10)
    assert (round(w["lower"], 3), round(w["upper"], 3)) == (0.910, 0.973)
    assert w["verdict"] == "not yet decidable"
    cp = yield_summary_dict(190, 10, method="clopper-pearson")
    assert (round(cp["lower"], 3), round(cp["upper"], 3)) == (0.910, 0.976)
    assert yield_summary_dict(59, 0, method="clopper-pearson")["verdict"] == "target met"
    only_errors = yield_summary_dict(0, 0, 3)
    assert np.isnan(only_errors["yield"]) and only_errors["verdict"] == "not yet decidable"


def test_unknown_and_empty_lots_are_clear_errors(filled):
    store, _, _ = filled
    with store.transaction() as s:
        s.add(Lot(name="EMPTY"))
    with store.session() as s:
        with pytest.raises(ReportError, match="unknown lot 'NOPE'"):
            lot_records(s, lot="NOPE")
        with pytest.raises(ReportError, match="unknown lot 'NOPE'"):
            lot_yield(s, "NOPE")
        with pytest.raises(ReportError, match="lot 'EMPTY' has no measured components"):
            lot_records(s, lot="EMPTY")
        with pytest.raises(ReportError, match="lot 'EMPTY' has no measured components"):
            lot_yield(s, "EMPTY")
        with pytest.raises(ReportError, match="unknown family"):
            lot_records(s, family="nope")
        with pytest.raises(ReportError, match="not a date"):
            lot_records(s, since="yesterday")


def test_selection_filters(filled):
    store, a, b = filled
    with store.session() as s:
        every = lot_records(s)
        assert len(every) == a.n + b.n
        by_reg = lot_records(s, manufacturer="M0042")
        assert len(by_reg) == a.n + b.n
        # fixture: one measurement a minute from 08:00 on 2026-03-02
        first_hour = lot_records(s, lot="LOT-A", until="2026-03-02T09:00:00+00:00")
        assert len(first_hour) == 60
        whole_day = lot_records(s, lot="LOT-A", since="2026-03-02", until="2026-03-02")
        assert len(whole_day) == a.n
        with pytest.raises(ReportError, match="no measured components"):
            lot_records(s, since="2027-01-01")
        assert lot_records(s, since="2027-01-01", require=False).empty


def test_yield_by_lot(filled):
    store, a, b = filled
    with store.session() as s:
        t = yield_by_lot(s)
    rows = {r.lot: r for r in t.itertuples()}
    for lot in (a, b):
        c = Counter(lot.verdict.tolist())
        r = rows[lot.lot]
        assert (r.n_pass, r.n_fail, r.n_error) == (c["pass"], c["fail"], c["error"])


def test_lot_limits_from_verdicts(filled):
    store, _, _ = filled
    with store.session() as s:
        lim = lot_limits(s, "LOT-A")
    assert lim["flux"]["min"] == 1080.0 and lim["flux"]["max"] is None
    assert lim["power"]["max"] == 13.0
    assert lim["flux"]["quantity"] == "luminous_flux"


def test_component_record_and_spectrum(filled):
    store, a, _ = filled
    i = int(np.flatnonzero(a.verdict == "pass")[0])
    code = a.codes[i]
    from lightcomp.coding import format_code

    with store.session() as s:
        rec = component_record(s, format_code(code).lower())  # printed form, any case
        assert rec is not None and rec["product_code"] == code
        assert rec["lot"]["name"] == "LOT-A"
        assert rec["manufacturer"]["registry_id"] == "M0042"
        assert rec["calibration"]["calib_id"] == "CAL-S1-2026-02"
        assert rec["test_run"]["plan_name"] == "lm79-module-ac"
        m = rec["measurement"]
        assert m["verdict"] == "pass"
        assert len(rec["history"]) == 1 and rec["history"][0]["is_current"]
        wl, spec = component_spectrum(s, code)
        from lightcomp.coding import make_code

        unknown = make_code(code[:22], 999_999_999)
        assert component_record(s, unknown) is None
        assert component_spectrum(s, unknown) is None
        untested = s.query(Component).filter(Component.status == "issued").first()
        assert component_record(s, untested.product_code)["measurement"] is None
    np.testing.assert_array_equal(wl, WL)
    # photopic flux of the stored spectrum (CIE 1931 y-bar, 1 nm) equals the stored flux
    from lightcomp.analysis.data import load_cmfs

    flux = 683.002 * spec @ load_cmfs("1931_2")[:, 1]
    assert flux == pytest.approx(m["luminous_flux_lm"], rel=1e-9)


def test_lot_limits_flat_family_form(store):
    """Family limits in the plan's flat form (flux_min = ...) are understood."""
    from lightcomp.store import Family

    fill_lot(store, lot="LOT-F", n=5, seed=3)
    with store.transaction() as s:
        s.query(Family).one().limits = {"flux_min": 1000.0, "power_max": 14.0}
    with store.session() as s:
        lim = lot_limits(s, "LOT-F", sample=0)
    assert lim["flux"]["min"] == 1000.0 and lim["flux"]["max"] is None
    assert lim["power"]["max"] == 14.0
