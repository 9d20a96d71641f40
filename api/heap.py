"""Keeping Python's cycle collector off what lives as long as the process.

A web process holds the NLU model, the app and its modules: about 270,000 tracked objects, which
a full collection walks in 150 ms on this project's 2-core test machine, holding the interpreter
lock all the while, so every request of the process waits. Frozen after start-up (`gc.freeze`),
they are skipped, and a full collection walks only what the requests made.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def freeze_long_lived() -> None:
    """Once start-up is done: collect what it left behind, then set the survivors aside."""
    gc.collect()
    gc.freeze()


def swap_long_lived(swap: Callable[[], T]) -> T:
    """Replace long-lived objects (a reloaded NLU model) so that the old ones can still be freed:
    the frozen objects go back to the collector for one full collection, then are frozen again."""
    result = swap()
    gc.unfreeze()
    freeze_long_lived()
    return result
