from __future__ import annotations

from typer.testing import CliRunner

from nlu.cli import app


def test_cli_lists_its_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("build", "train", "eval", "bench"):
        assert command in result.output
