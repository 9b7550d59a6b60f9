"""`lightcomp demo`: the whole path on the simulated lab, small lot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _station_helpers import REPO


def test_demo_small_lot_end_to_end(tmp_path, monkeypatch, capsys):
    from lightcomp.commands.demo import run_demo
    from lightcomp.store import Store
    from lightcomp.store.models import Calibration, Component, CurrentMeasurement, Measurement

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LIGHTCOMP_LAB", raising=False)
    out = tmp_path / "out"
    summary = run_demo(count=4, lot="DEMO-T", out=out)
    text = capsys.readouterr().out
    assert summary["run"].status == "completed" and summary["run"].measured == 4
    assert "lot DEMO-T: " in text and "target 95 %" in text
    y = summary["yield"]
    assert y["n_pass"] + y["n_fail"] + y["n_error"] == 4
    from _verdict_oracle import expected_verdict

    assert y["verdict"] == expected_verdict(y["n_pass"], y["n_fail"])
    store = Store.open(f"sqlite:///{out / 'demo.db'}")
    with store.session() as s:
        assert s.query(Component).count() == 4
        assert s.query(CurrentMeasurement).count() == 4
        cal = s.query(Calibration).one()
        assert {m.calibration_id for m in s.query(Measurement)} == {cal.id}
    store.dispose()
    assert summary["report"] and (out / "lot-DEMO-T.html").is_file(), text
    assert "next, try:" in text and "lightcomp records --lot DEMO-T" in text
    from lightcomp.errors import ConfigError

    before = (out / "demo.db").stat().st_size
    with pytest.raises(ConfigError, match="--force"):  # the demo store is not overwritten
        run_demo(count=1, lot="DEMO-T", out=out)
    assert (out / "demo.db").stat().st_size == before


def test_demo_db_option_reads_lightcomp_db():
    import typer.main

    from lightcomp.cli import app

    cmd = typer.main.get_command(app).commands["demo"]
    db = next(p for p in cmd.params if p.name == "db")
    assert db.envvar == "LIGHTCOMP_DB"


def _package_data_rules() -> tuple[set[str], dict[str, list[str]]]:
    """The packages setuptools finds and the package-data globs of pyproject.toml."""
    import tomllib

    from setuptools import find_namespace_packages

    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = cfg["packages"]["find"]["include"]
    return set(find_namespace_packages(where=str(REPO), include=include)), cfg["package-data"]


def _shipped(path: Path, packages: set[str], rules: dict[str, list[str]]) -> bool:
    """True when ``path`` (inside ``lightcomp/``) goes into the wheel: a module of a found
    package, or a file matched by a package-data glob of one of its packages."""
    from pathlib import PurePosixPath

    rel = PurePosixPath(path.relative_to(REPO).as_posix())
    for depth in range(1, len(rel.parts)):
        package = ".".join(rel.parts[:depth])
        if package not in packages:
            continue
        inside = PurePosixPath(*rel.parts[depth:])
        if len(inside.parts) == 1 and inside.suffix == ".py":
            return True
        for pattern in (*rules.get("*", ()), *rules.get(package, ())):
            if len(PurePosixPath(pattern).parts) == len(inside.parts) and inside.match(pattern):
                return True
    return False


def test_demo_runs_from_an_empty_folder_on_files_the_wheel_ships(tmp_path, monkeypatch, capsys):
    """`pip install .` then `lightcomp demo` in any folder: the demo reads its lab data from
    the package (not the current folder, not the repository root), and every file it opens
    in the source tree is one the wheel ships (a module or package data)."""
    import sys

    from lightcomp.commands.demo import run_demo
    from lightcomp.labpaths import PACKAGED_LAB

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("LIGHTCOMP_LAB", raising=False)
    monkeypatch.delenv("LIGHTCOMP_DB", raising=False)
    opened: list[Path] = []
    recording = [True]

    def hook(event, args):
        if recording[0] and event == "open" and isinstance(args[0], str | Path):
            opened.append(Path(args[0]).absolute())

    sys.addaudithook(hook)  # cannot be removed: switched off below
    try:
        summary = run_demo(count=1, lot="DEMO-E", out=empty / "out")
    finally:
        recording[0] = False
    assert summary["run"].status == "completed" and summary["run"].measured == 1
    assert list(empty.iterdir()) == [empty / "out"]  # nothing else written to the cwd
    packages, rules = _package_data_rules()
    lab_files = [p for p in opened if p.is_relative_to(PACKAGED_LAB)]
    assert {p.name for p in lab_files} >= {"sim.toml", "LS0-COB-4000.toml", "demo.toml",
                                           "devices.toml", "SIM-STD-001.toml",
                                           "SIM-STD-001.csv"}  # fmt: skip
    # The package as imported: the source tree's lightcomp/ (editable install, PYTHONPATH)
    # or the installed copy in site-packages (`pip install .`, as .ci/run does).
    import lightcomp

    package = Path(lightcomp.__file__).resolve().parent
    read = [p for p in opened if p.is_file() and "__pycache__" not in p.parts]
    checkout = [p for p in read if p.is_relative_to(REPO) and not p.is_relative_to(package)]
    assert not checkout, f"the demo read files the package does not hold: {checkout}"
    if package == REPO / "lightcomp":  # source layout: would the wheel ship them?
        missing = [
            p for p in read if p.is_relative_to(package) and not _shipped(p, packages, rules)
        ]
        assert not missing, f"files the demo reads that the wheel would not ship: {missing}"


def test_every_file_of_the_packaged_lab_is_package_data():
    """The lab folders (through lightcomp/labdata's links) go into the wheel whole, so a lab
    file added later for the demo cannot be forgotten in pyproject.toml."""
    from lightcomp.labpaths import LAB_FOLDERS, PACKAGED_LAB

    if not (PACKAGED_LAB / LAB_FOLDERS[0]).is_symlink():
        # An installed copy (`pip install .`, as .ci/run does): the wheel resolved the
        # links; it must hold every file of the repository's lab folders, byte for byte.
        for name in LAB_FOLDERS:
            src, dst = REPO / name, PACKAGED_LAB / name
            want = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
            have = {p.relative_to(dst) for p in dst.rglob("*") if p.is_file()}
            assert want <= have, f"lab files the wheel did not ship: {sorted(want - have)}"
            assert all((src / f).read_bytes() == (dst / f).read_bytes() for f in want)
        return
    packages, rules = _package_data_rules()
    for name in LAB_FOLDERS:
        link = PACKAGED_LAB / name
        assert link.is_symlink() and link.resolve() == REPO / name  # one home: the repo folder
    files = [
        Path(folder, f)
        for folder, _, names in os.walk(PACKAGED_LAB, followlinks=True)
        for f in names
    ]
    assert len(files) >= 10
    missing = [p for p in files if not _shipped(p, packages, rules)]
    assert not missing, f"lab files the wheel would not ship: {missing}"


def test_demo_with_a_bad_lab_folder_says_which(tmp_path, monkeypatch, capsys):
    from lightcomp.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIGHTCOMP_LAB", str(tmp_path))
    assert main(["demo", "--count", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: LIGHTCOMP_LAB=") and "no station/ and calibration/" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args",
    [
        [
            "station",
            "check",
            "station/plans/LS0-COB-4000.toml",
            "station/plans/LM1-AC-3000.toml",
            "station/sim.toml",
        ]
    ],
)
def test_station_check_command(monkeypatch, capsys, args):
    from lightcomp.cli import main

    monkeypatch.chdir(REPO)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "plan LS0-COB-4000 ok" in out and "station SIM-1 ok" in out
