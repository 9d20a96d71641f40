"""CPU time by part of the system, read from /proc (Linux): what one message costs each of them.

Throughput on a shared machine drifts from run to run; the CPU a message costs each part moves
much less, and says where to look.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    command: str  # the kernel's short name (`postgres`, `redis-server`)
    session: int
    cpu_seconds: float  # user + system, all threads


def processes() -> list[ProcStat]:
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        command, _, rest = stat[stat.index("(") + 1 :].rpartition(")")
        fields = rest.split()
        found.append(ProcStat(int(entry.name), command, int(fields[3]), (int(fields[11]) + int(fields[12])) / ticks))
    return found


Parts = Mapping[str, Callable[[ProcStat], bool]]


def cpu_by_part(parts: Parts) -> dict[str, float]:
    totals = dict.fromkeys(parts, 0.0)
    for process in processes():
        for name, belongs in parts.items():
            if belongs(process):
                totals[name] += process.cpu_seconds
                break
    return totals


class CpuMeter:
    """`start()`, the work, `per_message(n)`: milliseconds of CPU each part spent a message."""

    def __init__(self, parts: Parts) -> None:
        self._parts = parts
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = cpu_by_part(self._parts)

    def per_message(self, messages: int) -> dict[str, float]:
        after = cpu_by_part(self._parts)
        return {name: (after[name] - self._before.get(name, 0.0)) * 1000 / max(messages, 1) for name in after}


def line(costs: Mapping[str, float]) -> str:
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in costs.items())
    return f"CPU a message (ms): {parts}; {sum(costs.values()):.2f} in all"
