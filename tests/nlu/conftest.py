from __future__ import annotations

import pytest

import nlu


@pytest.fixture(scope="session")
def nlu_model() -> nlu.Nlu:
    return nlu.load()
