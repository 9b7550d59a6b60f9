"""`--help` of every command: no typer type placeholders (<bool>, <str>), help on every option."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lightcomp.cli import app


def _commands():
    import typer.main

    group = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append(path)

    walk(group, [])
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_help_has_no_type_placeholders(path):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert not re.search(r"<(bool|str|int|float|path)[^>]*>", res.output), res.output


def test_records_says_format_is_required():
    res = CliRunner().invoke(app, ["records", "--help"], env={"COLUMNS": "200"})
    assert "required unless --spectra" in res.output
