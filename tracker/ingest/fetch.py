"""Fetching pages and feeds over HTTP(S), with a timeout and a size cap, and a clear error when offline."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from tracker import TrackerError, __version__

MAX_BYTES = 20 * 1024 * 1024
USER_AGENT = f"tracker/{__version__} (+claim and narrative tracker)"


class FetchError(TrackerError):
    """A URL could not be fetched."""


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def fetch_url(url: str, *, timeout: float = 20.0) -> tuple[bytes, str | None]:
    """Return the body and content type of ``url``.

    Raises:
        FetchError: HTTP error status, timeout, unreachable host (offline), or a body over 20 MiB.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            data = response.read(MAX_BYTES + 1)
            content_type = response.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.timeout | TimeoutError):
            raise FetchError(f"timed out after {timeout:g}s") from exc
        if isinstance(reason, socket.gaierror):
            raise FetchError(f"cannot resolve host (offline?): {reason}") from exc
        raise FetchError(f"cannot connect (offline?): {reason}") from exc
    except TimeoutError as exc:
        raise FetchError(f"timed out after {timeout:g}s") from exc
    except OSError as exc:
        raise FetchError(f"cannot fetch: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise FetchError(f"response larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data, content_type
