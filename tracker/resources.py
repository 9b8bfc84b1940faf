"""Where the shipped labelled sets live (the repository's ``datasets/`` folder)."""

from __future__ import annotations

import os
from pathlib import Path

from tracker import TrackerError

ROOT = Path(__file__).resolve().parent.parent


def dataset_path(*parts: str) -> Path:
    """Path of a shipped file under ``datasets/`` (override the folder with ``TRACKER_DATASETS``).

    Raises:
        TrackerError: the file is not there (tracker installed without its datasets folder).
    """
    base = Path(os.environ.get("TRACKER_DATASETS") or ROOT / "datasets")
    path = base.joinpath(*parts)
    if not path.exists():
        raise TrackerError(f"{path}: shipped dataset not found (set TRACKER_DATASETS to the datasets folder)")
    return path
