"""Facts about the machine a benchmark ran on, for the head of BENCHMARKS.md.

`snapshot()` is taken at the start of a run and `finish()` adds the load average at its end, so a
reader can tell whether another job shared the cores while the numbers were taken.
"""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import torch

#: Above this 1-minute load average the run shared its cores with something else.
BUSY_LOAD = 1.5
CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(wanted: tuple[str, ...] = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile"),
              cpuinfo: Path = CPUINFO) -> list[str]:
    """Which of the `wanted` vector-extension flags the CPU reports (they decide bf16/int8 speed)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return [flag for flag in wanted if flag in present]
    except OSError:
        pass
    return []


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def snapshot() -> dict:
    """Machine facts at the start of a run."""
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": load_average(),
    }


def finish(facts: dict) -> dict:
    """`facts` with the load average at the end of the run and a busy flag added."""
    loads = [facts.get("load_start"), load_average()]
    busy = any(load is not None and load > BUSY_LOAD for load in loads)
    return {**facts, "load_end": loads[1], "busy": busy}


if __name__ == "__main__":
    for key, value in finish(snapshot()).items():
        print(f"{key}: {value}")
