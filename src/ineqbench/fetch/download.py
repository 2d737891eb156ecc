"""Download one file robustly: streamed to a stable `.part`, resumed, retried, verified, renamed.

Checkpoint hosts fail in ways a plain `urlretrieve` hides: connections drop mid-file, servers answer
5xx or 429 under load, and Google Drive (RobustBench's host) answers a quota or login page with
status 200. `download` therefore streams into `<dest>.part`, resumes it with an HTTP Range request on
the next attempt (or the next run), retries transient failures with exponential backoff, refuses
HTML pages, checks size and sha256, and only then renames the part onto `dest`. A file at `dest` is
thus always complete and verified; a file a user placed there by hand is never deleted.

Offline machines (compute nodes) are told which file to place where instead of hanging: with
INEQBENCH_OFFLINE=1 or HF_HUB_OFFLINE=1 nothing touches the network. An unreachable host
(connection refused, DNS failure, no route) raises `OfflineError` at once when the host has not
answered during this call, because waiting cannot give a machine internet; once the host has
answered, a refusal is taken as a transient hiccup and retried like a dropped connection.
"""

from __future__ import annotations

import errno
import http.client
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from ineqbench.io import sha256_file

log = logging.getLogger(__name__)

OFFLINE_VARS = ("INEQBENCH_OFFLINE", "HF_HUB_OFFLINE")
_TRUTHY = frozenset({"1", "true", "yes"})
_USER_AGENT = "ineqbench-download/1"
_HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<body")
_UNREACHABLE_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})
_UNREACHABLE_TEXT = (
    "network is unreachable",
    "name or service not known",
    "no route to host",
    "temporary failure in name resolution",
    "nodename nor servname",
)
# Raised while talking to a host that did answer; a fresh request that resumes the part may cure them.
_TRANSIENT_ERRORS = (http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout)
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


class DownloadError(RuntimeError):
    """A download failed; the message names the URL (or the file) and the reason."""


class OfflineError(DownloadError):
    """No network (offline mode or an unreachable host); the message says which file to place where."""


class _Transient(Exception):
    """A failure that a new request, resuming the part, may cure."""


class _Incomplete(_Transient):
    """The body ended before its Content-Length."""

    def __init__(self, received: int, total: int) -> None:
        super().__init__(f"connection closed after {received} of {total} bytes")
        self.received, self.total = received, total


def _offline_var() -> str | None:
    """The first offline variable set to a true value, or None."""
    return next((v for v in OFFLINE_VARS if os.environ.get(v, "").strip().lower() in _TRUTHY), None)


def offline_mode() -> bool:
    """True when INEQBENCH_OFFLINE or HF_HUB_OFFLINE is "1", "true" or "yes" (any case)."""
    return _offline_var() is not None


def looks_like_html(path: str | Path) -> bool:
    """Whether the file starts like an HTML page (after an optional BOM and whitespace)."""
    with open(path, "rb") as f:
        head = f.read(512)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(b"<?xml"):  # XHTML error pages open with an XML declaration
        return b"<html" in head
    return head.startswith(_HTML_PREFIXES)


def _expected(sha256: str | None, size: int | None) -> str:
    known = [
        text for text, given in ((f"sha256 {sha256}", sha256 is not None), (f"{size} bytes", size is not None)) if given
    ]
    return f" (expected {', '.join(known)})" if known else ""


def _place_it(url: str, dest: Path, sha256: str | None, size: int | None) -> str:
    return f"On a machine with internet, download {url} and place it at {dest}{_expected(sha256, size)}"


def _unreachable(err: urllib.error.URLError) -> bool:
    """Whether `err` says the host cannot be reached at all (as opposed to a failed exchange)."""
    reason = err.reason
    if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
        return True
    if isinstance(reason, OSError) and reason.errno in _UNREACHABLE_ERRNOS:
        return True
    return isinstance(reason, OSError) and any(t in str(reason).lower() for t in _UNREACHABLE_TEXT)


def _check_existing(dest: Path, url: str, sha256: str | None, size: int | None) -> None:
    """Raise unless the file already at `dest` is the expected one; never delete it."""
    problems = []
    actual_size = dest.stat().st_size
    if size is not None and actual_size != size:
        problems.append(f"it has {actual_size} bytes, expected {size}")
    if sha256 is not None:
        actual = sha256_file(dest)
        if actual != sha256.lower():
            problems.append(f"its sha256 is {actual}, expected {sha256}")
    elif looks_like_html(dest):  # nothing to compare with, but an HTML page is never a checkpoint
        problems.append("it is an HTML page, not the file")
    if problems:
        raise DownloadError(
            f"{dest} already exists but does not match {url}: {'; '.join(problems)}. "
            f"It was left in place; delete it to download it again."
        )


