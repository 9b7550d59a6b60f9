"""Alliance registry: manufacturers, families, type codes, registry TOML import."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from lightcomp.coding import (
    CodeError,
    CodeFieldError,
    decode,
    find_family,
    find_manufacturer,
    import_registry,
    issue_codes,
    register_family,
    register_manufacturer,
)
from lightcomp.store import Family, Manufacturer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "station" / "registry" / "demo.toml"

FAM = dict(
    level=1,
    category="SM",
    input_class="AC",
    nominal_cct_k=2700,
    cri_class=90,
    nominal_flux_lm=800,
)


@pytest.fixture
def sqlite_store(sqlite_url):
    """SQLite-only store for argument-checking tests (backend-independent logic)."""
    from lightcomp.store import Store

    s = Store.open(sqlite_url)
    yield s
    s.dispose()


def test_manufacturer_ids_assigned_in_order(store):
    with store.transaction() as s:
        a = register_manufacturer(s, "Alpha", country="CN", contact="a@example.org")
        b = register_manufacturer(s, "Beta", registry_id="m0007")
        c = register_manufacturer(s, "Gamma")
        assert (a.registry_id, b.registry_id, c.registry_id) == ("M0001", "M0007", "M0002")
        assert a.country == "CN"
    with store.transaction() as s:
        assert find_manufacturer(s, "m0007").name == "Beta"
        assert find_manufacturer(s, "Gamma").registry_id == "M0002"


def test_auto_id_skips_explicitly_used(sqlite_store):
    with sqlite_store.transaction() as s:
        register_manufacturer(s, "Explicit", registry_id="M0001")
        assert register_manufacturer(s, "Auto").registry_id == "M0002"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("Alpha",), {}, "already registered"),
        (("Other",), {"registry_id": "M0001"}, "already used"),
        (("Other",), {"registry_id": "X0001"}, "registry_id"),
        (("Other",), {"registry_id": "M0000"}, "registry_id"),
        (("Other",), {"registry_id": "M12345"}, "registry_id"),
        (("",), {}, "non-empty"),
        (("bad\x00name",), {}, "control"),
        (("Other",), {"website": "x"}, "unknown manufacturer field"),
    ],
)
def test_register_manufacturer_errors(sqlite_store, args, kwargs, message):
    with sqlite_store.transaction() as s:
        register_manufacturer(s, "Alpha")
    with pytest.raises(CodeError, match=message), sqlite_store.transaction() as s:
        register_manufacturer(s, *args, **kwargs)


def test_register_family_type_code_and_model_seq(store):
    with store.transaction() as s:
        m1 = register_manufacturer(s, "Alpha")
        m2 = register_manufacturer(s, "Beta")
        f1 = register_family(s, m1, "SPOT-1", **FAM, rated={"power_w": 9.5})
        f2 = register_family(s, "Alpha", "SPOT-2", **dict(FAM, cri_class=95))
        f3 = register_family(
            s,
            m2,
            "B-COB",
            **dict(
                FAM, level=0, category="CB", input_class="CC-DC", nominal_cct_k=None, cri_class=None
            ),
        )
        f4 = register_family(s, "M0001", "SPOT-9", **FAM, model_seq=9)
        f5 = register_family(s, m1, "SPOT-10", **FAM)
    # type part assembled by hand from the documented layout
    assert f1.type_code == "LC1" + "1" + "SM" + "M0001" + "27" + "9" + "F29" + "A" + "0001"
    assert f2.type_code == "LC11SMM0001279F29A0002" and f2.cri_class == 90
    assert f3.type_code == "LC10CBM0002000F29C0001"  # coloured: CCT 00, CRI 0; own sequence
    assert (f3.nominal_cct_k, f3.cri_class) == (None, None)
    assert f4.model_seq == 9 and f4.type_code.endswith("0009")
    assert f5.model_seq == 10  # after the explicit 9
    assert f1.rated == {"power_w": 9.5} and f1.limits == {}
    assert f1.input_class == "AC" and f1.category == "SM" and f1.nominal_flux_lm == 800


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"level": 0}, "category"),  # SM is a level-1 category
        ({"category": "XX"}, "category"),
        ({"input_class": "DC"}, "input_class"),
        ({"nominal_cct_k": 3300}, "nominal_cct_k"),
        ({"cri_class": 50}, "cri_class"),
        ({"nominal_flux_lm": 1e9}, "nominal_flux_lm"),
        ({"model_seq": 0}, "model_seq"),
        ({"model_seq": 1}, "model_seq"),  # already used by SPOT-1
    ],
)
def test_register_family_names_wrong_field(sqlite_store, change, field):
    with sqlite_store.transaction() as s:
        m = register_manufacturer(s, "Alpha")
        register_family(s, m, "SPOT-1", **FAM)
    with pytest.raises(CodeFieldError) as err, sqlite_store.transaction() as s:
        register_family(s, "Alpha", "SPOT-X", **dict(FAM, **change))
    assert err.value.field == field


def test_register_family_other_errors(sqlite_store):
    with sqlite_store.transaction() as s:
        m = register_manufacturer(s, "Alpha")
        register_family(s, m, "SPOT-1", **FAM)
    cases = [
        (("Alpha", "SPOT-1"), {}, "already registered"),
        (("Nobody", "SPOT-2"), {}, "not registered"),
        (
            ("Alpha", "SPOT-2"),
            {"limits": {"luminous_flux_lm": {"min": 2, "max": 1}}},
            "min 2 > max 1",
        ),
        (("Alpha", "SPOT-2"), {"limits": {"luminous_flux_lm": {"min": "a"}}}, "not a number"),
        (("Alpha", "SPOT-2"), {"limits": {"luminous_flux_lm": 5}}, "min and/or max"),
        (("Alpha", "SPOT-2"), {"rated": [1]}, "rated"),
    ]
    for args, extra, message in cases:
        with pytest.raises(CodeError, match=message), sqlite_store.transaction() as s:
            register_family(s, *args, **dict(FAM, **extra))


def test_find_family(sqlite_store):
    with sqlite_store.transaction() as s:
        a = register_manufacturer(s, "Alpha")
        b = register_manufacturer(s, "Beta")
        fa = register_family(s, a, "COMMON", **FAM)
        register_family(s, b, "COMMON", **FAM)
        assert find_family(s, "COMMON", "Alpha").id == fa.id
        assert find_family(s, fa.type_code).id == fa.id
        assert find_family(s, "1", "M0001").id == fa.id  # model sequence
        with pytest.raises(CodeError, match="several manufacturers"):
            find_family(s, "COMMON")
        with pytest.raises(CodeError, match="not registered"):
            find_family(s, "nope", "Alpha")


def test_import_demo_registry(store):
    raw = tomllib.loads(DEMO.read_text(encoding="utf-8"))
    with store.transaction() as s:
        summary = import_registry(s, DEMO)
    assert summary["manufacturers"]["added"] == len(raw["manufacturer"]) >= 1
    assert summary["families"]["added"] == len(raw["family"]) >= 2
    with store.transaction() as s:
        fams = {f.name: f for f in s.scalars(select(Family))}
        levels = set()
        for entry in raw["family"]:
            f = fams[entry["name"]]
            assert f.manufacturer.registry_id == entry["manufacturer"]
            assert f.rated == entry["rated"] and f.limits == entry["limits"]
            code = decode(issue_codes(s, f, 1)[0].product_code)
            assert code["level"] == entry["level"] and code["category"] == entry["category"]
            assert code["input_class"] == entry["input_class"]
            assert code["nominal_cct_k"] == entry["nominal_cct_k"]
            assert code["model_seq"] == entry["model_seq"]
            lo, hi = code["flux_range_lm"]
            assert lo <= entry["nominal_flux_lm"] < hi
            levels.add((entry["level"], entry["input_class"]))
    # the demo covers a level-0 DC light source and a level-1 AC module
    assert (0, "CC-DC") in levels and (1, "AC") in levels
    # re-import: nothing changes
    with store.transaction() as s:
        again = import_registry(s, DEMO)
    assert again["manufacturers"]["unchanged"] == len(raw["manufacturer"])
    assert again["families"]["unchanged"] == len(raw["family"])


def test_import_updates_limits_but_not_type(store, tmp_path):
    with store.transaction() as s:
        import_registry(s, DEMO)
    text = DEMO.read_text(encoding="utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(
        text.replace("luminous_flux_lm = { min = 1080.0 }", "luminous_flux_lm = { min = 1100.0 }")
    )
    with store.transaction() as s:
        summary = import_registry(s, changed)
        assert summary["families"] == {"added": 0, "updated": 1, "unchanged": 1}
        fam = find_family(s, "LS0-COB-4000")
        assert fam.limits["luminous_flux_lm"] == {"min": 1100.0}
    retyped = tmp_path / "retyped.toml"
    retyped.write_text(text.replace("nominal_cct_k = 4000", "nominal_cct_k = 5000"))
    with pytest.raises(CodeError, match="type fields cannot change"), store.transaction() as s:
        import_registry(s, retyped)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is = = not toml", "not valid TOML"),
        ("[[widget]]\nname='x'", "unknown section"),
        ("[[manufacturer]]\nname='A'\nregistry_id='M0001'\nwebsite='x'", "unknown key"),
        ("[[manufacturer]]\nname='A'\nregistry_id='Q1'", "registry_id"),
        ("[[family]]\nname='F'\nlevel=0", "missing key 'manufacturer'"),
        (
            "[[manufacturer]]\nname='A'\n[[family]]\nmanufacturer='A'\nname='F'\nlevel=0",
            "missing key",
        ),
        (
            "[[manufacturer]]\nname='A'\n[[family]]\nmanufacturer='A'\nname='F'\nlevel=0\n"
            "category='CB'\ninput_class='CC-DC'\nnominal_flux_lm=100\ncolour='red'",
            "unknown key",
        ),
    ],
)
def test_import_errors_name_the_entry(sqlite_store, tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(CodeError, match=message), sqlite_store.transaction() as s:
        import_registry(s, path)
    with sqlite_store.transaction() as s:  # nothing half-imported
        assert s.scalar(select(Manufacturer.id)) is None


def test_import_missing_file(sqlite_store, tmp_path):
    with pytest.raises(CodeError, match="not found"), sqlite_store.transaction() as s:
        import_registry(s, tmp_path / "none.toml")


def test_import_conflicting_registry_id(store, tmp_path):
    with store.transaction() as s:
        register_manufacturer(s, "Someone Else", registry_id="M0001")
    with pytest.raises(CodeError, match="registered as 'Someone Else'"), store.transaction() as s:
        import_registry(s, DEMO)


_FAM_TOML = (
    "[[manufacturer]]\nname='A'\n[[family]]\nmanufacturer='A'\nname='F'\nlevel=0\n"
    "category='CB'\ninput_class='CC-DC'\nnominal_flux_lm=100\n"
)
_LM80 = (
    "[family.lm80]\nrated_life_h = 25000\nhours = [0, 1000, 3000, 6000]\n"
    "flux = [[100.0, 99.0, 97.0, 95.0], {row2}]\n"
)


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        # a typo in a limit's quantity or key would silently drop the limit
        ("[family.limits]\nluminous_flx_lm = { min = 90.0 }", "unknown limit quantity"),
        ("[family.limits]\nra = { mn = 80.0 }", r"unknown key\(s\) \['mn'\]"),
        ("[family.limits]\nra = {}", "neither min nor max"),
        # LM-80 data: text in numbers, ragged rows, typos, unusable data
        (_LM80.format(row2='[100.0, "99", 97.0, 95.0]'), r"row 2, value 2 = '99'"),
        (_LM80.format(row2="[100.0, 99.0, 97.0]"), "ragged rows"),
        (
            _LM80.format(row2="[100.0, 99.0, 97.0, 95.0]").replace("25000", '"25000"'),
            "rated_life_h",
        ),
        (
            _LM80.format(row2="[100.0, 99.0, 97.0, 95.0]").replace("hours =", "hour ="),
            "unknown key",
        ),
        (_LM80.format(row2="[100.0, 99.0, 97.0, 95.0]").replace("6000]", "600]"), "increase"),
        (
            _LM80.format(row2="[100.0, 99.0, 97.0, 95.0]").replace("3000, 6000", "2000, 3000"),
            "IEC 62717",
        ),
    ],
)
def test_import_refuses_bad_limits_and_lm80(sqlite_store, tmp_path, tail, message):
    path = tmp_path / "bad.toml"
    path.write_text(_FAM_TOML + tail)
    with pytest.raises(CodeError, match=message) as info, sqlite_store.transaction() as s:
        import_registry(s, path)
    assert "\n" not in str(info.value) and "family #1 (F)" in str(info.value)
    with sqlite_store.transaction() as s:  # nothing half-imported
        assert s.scalar(select(Manufacturer.id)) is None


def test_import_good_lm80_and_latin1_file(sqlite_store, tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(_FAM_TOML + _LM80.format(row2="[101.0, 99.5, 97.0, 95.5]"))
    with sqlite_store.transaction() as s:
        assert import_registry(s, path)["families"]["added"] == 1
    latin = tmp_path / "latin1.toml"
    latin.write_bytes("[[manufacturer]]\nname='Lumière'\n".encode("latin-1"))
    with pytest.raises(CodeError, match="not UTF-8"), sqlite_store.transaction() as s:
        import_registry(s, latin)
