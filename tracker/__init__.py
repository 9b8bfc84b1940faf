"""tracker: a claim and narrative tracker for contested news coverage."""

from __future__ import annotations

__version__ = "0.1.0"


class TrackerError(Exception):
    """Base class for errors tracker reports to the user as one line."""
