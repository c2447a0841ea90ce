"""Progress on the terminal: a redrawn bar on a TTY, occasional lines elsewhere.

The engine reports ``(done, total)`` in path-days (paths × days simulated, DESIGN.md's unit
of work); :class:`ProgressBar` is the callable the CLI hands it. Nothing here imports the
rest of the package, so any layer's caller can use it.
"""
from __future__ import annotations

import sys
import time

#: Seconds between redraws of the bar (a run reports every simulated day).
REDRAW_S = 0.1
#: Line mode (stderr not a terminal) prints at every this fraction of the work.
LINE_STEP = 0.1


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressBar:
    """Progress of ``(done, total)`` units on ``stream`` (default stderr).

    On a terminal (``tty``, default ``stream.isatty()``) the bar is redrawn in place with a
    carriage return, at most every :data:`REDRAW_S` seconds and at the end; otherwise a line
    is printed at each tenth of the work, so logs stay short.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar("path-days", stream=out, tty=False, clock=lambda: 0.0)
    >>> for done in range(0, 101, 25):
    ...     bar(done, 100)
    >>> bar.close()
    >>> print(out.getvalue().splitlines()[-1])
    hashfleet: 100% (100 of 100 path-days)
    """

    def __init__(self, unit: str, *, label: str = "simulating", stream=None, tty: bool | None = None,
                 width: int = 28, clock=time.monotonic):
        self.unit, self.label, self.width, self.clock = unit, label, width, clock
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = clock()
        self.last_draw = None
        self.last_step = -1
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        if not self.tty:
            step = int(fraction / LINE_STEP + 1e-9)
            if step > self.last_step:
                self.last_step = step
                self.stream.write(f"hashfleet: {fraction:.0%} ({done:,} of {total:,} {self.unit})\n")
                self.stream.flush()
            return
        now = self.clock()
        if done < total and self.last_draw is not None and now - self.last_draw < REDRAW_S:
            return
        self.last_draw = now
        filled = int(self.width * fraction)
        elapsed = now - self.started
        left = f"  ~{_clock(elapsed * (1 - fraction) / fraction)} left" if 0 < fraction < 1 else ""
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%}  "
                          f"{done:,}/{total:,} {self.unit}  {_clock(elapsed)}{left}\033[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def stages(progress, count: int):
    """Split one progress callback over ``count`` runs of equal size done one after another.

    Returns ``stage(k)``, the callback for run ``k`` (0-based): it reports ``(done, total)`` of
    that run to ``progress`` as ``(k × total + done, count × total)``, so a workflow of several
    simulations (compare, upgrade) draws one bar from 0 to 100 %. ``progress`` False or None
    gives callbacks that are False (the engine's "no progress").

    Examples
    --------
    >>> seen = []
    >>> stage = stages(lambda done, total: seen.append((done, total)), 3)
    >>> stage(0)(50, 100); stage(2)(100, 100)
    >>> seen
    [(50, 300), (300, 300)]
    """
    if not progress or not callable(progress):
        return lambda k: progress or False

    def stage(k: int):
        return lambda done, total: progress(k * total + done, count * total)

    return stage
