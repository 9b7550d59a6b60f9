"""The quantity catalogue: complete, the one home of quantity names/labels/units, and used."""

from __future__ import annotations

import ast
import dataclasses
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import fill_lot
from sqlalchemy import Float

from lightcomp import quantities as Q
from lightcomp.analysis import ANALYZE_COLUMNS
from lightcomp.drivers.base import ElectricalReading
from lightcomp.store import Store
from lightcomp.store.models import Measurement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lightcomp"


def test_every_analysis_column_is_catalogued():
    missing = [k for k in (*ANALYZE_COLUMNS, "efficacy") if k not in Q.NON_QUANTITY_KEYS]
    missing = [k for k in missing if k not in {q.key for q in Q.QUANTITIES}]
    assert missing == []
    assert Q.by_key("CCT").column == "cct_k"
    assert Q.by_key("R9").column == "r9"


def test_every_numeric_measurement_column_is_catalogued():
    numeric = {
        c.name
        for c in Measurement.__table__.columns
        if isinstance(c.type, Float) and not c.name.endswith("_id")
    }
    assert numeric  # the model has float columns
    assert sorted(numeric - {q.column for q in Q.column_quantities()}) == []
    # and every catalogued column exists in the store
    names = {c.name for c in Measurement.__table__.columns}
    assert [q.column for q in Q.column_quantities(kind=None) if q.column not in names] == []


def test_electrical_readings_are_catalogued():
    fields = [f.name for f in dataclasses.fields(ElectricalReading)]
    assert [f for f in fields if Q.lookup(f) is None and f not in Q.NON_QUANTITY_KEYS] == []


def test_names_are_unambiguous():
    exports = [Q.export_column(q) for q in Q.QUANTITIES]
    assert len(set(exports)) == len(exports)
    for q in Q.QUANTITIES:  # every spelling leads back to its own quantity
        for n in q.names:
            assert Q.lookup(n) is q, (n, q.name)
    keys = [q.key for q in Q.QUANTITIES]
    assert len(set(keys)) == len(keys)
    plans = [q.plan for q in Q.QUANTITIES if q.plan]
    assert len(set(plans)) == len(plans)


def test_export_and_uncertainty_names():
    assert [Q.export_column(Q.lookup(n)) for n in ("flux", "CCT", "Duv", "x", "Ra", "R9")] == [
        "luminous_flux_lm",
        "cct_k",
        "duv",
        "x",
        "ra",
        "r9",
    ]
    thd = Q.lookup("thd")
    assert Q.export_column(thd) == "thd_pct" and thd.shown_unit == "%"
    assert Q.export_column(Q.lookup("tc")) == "tc_c" and Q.lookup("tc").shown_unit == "°C"
    assert Q.uncertainty_column(Q.lookup("luminous_flux")) == "U_luminous_flux_lm"
    assert {f"r{i}" for i in range(1, 16)} <= {Q.export_column(q) for q in Q.QUANTITIES}


def test_one_format_per_quantity():
    assert Q.format_value("Ra", 83.94) == "83.9"
    assert Q.format_value("ra", 84.0) == "84.0"  # same quantity, same format
    assert Q.format_value("CCT", 3985.4, unit=True) == "3985 K"
    assert Q.format_value("Duv", -0.00004) == "0.0000"  # no "-0.0000"
    assert Q.format_value("thd", 0.1234, unit=True) == "12.3 %"
    assert Q.format_value("flux", 1203.456, unit=True) == "1203.5 lm"
    assert Q.format_value("flux", 12.3456) == "12.346"
    assert Q.format_value("flux", float("nan")) == "–"
    assert Q.format_value("flux", None) == "–"
    assert Q.format_value("ansi_category", "4000-7") == "4000-7"
    with pytest.raises(KeyError):
        Q.format_value("no-such-quantity", 1.0)


