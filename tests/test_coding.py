"""Product-code scheme: check character, encode/decode round trips, hostile input, docs.

Oracles: the ISO/IEC 7064 MOD 37-2 worked example of python-stdnum
('G123489654321' -> 'Y'), an independent re-implementation of MOD 37-2 written
from the standard's weighted-sum definition, the ISO 3 R10 preferred numbers, and the
tables read directly from tables.toml with tomllib.
"""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lightcomp.coding import (
    ALPHABET,
    CHECK_ALPHABET,
    CODE_LENGTH,
    CodeError,
    CodeFieldError,
    canonical,
    check_character,
    decode,
    encode,
    format_code,
    is_valid,
    validate,
)
from lightcomp.coding.scheme import format_type_code
from lightcomp.coding.tables import AMBIGUOUS_LETTERS, TABLES_PATH, render_markdown_tables

ROOT = Path(__file__).resolve().parents[1]
RAW = tomllib.loads(TABLES_PATH.read_text(encoding="utf-8"))

BASE = {
    "level": 0,
    "category": "CB",
    "manufacturer": "M0042",
    "nominal_cct_k": 3000,
    "cri_class": 80,
    "nominal_flux_lm": 1600,
    "input_class": "CC-DC",
    "model_seq": 7,
    "item_serial": 123,
}
# Hand-assembled from the layout in docs/coding.md (check character from the oracle below).
BASE_DATA = "LC1" + "0" + "CB" + "M0042" + "30" + "8" + "F32" + "C" + "0007" + "000000123"


def iso7064_mod37_2_check(data: str) -> str:
    """Independent ISO/IEC 7064 MOD 37-2 (pure system): choose c so that
    sum(value_i * 2**(n - i)) + c = 1 (mod 37), values 0-9, A-Z = 0..35, '*' = 36."""
    symbols = ALPHABET + "*"
    n = len(data)
    total = sum(symbols.index(ch) * pow(2, n - i, 37) for i, ch in enumerate(data))
    return symbols[(1 - total) % 37]


def mod37_2_valid(code: str) -> bool:
    symbols = ALPHABET + "*"
    n = len(code)
    return sum(symbols.index(ch) * pow(2, n - 1 - i, 37) for i, ch in enumerate(code)) % 37 == 1


def sample_codes() -> list[str]:
    out = []
    combos = [
        dict(BASE),
        dict(
            BASE,
            level=1,
            category="EG",
            input_class="AC",
            nominal_cct_k=2700,
            cri_class=90,
            nominal_flux_lm=800,
            manufacturer="M9999",
            model_seq=9999,
            item_serial=999_999_999,
        ),
        dict(
            BASE,
            category="PK",
            nominal_cct_k=None,
            cri_class=None,
            nominal_flux_lm=3,
            manufacturer="M0001",
            model_seq=1,
            item_serial=1,
        ),
        dict(
            BASE,
            level=1,
            category="SM",
            input_class="CV-DC",
            nominal_cct_k=6500,
            nominal_flux_lm=100_000,
            item_serial=470_000_123,
        ),
        dict(BASE, category="LB", nominal_cct_k=5700, cri_class=70, item_serial=35),
    ]
    for c in combos:
        out.append(encode(c))
    return out


# -- check character ---------------------------------------------------------------


def test_check_character_iso7064_published_example():
    # ISO/IEC 7064 MOD 37-2 example (python-stdnum documentation).
    assert check_character("G123489654321") == "Y"


def test_check_character_matches_independent_implementation():
    rng = random.Random(7)
    seen = set()
    for _ in range(3000):
        data = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        check = check_character(data)
        assert check == iso7064_mod37_2_check(data)
        seen.add(check)
    assert seen == set(CHECK_ALPHABET)  # all 37 symbols occur, '*' included


def test_encode_matches_hand_assembled_code():
    code = encode(BASE)
    assert code == BASE_DATA + iso7064_mod37_2_check(BASE_DATA)
    assert len(code) == CODE_LENGTH == 32
    assert format_code(code) == "LC1-0-CB-M0042-30-8-F32-C-0007-000000123-" + code[-1]


def _step(p: int, value: int) -> int:
    """One step of the MOD 37-2 recursion (ISO/IEC 7064 pure system)."""
    return (2 * p + value) % 37


