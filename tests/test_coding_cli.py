"""CLI: lightcomp code / maker / family / registry, and printable labels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lightcomp.cli import app, main
from lightcomp.coding import decode, encode, format_code

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "station" / "registry" / "demo.toml"
PRINTED = re.compile(r"^LC1-[01]-[A-Z]{2}-M\d{4}-\d\d-\d-F\d\d-[A-Z]-\d{4}-\d{9}-[0-9A-Z*]$")
runner = CliRunner()


def run(*args, input=None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = run("registry", "import", DEMO, "--db", url)
    assert r.exit_code == 0, r.output
    assert "manufacturers: 2 added" in r.output and "families: 2 added" in r.output
    return url


def test_code_new_prints_codes(db):
    r = run(
        "code",
        "new",
        "--manufacturer",
        "M0001",
        "--family",
        "LS0-COB-4000",
        "--count",
        "4",
        "--db",
        db,
    )
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == 4
    for i, line in enumerate(lines, 1):
        assert PRINTED.match(line), line
        f = decode(line)
        assert f["item_serial"] == i and f["manufacturer"] == "M0001" and f["level"] == 0
    r2 = run(
        "code",
        "new",
        "-m",
        "Virtual Optoelectronics Ltd. (demo)",
        "-f",
        "LM1-AC-3000",
        "--db",
        db,
        "--lot",
        "L-7",
    )
    assert r2.exit_code == 0, r2.output
    assert decode(r2.output.strip())["item_serial"] == 5
    assert decode(r2.output.strip())["input_class"] == "AC"


def test_code_new_unknown_family_exit_2(db, capsys):
    assert main(["code", "new", "-m", "M0001", "-f", "NOPE", "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "NOPE" in err and len(err.splitlines()) == 1


def test_code_decode_text_and_json():
    code = format_code(
        encode(
            {
                "level": 1,
                "category": "EG",
                "manufacturer": "M0002",
                "nominal_cct_k": 3000,
                "cri_class": 90,
                "nominal_flux_lm": 1800,
                "input_class": "AC",
                "model_seq": 1,
                "item_serial": 42,
            }
        )
    )
    r = run("code", "decode", code.lower())
    assert r.exit_code == 0, r.output
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in r.output.splitlines())
    assert fields["manufacturer"] == "M0002"
    assert fields["nominal_cct_k"] == "3000"
    assert fields["input_class"] == "AC"
    assert fields["item_serial"] == "42"
    assert fields["printed"] == code
    r = run("code", "decode", code, "--json")
    data = json.loads(r.output)
    assert data == decode(code)


def test_code_decode_invalid_exit_2(capsys):
    assert main(["code", "decode", "LC1-0-CB-M0042-30-8-F32-C-0007-000000124-Z"]) == 2
    err = capsys.readouterr().err
    assert "check" in err


def test_code_validate_args_and_stdin(db, tmp_path):
    r = run("code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "-n", "3", "--db", db)
    good = r.output.splitlines()
    r = run("code", "validate", *good)
    assert r.exit_code == 0, r.output
    assert all(line.startswith("ok") for line in r.output.splitlines())
    typo = good[1][:-6] + good[1][-5] + good[1][-6] + good[1][-4:]  # swap two serial digits
    if typo == good[1]:
        typo = good[1][:-3] + "9" + good[1][-2:]
    labels = "\n".join([good[0], typo, "", "LC1-0-CB-M0O01", good[2].lower(), "LС1"]) + "\n"
    r = run("code", "validate", "-", input=labels)
    assert r.exit_code == 1
    out = [ln for ln in r.output.splitlines() if ln.startswith(("ok", "INVALID"))]
    assert len(out) == 5  # blank line skipped
    assert out[0].startswith("ok") and out[3].startswith("ok")
    assert out[1].startswith("INVALID") and "check" in out[1]
    assert out[2].startswith("INVALID") and "format" not in out[2]
    assert "U+0421" in out[4] and "CYRILLIC" in out[4]


def test_code_validate_via_console_script(tmp_path):
    """The real process: exit status 1 and one line per code."""
    code = format_code(
        encode(
            {
                "level": 0,
                "category": "PK",
                "manufacturer": "M0003",
                "nominal_cct_k": 6500,
                "cri_class": 70,
                "nominal_flux_lm": 25,
                "input_class": "CC-DC",
                "model_seq": 12,
                "item_serial": 77,
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", "code", "validate", code, "garbage"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == f"ok      {code}"
    assert lines[1].startswith("INVALID garbage:")
    proc = subprocess.run(
        [sys.executable, "-m", "lightcomp.cli", "code", "validate", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0


def test_reserve_offline_issue_register(db, tmp_path):
    local = f"sqlite:///{tmp_path / 'station.db'}"
    assert run("registry", "import", DEMO, "--db", local).exit_code == 0
    block = tmp_path / "st7.block.json"
    r = run("code", "reserve", "--holder", "ST7", "--count", "4", "-o", block, "--db", db)
    assert r.exit_code == 0, r.output
    assert "serials 1..4" in r.output
    r = run(
        "code",
        "new",
        "-m",
        "M0002",
        "-f",
        "LM1-AC-3000",
        "-n",
        "3",
        "--block",
        block,
        "--db",
        local,
    )
    assert r.exit_code == 0, r.output
    offline = tmp_path / "offline.txt"
    offline.write_text("# station ST7\n" + r.output)
    assert [decode(c)["item_serial"] for c in r.output.split()] == [1, 2, 3]
    # central issue meanwhile continues after the block
    r = run("code", "new", "-m", "M0001", "-f", "LS0-COB-4000", "--db", db)
    assert decode(r.output.strip())["item_serial"] == 5
    r = run("code", "register", offline, "--holder", "ST7", "--db", db)
    assert r.exit_code == 0, r.output
    assert "registered 3 code(s)" in r.output
    r = run("code", "register", "-", "--db", db, input=offline.read_text())
    assert r.exit_code != 0 and "already registered" in str(r.exception)


def test_maker_and_family_add(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    r = run("maker", "add", "Acme LED", "--country", "CN", "--db", url)
    assert r.exit_code == 0 and r.output.startswith("M0001"), r.output
    r = run(
        "family",
        "add",
        "ACME-SPOT",
        "-m",
        "Acme LED",
        "--level",
        "1",
        "--category",
        "SM",
        "--input",
        "CV-DC",
        "--cct",
        "2700",
        "--cri",
        "90",
        "--flux",
        "640",
        "--rated",
        '{"voltage_v": 24}',
        "--limits",
        '{"luminous_flux_lm": {"min": 576}}',
        "--db",
        url,
    )
    assert r.exit_code == 0, r.output
    assert r.output.split()[0] == "LC1-1-SM-M0001-27-9-F28-V-0001"
    r = run("family", "list", "--db", url)
    assert "LC11SMM0001279F28V0001" in r.output
    r = run("maker", "list", "--db", url)
    assert "M0001  Acme LED  CN" in r.output
    r = run("code", "new", "-m", "M0001", "-f", "ACME-SPOT", "-n", "2", "--db", url)
    assert len(r.output.split()) == 2
    r = run(
        "family",
        "add",
        "BAD",
        "-m",
        "M0001",
        "--level",
        "0",
        "--category",
        "SM",
        "--input",
        "AC",
        "--flux",
        "100",
        "--db",
        url,
    )
    assert r.exit_code != 0 and "category" in str(r.exception)
    r = run(
        "family",
        "add",
        "BAD",
        "-m",
        "M0001",
        "--level",
        "1",
        "--category",
        "SM",
        "--input",
        "AC",
        "--flux",
        "100",
        "--rated",
        "{oops",
        "--db",
        url,
    )
    assert r.exit_code != 0 and "--rated" in str(r.exception)


def test_code_tables_matches_docs():
    r = run("code", "tables")
    doc = (ROOT / "docs" / "coding.md").read_text(encoding="utf-8")
    assert r.output.strip() in doc


# -- labels ---------------------------------------------------------------------------

CODE = format_code(
    encode(
        {
            "level": 1,
            "category": "EG",
            "manufacturer": "M0002",
            "nominal_cct_k": 3000,
            "cri_class": 90,
            "nominal_flux_lm": 1800,
            "input_class": "AC",
            "model_seq": 1,
            "item_serial": 4,
        }
    )
)


STAR_CODE = "LC1-0-CB-M0042-30-8-F32-C-0007-000000123-*"  # check symbol '*' (MOD 37-2)


@pytest.mark.parametrize("code", [CODE, STAR_CODE])
def test_label_png_decodes_to_code(tmp_path, code):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    out = tmp_path / "label.png"
    r = run("code", "label", code.lower(), "-o", out, "--line", "LM1-AC-3000")
    assert r.exit_code == 0, r.output
    img = Image.open(out)
    found = zxingcpp.read_barcodes(img)
    assert [b.text for b in found] == [code.replace("-", "")]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert img.info["dpi"][0] == pytest.approx(300, abs=1)


def test_label_svg(tmp_path):
    out = tmp_path / "label.svg"
    r = run("code", "label", CODE, "-o", out)
    assert r.exit_code == 0, r.output
    root = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    texts = [t.text for t in root.findall("s:text", ns)]
    assert texts == [CODE]
    assert root.get("width").endswith("mm")
    path = root.find("s:path", ns).get("d")
    assert path.count("M") > 100  # dark QR modules


def test_label_svg_renders_to_readable_qr(tmp_path):
    """Rasterise the SVG's module squares ourselves and read the QR back (oracle: zxing)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image, ImageDraw

    out = tmp_path / "label.svg"
    run("code", "label", CODE, "-o", out, "--module-mm", "1")
    root = ET.parse(out).getroot()
    d = root.find("{http://www.w3.org/2000/svg}path").get("d")
    w, h = (float(v) for v in root.get("viewBox").split()[2:])
    scale = 8
    img = Image.new("L", (int(w * scale), int(h * scale)), 255)
    draw = ImageDraw.Draw(img)
    for x, y in re.findall(r"M([\d.]+) ([\d.]+)", d):
        x0, y0 = float(x) * scale, float(y) * scale
        draw.rectangle([x0, y0, x0 + scale - 1, y0 + scale - 1], fill=0)
    assert [b.text for b in zxingcpp.read_barcodes(img)] == [CODE.replace("-", "")]


def test_label_pdf_structure(tmp_path):
    out = tmp_path / "label.pdf"
    r = run("code", "label", CODE, "-o", out)
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert f"({CODE}) Tj".encode() in data
    # every xref offset points at its object
    startxref = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    xref = data[startxref:].split(b"trailer")[0].split(b"\n")
    entries = [ln for ln in xref[2:] if ln.strip()]
    for i, entry in enumerate(entries[1:], 1):
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{i} 0 obj".encode())


def test_label_errors(tmp_path, capsys):
    assert main(["code", "label", CODE, "-o", str(tmp_path / "x.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    bad = CODE[:-1] + ("Z" if CODE[-1] != "Z" else "Y")
    assert main(["code", "label", bad, "-o", str(tmp_path / "x.png")]) == 2
    assert "check" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