def test_labels_carry_the_display_unit():
    assert Q.lookup("flux").label() == "Luminous flux (lm)"
    assert Q.lookup("flux").label("zh") == "光通量 (lm)"
    assert Q.lookup("tc").label() == "Case temperature Tc (°C)"
    assert Q.lookup("thd").label() == "THD of current (%)"
    assert Q.limit_label("r9") == "R9" and Q.limit_label("ansi_quadrangle").startswith("ANSI")
    for q in Q.QUANTITIES:
        assert q.label_en and q.label_zh, q.name
        assert q.limit in (None, "lower", "upper", "both")
        assert q.kind in ("number", "text", "flag")


def test_plan_names_and_aliases():
    from lightcomp.station.plan import QUANTITIES

    assert QUANTITIES["flux"][0] == "luminous_flux"
    assert QUANTITIES["thd"][:2] == ("thd_current", "")
    assert Q.by_plan_name("luminous_flux") is Q.by_plan_name("flux")
    assert Q.by_plan_name("CCT").plan == "cct"
    assert Q.by_plan_name("colour") is None


def test_plan_accepts_an_alias_under_the_plan_name(tmp_path):
    from lightcomp.station.plan import load_plan

    text = (ROOT / "station" / "plans").glob("*.toml")
    src = next(iter(sorted(text))).read_text(encoding="utf-8")
    assert "flux_min" in src
    p = tmp_path / "p.toml"
    p.write_text(src.replace("flux_min", "luminous_flux_min", 1), encoding="utf-8")
    plan = load_plan(p)
    assert "flux" in {lim.name for lim in plan.limits}


def test_docs_records_is_generated_from_the_catalogue():
    doc = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    assert doc == Q.records_markdown(), (
        "regenerate: python -m lightcomp.quantities > docs/records.md"
    )
    for q in Q.QUANTITIES:
        assert f"`{Q.export_column(q)}`" in doc


# ---------------------------------------------------------------------------------------
# No other module keeps its own table of quantity names, labels or units
# ---------------------------------------------------------------------------------------
_SPELLINGS = {n for q in Q.QUANTITIES for n in q.names} | {q.label_en for q in Q.QUANTITIES}
_EXEMPT = {
    PACKAGE / "quantities.py",  # the catalogue itself
    PACKAGE / "analysis" / "__init__.py",  # ANALYZE_COLUMNS: the analysis core's output
}
_EXEMPT_DIRS = (PACKAGE / "store" / "migrations", PACKAGE / "simlab")


_LABELS = {q.label_en for q in Q.QUANTITIES} | {q.label_zh for q in Q.QUANTITIES}


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _static(node: ast.AST) -> bool:
    """A constant string, or a tuple/list of constants (a table entry, not computed data)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(isinstance(e, ast.Constant) for e in node.elts)
    return False


def _literal_tables(tree: ast.AST):
    """Literals that keep quantity knowledge: a dict keyed by >= 3 quantity spellings, a
    sequence of >= 3 entries each pairing a quantity spelling with another string (a label,
    unit or second name), or >= 2 catalogued labels.  A flat list of names (which
    quantities a report shows) is a selection, not a table, and is allowed."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            named = {
                k.value
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value in _SPELLINGS and _static(v)
            }
            if len(named) >= 3:
                yield node.lineno, sorted(named)
                continue
        if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
            labels = {v for v in _strings(node) if v in _LABELS}
            if len(labels) >= 2:
                yield node.lineno, sorted(labels)
                continue
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            pairs = set()
            for e in node.elts:
                if isinstance(e, ast.Tuple):
                    strs = _strings(e)
                    named = [v for v in strs if v in _SPELLINGS]
                    if named and len(strs) >= 2:
                        pairs.add(named[0])
            if len(pairs) >= 3:
                yield node.lineno, sorted(pairs)