def test_mod37_2_detects_every_substitution_and_adjacent_transposition_proof():
    """Exhaustive over every running state: each step is a bijection of the state for a
    fixed character, so two inputs that differ only in a substring are told apart iff the
    states after that substring differ. All 37 states x all values prove detection of every
    single substitution and every adjacent transposition, for codes of every length."""
    for v in range(37):
        assert len({_step(p, v) for p in range(37)}) == 37
    for p in range(37):
        assert len({_step(p, v) for v in range(37)}) == 37  # substitution
        for a in range(37):
            for b in range(37):
                if a != b:
                    assert _step(_step(p, a), b) != _step(_step(p, b), a), (p, a, b)


def test_mod37_36_would_not_do():
    """Design rationale (docs/coding.md): the hybrid MOD 37,36 misses some adjacent
    transpositions, e.g. serial 056 <-> 065 of the same family."""
    from stdnum.iso7064 import mod_37_36

    a = "LC10CBM0042308F32C0007000000056P"
    b = "LC10CBM0042308F32C0007000000065P"
    assert mod_37_36.is_valid(a) and mod_37_36.is_valid(b)
    assert not (mod37_2_valid(a) and mod37_2_valid(b))


def test_every_single_substitution_rejected():
    for code in sample_codes():
        validate(code)
        for i in range(len(code)):
            for ch in ALPHABET if i < len(code) - 1 else CHECK_ALPHABET:
                if ch == code[i]:
                    continue
                bad = code[:i] + ch + code[i + 1 :]
                with pytest.raises(CodeError):
                    decode(bad)
                # the check character alone already rejects it
                assert not mod37_2_valid(bad)


def test_every_adjacent_transposition_rejected():
    for code in sample_codes():
        n = 0
        for i in range(len(code) - 1):
            if code[i] == code[i + 1]:
                continue
            bad = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            with pytest.raises(CodeError):
                decode(bad)
            assert not mod37_2_valid(bad)
            n += 1
        assert n > 10


def test_substitution_in_numeric_field_is_reported_as_check_error():
    code = encode(BASE)
    serial_pos = 25  # inside the item serial
    digit = "5" if code[serial_pos] != "5" else "6"
    bad = code[:serial_pos] + digit + code[serial_pos + 1 :]
    with pytest.raises(CodeFieldError) as err:
        decode(bad)
    assert err.value.field == "check"
    assert "check character" in str(err.value)


# -- round trips over every table value ---------------------------------------------


def _variants():
    """One code per table value of every field (others fixed)."""
    for lv in RAW["level"]:
        cat = next(c for c in RAW["category"] if int(lv["code"]) in c["levels"])
        yield {"level": int(lv["code"]), "category": cat["code"]}, {"level": int(lv["code"])}
    for cat in RAW["category"]:
        yield {"level": cat["levels"][0], "category": cat["code"]}, {"category": cat["code"]}
        yield {"level": cat["levels"][0], "category": cat["name"]}, {"category": cat["code"]}
    for row in RAW["cct"]:
        k = row["nominal_cct_k"] or None
        yield {"nominal_cct_k": k}, {"cct_class": row["code"], "nominal_cct_k": k}
        yield {"cct_class": row["code"]}, {"nominal_cct_k": k}
    for row in RAW["cri"]:
        ra = row["min_ra"] or None
        yield {"cri_class": ra}, {"cri_code": row["code"], "cri_class": ra}
    for row in RAW["flux"]["classes"]:
        yield (
            {"nominal_flux_lm": row["preferred_lm"]},
            {
                "flux_class": row["code"],
                "nominal_flux_lm": row["preferred_lm"],
                "flux_range_lm": [row["min_lm"], row["max_lm"]],
            },
        )
        yield {"flux_class": "F" + row["code"]}, {"flux_class": row["code"]}
        yield {"nominal_flux_lm": row["min_lm"]}, {"flux_class": row["code"]}
    for row in RAW["input"]:
        yield {"input_class": row["name"]}, {"input_class": row["name"], "input_code": row["code"]}
        yield {"input_class": row["code"].lower()}, {"input_class": row["name"]}
    for seq in (1, 2, 10, 4321, 9999):
        yield {"model_seq": seq}, {"model_seq": seq}
    for serial in (1, 9, 10, 123_456_789, 999_999_999):
        yield {"item_serial": serial}, {"item_serial": serial}
    for rid in ("M0001", "m0420", "M9999"):
        yield {"manufacturer": rid}, {"manufacturer": rid.upper()}


