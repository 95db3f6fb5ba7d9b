"""Start-up cost: ``import sharedrep`` and ``sharedrep --help``, in fresh interpreters.

Each case runs in a new ``python`` process (nothing cached in memory; the files are in the OS
cache after the first round), ``--repeat`` rounds interleaved so that a noisy machine biases
every case alike; the figure is the median over rounds of the time the statement took inside
the process (interpreter start-up excluded), and, for the command line, the wall time of the
whole process next to that of ``python -c pass`` measured in the same rounds.

    python benchmarks/bench_import.py            # 15 rounds
    python benchmarks/bench_import.py --repeat 5

Cases:

* ``import numpy``: the floor (every use of sharedrep needs numpy).
* ``import sharedrep``: target under 0.3 s. Public names are loaded on first use (PEP 562).
* ``import sharedrep; sr.ShaReD``: what a first fit pays before any work (numpy, scipy,
  pandas, xarray and the estimator's modules).
* ``import sharedrep; sr.report``: the figures and the report (adds matplotlib's core).
* ``sharedrep --help``: the whole process, against ``python -c pass``.

Results are printed and written to ``benchmarks/results/import.md``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import emit

TIMED = "import time as _t; _t0 = _t.perf_counter(); {stmt}; print(_t.perf_counter() - _t0)"
CASES = {
    "import numpy": "import numpy",
    "import sharedrep": "import sharedrep",
    "import sharedrep; sr.ShaReD": "import sharedrep as sr; sr.ShaReD",
    "import sharedrep; sr.report": "import sharedrep as sr; sr.report",
}


def _inside(stmt: str) -> float:
    """Seconds ``stmt`` takes in a fresh interpreter (start-up excluded)."""
    res = subprocess.run(
        [sys.executable, "-c", TIMED.format(stmt=stmt)], capture_output=True, text=True, check=True
    )
    return float(res.stdout.strip().splitlines()[-1])


def _wall(argv: list[str]) -> float:
    """Wall seconds of a whole process."""
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "import.md"), help="markdown"
    )
    args = parser.parse_args()
    inside: dict[str, list[float]] = {k: [] for k in CASES}
    wall: dict[str, list[float]] = {"python -c pass": [], "sharedrep --help": []}
    help_cmd = [
        sys.executable,
        "-c",
        "import sys; from sharedrep.cli import main; main(['--help'])",
    ]
    for _ in range(args.repeat):
        for name, stmt in CASES.items():
            inside[name].append(_inside(stmt))
        wall["python -c pass"].append(_wall([sys.executable, "-c", "pass"]))
        wall["sharedrep --help"].append(_wall(help_cmd))
    lines = [
        f"# Start-up time ({platform.machine()}, Python {platform.python_version()}, "
        f"median of {args.repeat} fresh processes)",
        "",
        "| statement | seconds (inside the process) | target |",
        "|---|---:|---|",
    ]
    for name, times in inside.items():
        target = "< 0.3" if name == "import sharedrep" else ""
        lines.append(f"| `{name}` | {statistics.median(times):.3f} | {target} |")
    base = statistics.median(wall["python -c pass"])
    cli = statistics.median(wall["sharedrep --help"])
    lines += [
        "",
        "| process | wall seconds | minus `python -c pass` |",
        "|---|---:|---:|",
        f"| `python -c pass` | {base:.3f} | 0 |",
        f"| `sharedrep --help` | {cli:.3f} | {cli - base:.3f} |",
    ]
    emit("\n".join(lines) + "\n", args.out, append=False)


if __name__ == "__main__":
    main()
