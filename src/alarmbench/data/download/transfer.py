"""One URL to one file over HTTP: retries with exponential backoff, Range resume of a `.part`
file, and whether the server proved the body complete. Nothing here judges the content."""

from __future__ import annotations

import http.client
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from alarmbench.data.download.common import CHUNK, DownloadError

log = logging.getLogger(__name__)

USER_AGENT = "alarmbench-downloader (python-urllib)"


class _Incomplete(Exception):
    """The body ended early or the server answered a resume oddly: worth another attempt."""


# Failures the network or the server may recover from (HTTPError is handled before these).
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, _Incomplete)


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download_url(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: bool = True,
) -> Path:
    """Download `url` to `dest` through ``dest.part``, renamed only once complete.

    An existing ``.part`` is resumed with an HTTP Range request. Connection errors,
    timeouts (`timeout` seconds per socket operation, so a stalled server fails fast),
    truncated bodies and HTTP 5xx/408/429 are retried `retries` more times, sleeping
    ``backoff * 2**attempt`` seconds; other HTTP errors (404, 403, ...) fail at once.
    The content is not verified here: `fetch_file` does that (a body without any length
    from the server cannot be proven complete here either).
    """
    dest = Path(dest)
    part = part_path(dest)
    download_part(
        url, part, expected_size=expected_size, timeout=timeout, retries=retries, backoff=backoff, progress=progress
    )
    os.replace(part, dest)
    return dest


def download_part(
    url: str,
    part: Path,
    *,
    expected_size: int | None = None,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: bool = True,
) -> bool:
    """Bring `part` to the complete body of `url`, retrying transient failures.

    Returns whether completeness is proven: by the server's length (Content-Length, the
    Content-Range total, chunked framing) or `expected_size`. False means the server sent
    no length and closed the connection: the body may have been cut short unnoticed.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    last: BaseException | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            return _attempt(url, part, expected_size, timeout, progress)
        except urllib.error.HTTPError as err:
            err.close()
            if not _retryable_status(err.code):
                raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
            last = err
        except _TRANSIENT as err:
            last = err
    raise DownloadError(f"{url}: failed after {retries + 1} attempts; last error: {last}")


def _retryable_status(code: int) -> bool:
    return code >= 500 or code in (408, 429)


def _attempt(url: str, part: Path, expected_size: int | None, timeout: float, progress: bool) -> bool:
    """One request: continue `part` if the server honours Range, else rewrite it from zero.

    Returns whether the body's length was known (see `download_part`).
    """
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset >= expected_size:
        if offset == expected_size:
            return True  # completed by an earlier run; verification judges the content
        part.unlink()  # longer than the file can be: garbage
        offset = 0
    request = urllib.request.Request(url, headers=_request_headers(offset))
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:
            raise
        err.close()
        part.unlink()  # our offset lies past the end: the part is stale
        raise _Incomplete("server rejected the resume offset; restarting from zero") from err
    with response:
        start = _resume_start(response, offset, part)
        served = _served_total(response, start)
        total = served if served is not None else expected_size
        # A truncated chunked body raises IncompleteRead, so its framing is a length too.
        framed = served is not None or bool(getattr(response, "chunked", False))
        written = _stream(response, part, start, total, progress)
    # http.client returns EOF quietly when a connection drops early: compare lengths.
    if total is not None and written < total:
        raise _Incomplete(f"received {written} of {total} bytes; the connection closed early")
    return framed or expected_size is not None


def _served_total(response: http.client.HTTPResponse, start: int) -> int | None:
    """The whole file's length by the server: the Content-Range total, else start + Content-Length."""
    if response.status == 206:
        match = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
        if match:
            return int(match.group(1))
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _request_headers(offset: int) -> dict[str, str]:
    # identity encoding: offsets and Content-Length must count the bytes we store
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return headers


def _resume_start(response: http.client.HTTPResponse, offset: int, part: Path) -> int:
    """Where the body goes in the file: `offset` for a matching 206, else 0 (full body)."""
    if response.status != 206:
        return 0  # 200: the server ignored Range (or none was sent); start over
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes\s+(\d+)-", content_range)
    if match is None or int(match.group(1)) != offset:
        part.unlink(missing_ok=True)
        raise _Incomplete(f"asked for bytes {offset}- but got Content-Range {content_range!r}; restarting")
    return offset


def _stream(response: http.client.HTTPResponse, part: Path, start: int, total: int | None, progress: bool) -> int:
    """Write the body to `part` from byte `start`; return the file's length afterwards."""
    written = start
    bar = tqdm(
        total=total,
        initial=start,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=part.name.removesuffix(".part"),
        leave=False,
        disable=not (progress and sys.stderr.isatty()),
    )
    with open(part, "ab" if start else "wb") as fh, bar:
        # read1 returns what has arrived, so a stall loses nothing already received.
        while chunk := response.read1(CHUNK):
            fh.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written
