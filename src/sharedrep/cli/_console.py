"""What the command prints: messages, progress bars, warnings, advice in configuration terms."""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EXIT_CODES = """exit codes:
  0    success
  1    unexpected failure (a bug; the traceback is printed)
  2    user mistake: bad arguments, configuration, data or model file, or an I/O
       failure (output not writable, full disk); a one-line message
  130  interrupted"""


# -- advice in command-line terms ---------------------------------------------------------------
#: Python-keyword advice of the library's messages, and what a configuration user should do
_ADVICE = (
    (re.compile(r"pass nan_policy='omit'"), 'set nan_policy = "omit" in {config}'),
    (re.compile(r"nan_policy='omit'"), 'nan_policy = "omit" in {config}'),
    (re.compile(r"pass out_of_range='trim'"), 'set nwb = {{out_of_range = "trim"}} in {config}'),
    (
        re.compile(r"needs bin_size \(seconds\)"),
        "needs bin_size (seconds): set nwb = {{bin_size = 0.05}} in {config} (50 ms bins)",
    ),
    (
        re.compile(r"\(use null='segments', which permutes whole trials, or a smaller min_shift\)"),
        '(set null = "segments" in {config})',
    ),
    (re.compile(r"n_restarts=(\d+)"), r"n_restarts = \1 in {config}"),
)


_UNITS = re.compile(r"^session '([^']+)': its behavior's spread is more than .*?: ([^)]*)\)")


_UNITS_PAIR = re.compile(
    r"^sessions '([^']+)' and '([^']+)': their standard deviations .*?: ([^)]*)\)"
)


def _cli_terms(text: str, config: str | None) -> str:
    """A library message with its Python advice rewritten for a configuration file."""
    where = config or "the fit's TOML configuration"
    for pattern, advice in _ADVICE:
        if pattern.search(text):
            text = pattern.sub(advice.format(config=where), text, count=1)
    units, pair = _UNITS.match(text), _UNITS_PAIR.match(text)
    if units:  # suggest the rescale that brings the outlier in line (a power of ten)
        factor = _power_of_ten(units.group(2))
        text += (
            f" If not, rescale = {{{units.group(1)} = {factor:g}}} in {where} brings them in line."
        )
    elif pair:
        factor = _power_of_ten(pair.group(3))
        text += (
            f" If not, rescale = {{{pair.group(1)} = {factor:g}}} or "
            f"{{{pair.group(2)} = {1 / factor:g}}} in {where}, for the session whose units differ."
        )
    return text


def _power_of_ten(ratios: str) -> float:
    """The power of ten that undoes the median of ``"x0 98.1, x1 101"``-style ratios."""
    values = sorted(float(v.split()[-1]) for v in ratios.split(", "))
    return 10.0 ** round(-math.log10(values[len(values) // 2]))


# -- output helpers -----------------------------------------------------------------------------
class _Console:
    """Messages on stdout, progress bars and warnings on stderr; ``quiet`` silences both.

    Every warning shown is also kept (``warnings_``, the library's own text) for the report.
    """

    def __init__(self, command: str, quiet: bool, config: str | None = None) -> None:
        self.command = command
        self.quiet = quiet
        self.config = config
        self._shown: set[str] = set()
        self.warnings_: list[str] = []

    def say(self, text: str = "") -> None:
        if not self.quiet:
            self._write(text, sys.stdout)

    def result(self, text: str) -> None:
        """Printed even with ``--quiet`` (where the outputs are)."""
        self._write(text, sys.stdout)

    def _write(self, text: str, file: Any) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=file)  # does not break a progress bar that is being drawn

    def bar(self, total: int, desc: str, unit: str = "step") -> Any:
        from tqdm import tqdm

        # steps take unequal times: their rate and ETA would mislead, elapsed time does not
        fmt = "{desc:<22}{bar:30} {n_fmt}/{total_fmt} steps [{elapsed}]" if unit == "step" else None
        # disable=None: drawn only when stderr is a terminal (no bars in logs or pipes)
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            bar_format=fmt,
            disable=True if self.quiet else None,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def warning(self, message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        """``warnings.showwarning`` replacement: one line, naming the command."""
        from tqdm import tqdm

        name = getattr(category, "__name__", "Warning")
        tag = "warning" if name in ("SharedRepWarning", "UserWarning") else name
        text = str(message)
        units, pair = _UNITS.match(text), _UNITS_PAIR.match(text)
        # a unit mismatch is about a session: once per session, whatever the ratio of a fold
        key = f"units:{units.group(1)}" if units else f"units:{pair.groups()[:2]}" if pair else text
        if key in self._shown:  # the same finding, met again in another fold or resample
            return
        self._shown.add(key)
        if name == "SharedRepWarning":
            self.warnings_.append(text)
        tqdm.write(
            f"sharedrep {self.command}: {tag}: {_cli_terms(text, self.config)}", file=sys.stderr
        )


class _Steps:
    """A progress bar over the named steps of a command (one tick per step)."""

    def __init__(self, console: _Console, steps: Sequence[str]) -> None:
        self.console = console
        self.bar = console.bar(len(steps), steps[0] if steps else "")
        self.t0 = time.perf_counter()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.bar.set_description(name)
        t = time.perf_counter()
        yield
        self.bar.update(1)
        self.console.say(f"  {name}: {time.perf_counter() - t:.1f} s")

    def close(self) -> None:
        self.bar.close()
