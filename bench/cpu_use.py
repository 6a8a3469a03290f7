"""Where a bench phase's CPU went, from Linux's /proc: the whole machine, a process tree, and
PostgreSQL's processes. Benches share 2 CPUs with PostgreSQL and their load generators, so a
rate alone does not say which part to make cheaper; CPU seconds per operation do."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all CPUs spent on anything but idling since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds used) of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on
        found[int(entry.name)] = (name, int(rest[1]), (int(rest[11]) + int(rest[12])) / _TICK)
    return found


@dataclass(frozen=True)
class Snapshot:
    machine: float
    tree: float
    postgres: float
    own: float


def tree_cpu(root: int, processes: dict[int, tuple[str, int, float]] | None = None) -> float:
    """CPU seconds so far of ``root`` and its descendants (a server and its workers)."""
    processes = _processes() if processes is None else processes
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in processes:
            total += processes[pid][2]
        todo.extend(children.get(pid, []))
    return total


def snapshot(root: int) -> Snapshot:
    """CPU seconds so far: the machine, ``root`` and its descendants, the live ``postgres``
    processes (server, backends, WAL writer...), and this process."""
    processes = _processes()
    postgres = sum(cpu for name, _, cpu in processes.values() if name.startswith("postgres"))
    return Snapshot(machine_busy(), tree_cpu(root, processes), postgres, processes[os.getpid()][2])


def per_operation(before: Snapshot, after: Snapshot, operations: int) -> dict[str, float]:
    """Milliseconds of CPU an operation: the machine's, the tree's, PostgreSQL's, this
    process's (PostgreSQL backends that exited in between are missing from ``postgres``)."""
    n = max(operations, 1)
    return {
        key: (getattr(after, key) - getattr(before, key)) * 1000 / n
        for key in ("machine", "tree", "postgres", "own")
    }
