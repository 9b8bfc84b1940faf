"""Progress reporting for long stages, and the result record every stage returns.

A stage asks ``progress(desc, total=..., unit=...)`` for a bar and calls ``bar.update(n)``. The library default
reports nothing; the CLI passes :func:`tqdm_progress`, which draws bars with counts, rate and an estimate of the
time left on a terminal and stays quiet when stderr is not one (logs, CI).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class StageResult:
    """What one stage did: its name and counts (printed as one line by the CLI)."""

    stage: str
    counts: dict[str, Any] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set, repr=False)  # narratives a stage changed (for the next stage)
    seconds: float | None = None  # wall time, set by ``update``

    def summary(self) -> str:
        took = f" ({self.seconds:.1f} s)" if self.seconds is not None else ""
        return f"{self.stage}: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()) + took


class Bar(Protocol):
    def update(self, n: int = 1) -> Any: ...


class Progress(Protocol):
    def __call__(self, desc: str, *, total: int | None = None, unit: str = " items") -> Any: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None


@contextmanager
def _no_progress(desc: str, *, total: int | None = None, unit: str = " items") -> Iterator[Bar]:
    yield _NoBar()


NO_PROGRESS: Progress = _no_progress


@contextmanager
def tqdm_progress(desc: str, *, total: int | None = None, unit: str = " items") -> Iterator[Bar]:
    """A tqdm bar on stderr (counts, rate, time left), disabled when stderr is not a terminal."""
    from tqdm import tqdm

    with tqdm(desc=desc, total=total, unit=unit, file=sys.stderr, disable=None, leave=False,
              dynamic_ncols=True) as bar:
        yield bar
