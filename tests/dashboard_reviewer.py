"""One dashboard session acting as a reviewer (run as a script by tests/test_concurrency.py).

Usage: ``python tests/dashboard_reviewer.py NAME ACTIONS`` with ``TRACKER_DB`` set. It opens the dashboard with
Streamlit's AppTest, types NAME as the reviewer, and on the Narrative page alternates the review status of the
narrative shown, ACTIONS times, each a separate click. Prints one JSON line: the flash messages and errors seen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboards" / "streamlit_app.py")


def main(name: str, actions: int) -> None:
    sys.argv = ["streamlit_app.py"]
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.sidebar.text_input(key="reviewer").input(name)
    at.switch_page("app_pages/narrative.py")
    at.run()
    done, errors = 0, []
    for i in range(actions):
        status = ("in review", "reviewed")[i % 2]
        at.selectbox(key=[k for k in _keys(at) if k.startswith("rv_status_")][0]).set_value(status)
        at.button(key="rv_set_status").click()
        at.run()
        if at.exception:
            errors.append(str(at.exception[0].value))
        errors += [e.value for e in at.error]
        done += sum(1 for s in at.success if "is now" in s.value)
    print(json.dumps({"reviewer": name, "confirmed": done, "errors": errors}))


def _keys(at: AppTest) -> list[str]:
    return [w.key for w in at.selectbox if w.key]


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