def test_round_trip_every_table_value():
    count = 0
    for change, expected in _variants():
        fields = dict(BASE)
        fields.update(change)
        if "cct_class" in change:
            fields.pop("nominal_cct_k")
        if "flux_class" in change:
            fields.pop("nominal_flux_lm")
        code = encode(fields)
        got = decode(code)
        for key, value in expected.items():
            assert got[key] == value, (change, key)
        # every accepted form decodes to the same fields; encode(decode()) is stable
        assert decode(got["printed"].lower()) == got
        assert encode(got) == code == canonical(got["printed"])
        count += 1
    assert count > 150


def test_random_combinations_round_trip():
    rng = random.Random(3)
    for _ in range(500):
        cat = rng.choice(RAW["category"])
        fields = {
            "level": rng.choice(cat["levels"]),
            "category": cat["code"],
            "manufacturer": f"M{rng.randint(1, 9999):04d}",
            "cct_class": rng.choice(RAW["cct"])["code"],
            "cri_code": rng.choice(RAW["cri"])["code"],
            "flux_class": rng.choice(RAW["flux"]["classes"])["code"],
            "input_code": rng.choice(RAW["input"])["code"],
            "model_seq": rng.randint(1, 9999),
            "item_serial": rng.randint(1, 999_999_999),
        }
        got = decode(encode(fields))
        for key, value in fields.items():
            assert got[key] == value


def test_decode_reports_every_field_by_name():
    got = decode(format_code(encode(BASE)))
    for key in (
        "scheme_version",
        "level",
        "category",
        "manufacturer",
        "nominal_cct_k",
        "cri_class",
        "nominal_flux_lm",
        "input_class",
        "model_seq",
        "item_serial",
        "check",
        "type_code",
        "code",
        "printed",
    ):
        assert key in got
    assert got["scheme_version"] == 1
    assert got["type_code"] == BASE_DATA[:22]
    assert format_type_code(got["type_code"]) == "LC1-0-CB-M0042-30-8-F32-C-0007"


# -- tables ------------------------------------------------------------------------


