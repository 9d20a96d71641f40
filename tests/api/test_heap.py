"""What start-up built is frozen out of the cycle collector; a reloaded NLU model still lets the old
one go (a model with reference cycles, frozen, would otherwise never be freed)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from api.heap import freeze_long_lived, swap_long_lived


class Model:
    def __init__(self) -> None:
        self.parts = [self]  # a reference cycle, as a loaded spaCy pipeline has


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    freeze_long_lived()
    yield
    gc.unfreeze()


def test_start_up_objects_are_set_aside(frozen_heap: None) -> None:
    assert gc.get_freeze_count() > 1000  # the interpreter, the libraries, this test run


def test_a_swapped_out_model_is_freed_and_the_new_one_set_aside(frozen_heap: None) -> None:
    holder = {"model": Model()}
    freeze_long_lived()  # the model loaded at start-up
    old = weakref.ref(holder["model"])

    def load_another() -> Model:
        holder["model"] = Model()
        return holder["model"]

    new = swap_long_lived(load_another)
    assert old() is None
    assert new is holder["model"] and gc.get_freeze_count() > 0