def test_no_other_module_keeps_a_quantity_table():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in _EXEMPT or any(d in path.parents for d in _EXEMPT_DIRS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, names in _literal_tables(tree):
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {names}")
    assert offenders == []


@pytest.mark.parametrize(
    "src",
    [
        'LABELS = {"luminous_flux_lm": "Luminous flux (lm)", "cct_k": "CCT", "ra": "Ra"}',
        'ROWS = [("flux", "lm", 5), ("cct", "K", 4), ("ra", "", 3)]',
        'HEAD = ["Luminous flux", "Correlated colour temperature"]',
        'Q = {"flux": ("luminous_flux", "lm"), "cct": ("CCT", "K"), "ra": ("Ra", "")}',
    ],
)
def test_the_table_detector_finds_a_table(src):
    assert list(_literal_tables(ast.parse(src)))


def test_the_table_detector_allows_a_selection():
    src = 'SHOWN = ("luminous_flux_lm", "cct_k", "duv", "ra", "r9")'
    assert not list(_literal_tables(ast.parse(src)))


# ---------------------------------------------------------------------------------------
# Surfaces agree: export, report, certificate show the catalogue's value
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lot(tmp_path_factory):
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('q') / 'lightcomp.db'}")
    a = fill_lot(store, lot="LOT-Q", n=12, seed=3)
    yield store, a
    store.dispose()


def test_fixture_rows_match_the_runner_columns(lot):
    """The fixture inserts key columns through the runner's mapping: column == JSON value."""
    from lightcomp.store.queries import lot_records

    store, _ = lot
    with store.session() as s:
        df = lot_records(s, lot="LOT-Q", include_quantities=True)
    ok = df["verdict"] != "error"
    for q in Q.column_quantities():
        json_vals = [d.get(q.key) for d in df.loc[ok, "quantities"]]
        col = df.loc[ok, q.column].to_numpy(float)
        np.testing.assert_array_equal(col, np.array(json_vals, dtype=float), err_msg=q.column)


def test_export_report_and_certificate_show_the_same_value(lot, tmp_path):
    from lightcomp.reports.certificate import issue_certificate
    from lightcomp.reports.export import write_records

    store, a = lot
    _, text = write_records(store, "csv", lot="LOT-Q")
    df = pd.read_csv(io.StringIO(text))
    row = df[df["verdict"] == "pass"].iloc[0]
    out = tmp_path / "c.html"
    issue_certificate(store, row["product_code"], out, authorised_by="QA")
    html = out.read_text(encoding="utf-8")
    for name in ("ra", "cct_k", "luminous_flux_lm", "duv", "x"):
        q = Q.by_export(name)
        shown = Q.format_value(q, row[name])
        assert f">{shown}<" in html, (name, shown)
        assert q.label_en in html
    assert math.isfinite(row["thd_pct"]) and row["thd_pct"] == pytest.approx(12.0)


def test_results_computed_in_si_are_stored_in_the_catalogue_unit_correctly_rounded():
    """from_si: Hz -> MHz, s -> ns, fractions unchanged, each value the correctly rounded
    quotient (the exact power of ten, never a rounded 1e-6); the VLC result keys of the
    station are the catalogue's."""
    from fractions import Fraction

    from lightcomp.station.modulation import ModulationResult
    from lightcomp.uncertainty.modulation import MODULATION_KEYS

    rng = np.random.default_rng(4)
    hz, s = rng.uniform(1e5, 1e8, 2000), rng.uniform(1e-9, 1e-6, 2000)
    mhz, ns = Q.from_si("modulation_bandwidth", hz), Q.from_si("rise_time", s)
    assert [float(v) for v in mhz] == [float(Fraction(v) / 10**6) for v in hz]
    assert [float(v) for v in ns] == [float(Fraction(v) * 10**9) for v in s]
    assert Q.from_si("modulation_depth_usable", 0.37) == 0.37
    assert Q.from_si("modulation_bandwidth", 1.0) == 1e-6
    r = ModulationResult(
        *(np.zeros(1), np.zeros(1), None, {}, np.array([5e6]), {"blue": np.array([4e6])}),
        *(2e-8, 3e-8, np.zeros(1), np.zeros(1), 0.6),
    )
    quantities = r.quantities()
    assert quantities == pytest.approx(
        {
            Q.lookup("modulation_bandwidth").key: 5.0,
            Q.lookup("modulation_bandwidth_blue").key: 4.0,
            Q.lookup("rise_time").key: 20.0,
            Q.lookup("fall_time").key: 30.0,
            Q.lookup("modulation_depth_usable").key: 0.6,
        }
    )
    assert list(quantities) == list(MODULATION_KEYS)
    assert all(Q.by_key(k).unit in ("MHz", "ns", "") for k in quantities)