def test_flux_classes_are_iso3_r10_preferred_numbers():
    r10 = [1.00, 1.25, 1.60, 2.00, 2.50, 3.15, 4.00, 5.00, 6.30, 8.00]  # ISO 3
    rows = RAW["flux"]["classes"]
    for row in rows:
        n = int(row["code"])
        assert row["preferred_lm"] == pytest.approx(r10[n % 10] * 10 ** (n // 10), rel=1e-12)
        assert row["min_lm"] == pytest.approx(10 ** ((n - 0.5) / 10), rel=0.005)
        assert row["max_lm"] == pytest.approx(10 ** ((n + 0.5) / 10), rel=0.005)
    for a, b in zip(rows, rows[1:], strict=False):
        assert a["max_lm"] == b["min_lm"]
        assert int(b["code"]) == int(a["code"]) + 1


def test_flux_class_boundaries():
    fields = dict(BASE)
    fields["nominal_flux_lm"] = 1410.0  # lower limit of F32 (inclusive)
    assert decode(encode(fields))["flux_class"] == "32"
    fields["nominal_flux_lm"] = 1409.99
    assert decode(encode(fields))["flux_class"] == "31"
    for bad in (2.0, 112_000.0, -5, float("nan"), "lots"):
        fields["nominal_flux_lm"] = bad
        with pytest.raises(CodeFieldError) as err:
            encode(fields)
        assert err.value.field == "nominal_flux_lm"


def test_cct_classes_are_ansi_c78377_nominal_values():
    ansi = {2200, 2500, 2700, 3000, 3500, 4000, 4500, 5000, 5700, 6500}  # ANSI C78.377-2017
    got = {row["nominal_cct_k"] for row in RAW["cct"] if row["nominal_cct_k"]}
    assert got == ansi
    for row in RAW["cct"]:
        if row["nominal_cct_k"]:
            assert int(row["code"]) * 100 == row["nominal_cct_k"]


def test_cri_class_is_iec62717_ra_group():
    for ra, code in (
        (60, "6"),
        (69, "6"),
        (80, "8"),
        (89.9, "8"),
        (90, "9"),
        (95, "9"),
        (100, "9"),
    ):
        assert decode(encode(dict(BASE, cri_class=ra)))["cri_code"] == code
    for bad in (59, 101, "high"):
        with pytest.raises(CodeFieldError) as err:
            encode(dict(BASE, cri_class=bad))
        assert err.value.field == "cri_class"


def test_table_codes_avoid_ambiguous_letters():
    for section in ("level", "category", "cct", "cri", "input"):
        for row in RAW[section]:
            assert not AMBIGUOUS_LETTERS & set(row["code"]), row
    assert AMBIGUOUS_LETTERS == {"I", "O", "Q"}


def test_docs_tables_agree_with_data():
    doc = (ROOT / "docs" / "coding.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- TABLES:BEGIN[^\n]*-->\n(.*?)<!-- TABLES:END -->", doc, re.S)
    assert m, "docs/coding.md lacks the TABLES markers"
    assert m.group(1).strip() == render_markdown_tables().strip()
    # and every table row of the data appears in the doc
    for row in RAW["category"] + RAW["input"]:
        assert f"`{row['code']}`" in m.group(1)


def test_docs_example_codes_are_valid():
    doc = (ROOT / "docs" / "coding.md").read_text(encoding="utf-8")
    why_not = doc.index("**Why not MOD 37,36.**")
    end = doc.index("##", why_not)
    examples = re.findall(r"LC1-[0-9A-Z-]{35,}[0-9A-Z*]", doc[:why_not] + doc[end:])
    examples += re.findall(r"\bLC1[0-9A-Z]{28}[0-9A-Z*]", doc[:why_not] + doc[end:])
    assert len(examples) >= 3
    for ex in examples:
        validate(ex)
    # the counter-examples of the rationale are not codes of this scheme
    for ex in re.findall(r"\bLC1[0-9A-Z]{29}\b", doc[why_not:end]):
        assert not is_valid(ex)


# -- parsing forms and hostile input ------------------------------------------------


def test_accepted_forms():
    code = encode(BASE)
    printed = format_code(code)
    for form in (
        code,
        code.lower(),
        printed,
        printed.lower(),
        printed.replace("-", " "),
        f"  {printed}\n",
        "-".join(code),
        printed.title(),
    ):
        assert canonical(form) == code
        assert is_valid(form)


HOSTILE = [
    ("", "format"),
    ("   ", "format"),
    ("X" * 65, "format"),
    ("L" * 10_000, "format"),
    ("LC1", "format"),
    ("'; DROP TABLE components; --", "format"),
    ("LC1-0-CB' OR '1'='1", "format"),
    ("LC10CBM0042308F32C0007000000123Z\x00", "format"),
    ("LC10CBM0042308F32C0007000000123\x1bZ", "format"),
    ("LC10CBM0042308F32C0007\t000000123Z", "format"),
    ("LC1–0–CB–M0042–30–8–F32–C–0007–000000123–Z", "format"),  # en dashes
    ("<script>alert(1)</script>", "format"),
    ("%00%27", "format"),
]


@pytest.mark.parametrize(("text", "field"), HOSTILE)
def test_hostile_input_clean_rejection(text, field):
    with pytest.raises(CodeFieldError) as err:
        decode(text)
    assert err.value.field == field
    msg = str(err.value)
    assert "\n" not in msg and "\x00" not in msg and "\x1b" not in msg
    assert len(msg) < 300


def test_unicode_look_alikes_rejected_with_code_point():
    code = format_code(encode(BASE))
    cases = {
        "О": "CYRILLIC CAPITAL LETTER O",  # in place of the zero of M0042? (any position)
        "С": "CYRILLIC CAPITAL LETTER ES",
        "０": "FULLWIDTH DIGIT ZERO",
        "Ｌ": "FULLWIDTH LATIN CAPITAL LETTER L",
        "ß": "LATIN SMALL LETTER SHARP S",
        "\u200b": "ZERO WIDTH SPACE",
        "\u00a0": "NO-BREAK SPACE",
        "٣": "ARABIC-INDIC DIGIT THREE",
    }
    for ch, name in cases.items():
        for pos in (0, 1, 10, len(code) - 1):
            bad = code[:pos] + ch + code[pos + 1 :]
            with pytest.raises(CodeFieldError) as err:
                decode(bad)
            assert err.value.field == "format"
            assert name in str(err.value) and f"character {pos + 1} " in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: "XC" + p[2:], "prefix"),
        (lambda p: "LC2" + p[3:], "scheme_version"),
        (lambda p: p.replace("-0-CB-", "-2-CB-"), "level"),
        (lambda p: p.replace("-0-CB-", "-0-SM-"), "category"),  # level-1 category
        (lambda p: p.replace("-CB-", "-ZZ-"), "category"),
        (lambda p: p.replace("M0042", "X0042"), "manufacturer"),
        (lambda p: p.replace("M0042", "M0O42"), "manufacturer"),
        (lambda p: p.replace("M0042", "M0000"), "manufacturer"),
        (lambda p: p.replace("-30-", "-31-"), "cct_class"),
        (lambda p: p.replace("-30-8-", "-30-5-"), "cri_class"),
        (lambda p: p.replace("F32", "G32"), "flux_class"),
        (lambda p: p.replace("F32", "F99"), "flux_class"),
        (lambda p: p.replace("-C-0007", "-X-0007"), "input_class"),
        (lambda p: p.replace("0007", "000I"), "model_seq"),
        (lambda p: p.replace("0007", "0000"), "model_seq"),
        (lambda p: p.replace("000000123", "000000000"), "item_serial"),
        (lambda p: p.replace("000000123", "0000001234"), "item_serial"),
        (lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"), "check"),
    ],
)
def test_wrong_field_is_named(mutate, field):
    bad = mutate(format_code(encode(BASE)))
    with pytest.raises(CodeFieldError) as err:
        decode(bad)
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_star_only_as_check_character():
    code = encode(BASE)
    assert code.endswith("*")  # serial 123 of BASE has the check symbol '*'
    assert decode(code.lower())["check"] == "*"
    for pos in (0, 5, 20, 30):
        bad = code[:pos] + "*" + code[pos + 1 :]
        with pytest.raises(CodeFieldError, match="only as the check character"):
            decode(bad)


