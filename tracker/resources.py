"""Where the shipped labelled sets live (the repository's ``datasets/`` folder)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

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


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines file (gzipped if the name ends in .gz), blank lines skipped.

    For the project's own training files; user-supplied evaluation files go through
    :func:`tracker.evaluate.read_jsonl`, which names the bad line.
    """
    with (gzip.open if str(path).endswith(".gz") else open)(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