def _range_parts(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total length) of a Content-Range header; None where absent or '*'."""
    match = _CONTENT_RANGE.match(header or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def _on_http_error(err: urllib.error.HTTPError, url: str, part: Path, offset: int) -> None:
    """Turn an HTTP error status into: part complete (416), a transient failure, or a final error."""
    try:
        if err.code == 416 and offset:
            _, total = _range_parts(err.headers.get("Content-Range"))
            if total is not None and total != offset:  # a stale part of some other version of the file
                part.unlink()
                raise _Transient(f"partial file has {offset} bytes but the server's file {total}; starting over")
            log.info("%s: the partial file already holds all %d bytes", url, offset)
            return
        if err.code == 429 or err.code >= 500:
            raise _Transient(f"HTTP {err.code} {err.reason}")
        raise DownloadError(f"HTTP {err.code} {err.reason} for {url}")
    finally:
        err.close()


def _fetch_once(url: str, part: Path, *, timeout_s: float, progress: bool, chunk_bytes: int) -> str | None:
    """One request that extends `part` (resuming when it exists); return the response's Content-Type."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        log.info("resuming %s from byte %d", url, offset)
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as err:
        _on_http_error(err, url, part, offset)
        return None
    with response:
        if response.status == 206:
            start, _ = _range_parts(response.headers.get("Content-Range"))
            if start != offset:  # appending would splice the wrong bytes in
                part.unlink()
                raise _Transient(f"server resumed at byte {start}, not {offset}; starting over")
        elif offset:
            log.info("%s ignored the Range request (HTTP %d); starting over", url, response.status)
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        received = offset
        with (
            open(part, "ab" if offset else "wb") as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            try:
                while chunk := response.read(chunk_bytes):
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead as err:  # chunked bodies raise; the bytes read still count
                f.write(err.partial)
                received += len(err.partial)
                raise _Incomplete(received, total if total is not None else received + (err.expected or 0)) from err
        # http.client returns b"" rather than raising when a sized body ends early
        if total is not None and received < total:
            raise _Incomplete(received, total)
        return response.headers.get("Content-Type")


def _fetch(
    url: str,
    dest: Path,
    part: Path,
    *,
    sha256: str | None,
    size: int | None,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    progress: bool,
    chunk_bytes: int,
) -> str | None:
    """`_fetch_once` with retries and backoff; return the last response's Content-Type."""
    answered = False  # whether the host has replied during this call: then a refusal is transient
    failure: BaseException | None = None
    attempts = retries + 1
    for attempt in range(attempts):
        if attempt:
            delay = backoff_s * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d of %d in %.2f s", url, failure, attempt, retries, delay)
            time.sleep(delay)
        try:
            return _fetch_once(url, part, timeout_s=timeout_s, progress=progress, chunk_bytes=chunk_bytes)
        except _Transient as err:
            failure, answered = err, True
        except urllib.error.URLError as err:  # raised before any reply (HTTPError is handled inside)
            if _unreachable(err) and not answered:
                raise OfflineError(
                    f"cannot reach the host of {url} ({err.reason}). "
                    f"{_place_it(url, dest, sha256, size)}; set INEQBENCH_OFFLINE=1 "
                    f"to skip the network."
                ) from err
            failure = err
        except _TRANSIENT_ERRORS as err:
            failure, answered = err, True
    kept = f"; {part} keeps {part.stat().st_size} bytes and the next run resumes from it" if part.exists() else ""
    if isinstance(failure, _Incomplete):
        raise DownloadError(
            f"incomplete download of {url}: {failure.received} of {failure.total} bytes "
            f"arrived in {attempts} attempts{kept}"
        ) from failure
    if isinstance(failure, urllib.error.URLError) and _unreachable(failure):
        raise OfflineError(
            f"lost the host of {url} ({failure.reason}) after {attempts} attempts{kept}. "
            f"{_place_it(url, dest, sha256, size)}"
        ) from failure
    raise DownloadError(f"download of {url} failed after {attempts} attempts: {failure}{kept}") from failure


def _verify(part: Path, url: str, content_type: str | None, sha256: str | None, size: int | None) -> None:
    """Delete `part` and raise unless it is the expected file (not an HTML page, right size and hash)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "text/html" or looks_like_html(part):
        with open(part, "rb") as f:
            first = f.read(200)
        part.unlink()
        raise DownloadError(
            f"{url} served an HTML page instead of a file (a login, quota or error page); first bytes: {first!r}"
        )
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink()
        raise DownloadError(f"{url}: expected {size} bytes, got {actual_size}; the download was deleted")
    if sha256 is not None:
        actual = sha256_file(part)
        if actual != sha256.lower():
            part.unlink()
            raise DownloadError(f"{url}: expected sha256 {sha256}, got {actual}; the download was deleted")


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    progress: bool = True,
    chunk_bytes: int = 1 << 20,
) -> Path:
    """Fetch `url` to `dest` (resumable, retried, verified against `sha256`/`size`) and return `dest`.

    An existing `dest` is checked, not re-downloaded; a mismatching one raises and is kept. Transient
    failures (dropped connections, timeouts, short bodies, HTTP 5xx and 429) are retried `retries`
    times after the first try, waiting `backoff_s * 2**k` before retry k+1, each resuming the part.
    Other HTTP errors raise `DownloadError` at once; no network raises `OfflineError`.
    """
    dest = Path(dest)
    if dest.exists():
        _check_existing(dest, url, sha256, size)
        log.debug("%s already present and verified", dest)
        return dest
    var = _offline_var()
    if var is not None:
        raise OfflineError(
            f"offline ({var}={os.environ[var]}): {dest} is missing. {_place_it(url, dest, sha256, size)}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")  # a stable name, so the next call can resume it
    log.info("downloading %s to %s", url, dest)
    content_type = _fetch(
        url,
        dest,
        part,
        sha256=sha256,
        size=size,
        retries=retries,
        backoff_s=backoff_s,
        timeout_s=timeout_s,
        progress=progress,
        chunk_bytes=chunk_bytes,
    )
    _verify(part, url, content_type, sha256, size)
    os.replace(part, dest)
    log.info("downloaded %s (%d bytes)", dest, dest.stat().st_size)
    return dest