def test_letter_o_in_digits_gets_hint():
    bad = format_code(encode(BASE)).replace("000000123", "OOOOOO123")
    with pytest.raises(CodeFieldError, match="letter O; digit 0"):
        decode(bad)


def test_non_text_input_rejected():
    for bad in (None, 12, b"LC1", ["LC1"]):
        with pytest.raises(CodeError):
            decode(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_only_code_errors(text):
    try:
        fields = decode(text)
    except CodeError:
        return
    assert canonical(text) == fields["code"]  # accepted means a real code


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET + "-", min_size=30, max_size=45))
def test_fuzz_alphabet_strings(text):
    try:
        decode(text)
    except CodeError:
        pass


# -- encode errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"level": 5}, "level"),
        ({"level": 1}, "category"),  # CB is level 0
        ({"category": "lamp"}, "category"),
        ({"manufacturer": "ACME"}, "manufacturer"),
        ({"nominal_cct_k": 3100}, "nominal_cct_k"),
        ({"input_class": "DC"}, "input_class"),
        ({"model_seq": 0}, "model_seq"),
        ({"model_seq": 10_000}, "model_seq"),
        ({"model_seq": 1.5}, "model_seq"),
        ({"item_serial": 1_000_000_000}, "item_serial"),
        ({"item_serial": -1}, "item_serial"),
        ({"item_serial": True}, "item_serial"),
        ({"scheme_version": 2}, "scheme_version"),
        ({"colour": "red"}, "colour"),
        ({"cct_class": "27"}, "cct_class"),  # disagrees with nominal_cct_k 3000
    ],
)
def test_encode_names_wrong_field(change, field):
    fields = dict(BASE)
    fields.update(change)
    with pytest.raises(CodeFieldError) as err:
        encode(fields)
    assert err.value.field == field


def test_encode_missing_fields():
    for key in (
        "level",
        "category",
        "manufacturer",
        "nominal_cct_k",
        "cri_class",
        "nominal_flux_lm",
        "input_class",
        "model_seq",
        "item_serial",
    ):
        fields = {k: v for k, v in BASE.items() if k != key}
        with pytest.raises(CodeFieldError) as err:
            encode(fields)
        assert err.value.field == key
