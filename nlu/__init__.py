"""Hotline NLU: one call, `analyze(text, context) -> Analysis`, for every channel's messages.

    nlu = load()                     # once, at start-up
    result = nlu.analyze("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理")

Pure: no I/O per call, no module state except the lazily loaded default instance behind `analyze`.
"""

from __future__ import annotations

import threading

from .pipeline import Nlu, load
from .types import (
    Analysis,
    AnalysisContext,
    Category,
    DialogueAct,
    Enterprise,
    FaqAnswer,
    Location,
    Place,
    RequestType,
    Urgency,
)

__all__ = [
    "Analysis",
    "AnalysisContext",
    "Category",
    "DialogueAct",
    "Enterprise",
    "FaqAnswer",
    "Location",
    "Nlu",
    "Place",
    "RequestType",
    "Urgency",
    "analyze",
    "default",
    "load",
]

_default: Nlu | None = None
_default_lock = threading.Lock()


def default() -> Nlu:
    """The shared instance for the default model and Beijing, loaded on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = load()
    return _default


def analyze(text: str, context: AnalysisContext | None = None) -> Analysis:
    return default().analyze(text, context)
