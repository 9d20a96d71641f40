"""Every setting a deployment can change is in the README's configuration table and in
`.env.example`: a new setting without its documentation fails the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    names = ["DATABASE_URL" if name == "database_url" else f"HOTLINE_{name.upper()}" for name in Settings.model_fields]
    assert [name for name in names if name not in text] == []
