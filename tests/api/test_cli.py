"""The `hotline` command as an administrator uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_help_lists_the_commands() -> None:
    text = run("--help")
    for command in ("serve", "migrate", "seed", "user", "report", "apikey", "ticket", "nlu", "telegram", "citizen"):
        assert command in text


def test_migrate_seed_accounts_keys_reports_and_feedback(env: Path) -> None:
    assert "schema at" in run("migrate")
    assert "units: 0 created" in run("seed")  # already seeded by the fixture: nothing twice
    assert "password:" in run("user", "add", "lihua", "--role", "operator")
    assert "created wjx (unit_handler)" in run("user", "add", "wjx", "--role", "unit_handler", "--unit", "110105026",
                                             "--password", "a long enough secret")
    refused = runner.invoke(app, ["user", "add", "short", "--role", "operator", "--password", "short"])
    assert refused.exit_code != 0
    assert "api_key for fixmystreet:" in run("apikey", "add", "fixmystreet")
    run("sla", "set", "--category", "环境保护", "--urgent", "--sign-minutes", "15", "--resolve-hours", "12")
    rules = run("sla", "list")
    assert "环境保护\t紧急\t签收 15 分钟\t办结 12 小时" in rules and "（全部类别）\t一般\t签收 120 分钟" in rules
    report = run("report", "month", "2026-10", "--out", str(env / "reports"))
    assert "【先进类】" in report and (env / "reports" / "ranking-2026-10.xlsx").exists()
    out = env / "feedback.jsonl"
    assert "wrote 0 labelled examples" in run("nlu", "export-feedback", "--out", str(out))
    assert out.read_text() == ""
