"""Shared by the benchmarks: run a measurement in a fresh Python process, report the machine.

Peak memory is VmHWM from /proc/self/status (the high-water mark of the process's own address
space). ru_maxrss is not used: it survives exec, so a child forked from a large benchmark
process would report the parent's size.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import json, sys, time
from pathlib import Path

def high_water_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
"""


def run_fresh(code: str, *args: str) -> dict[str, Any]:
    """Run PRELUDE + code in a new interpreter with the repo importable; it prints JSON last."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + code, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
