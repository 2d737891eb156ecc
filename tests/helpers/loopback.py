"""A loopback HTTP server for tests that download: registered bytes, misbehaving on request.

No test may reach the internet, yet the downloader's value lies in how it handles real hosts'
failures: dropped connections, ignored Range headers, 5xx, HTML quota pages. `LoopbackServer` serves
registered paths from 127.0.0.1 on a free port, in a daemon thread, in one of these modes:

- "ok": the bytes, honouring `Range: bytes=N-` / `bytes=N-M` (206 with Content-Range; 416 past the end);
- "truncate": announces the full Content-Length but closes after `drop_after` body bytes, every time
  (Range honoured, so a resuming client gains `drop_after` bytes per request);
- "drop_once": like "truncate" for the first `times` requests, then like "ok";
- "html": status 200, text/html, a quota page whatever the registered bytes;
- "status:<code>": that status with a short text body;
- "no_range": ignores Range, always 200 with the whole body.

`add_tree` serves a directory (for a hub-like layout), and `requests` records (path, Range header)
of every request, HEAD included, so tests can assert what the client asked for.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>"
    b"<body><p>Too many users have viewed or downloaded this file recently.</p></body></html>"
)
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class _Route:
    data: bytes
    content_type: str
    mode: str
    drop_after: int | None
    times: int
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (e.g. X-Repo-Commit)
    served: int = 0  # GET requests answered so far, for "drop_once"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path).lstrip("/")
        owner = self.server.owner
        route, count = owner._record(path, self.headers.get("Range"), counted=body)
        if route is None:
            return self._status(HTTPStatus.NOT_FOUND, body)
        mode, _, code = route.mode.partition(":")
        if code:
            return self._status(int(code), body)
        MODES[mode](self, route, count, body)

    # -- responses -------------------------------------------------------------------------------

    def _status(self, code: int, body: bool) -> None:
        text = f"{code} {self.responses.get(code, ('',))[0]}\n".encode()
        self._send(code, text, "text/plain", body=body)

    def _send(
        self,
        code: int,
        data: bytes,
        content_type: str,
        *,
        body: bool,
        length: int | None = None,
        extra: dict[str, str] | None = None,
        drop_after: int | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data if drop_after is None else data[:drop_after])
        if drop_after is not None:
            self.close_connection = True  # the client sees EOF before Content-Length

    def _ranged(self, route: _Route, body: bool, drop_after: int | None = None) -> None:
        """The whole file, or the requested range as 206; optionally cut after `drop_after` bytes."""
        data, n = route.data, len(route.data)
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{hashlib.sha256(data).hexdigest()}"', **route.headers}
        match = _RANGE.match(self.headers.get("Range") or "")
        if not match:
            return self._send(200, data, route.content_type, body=body, extra=headers, drop_after=drop_after)
        start = int(match.group(1))
        if start >= n:
            return self._send(416, b"", route.content_type, body=body, extra={"Content-Range": f"bytes */{n}"})
        end = min(int(match.group(2)), n - 1) if match.group(2) else n - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{n}"
        self._send(206, data[start : end + 1], route.content_type, body=body, extra=headers, drop_after=drop_after)

    def _ok(self, route: _Route, count: int, body: bool) -> None:
        self._ranged(route, body)

    def _truncate(self, route: _Route, count: int, body: bool) -> None:
        self._ranged(route, body, drop_after=_drop_point(route))

    def _drop_once(self, route: _Route, count: int, body: bool) -> None:
        self._ranged(route, body, drop_after=_drop_point(route) if body and count <= route.times else None)

    def _html(self, route: _Route, count: int, body: bool) -> None:
        self._send(200, HTML_PAGE, "text/html; charset=utf-8", body=body)

    def _no_range(self, route: _Route, count: int, body: bool) -> None:
        self._send(200, route.data, route.content_type, body=body)


def _drop_point(route: _Route) -> int:
    return len(route.data) // 2 if route.drop_after is None else route.drop_after


# Mode name -> response; "status:<code>" is parsed separately.
MODES = {
    "ok": _Handler._ok,
    "truncate": _Handler._truncate,
    "drop_once": _Handler._drop_once,
    "html": _Handler._html,
    "no_range": _Handler._no_range,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (the point of several modes) are not errors here


class LoopbackServer:
    """A local HTTP server of registered bytes; use as `with LoopbackServer() as server:`."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str | None]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="loopback-http"
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- content -----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def add(
        self,
        path: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        mode: str = "ok",
        drop_after: int | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `data` at `path` (replacing any earlier registration) in `mode`; return its URL.
        `headers` are sent with every answer of the ok, truncate and drop_once modes."""
        name, _, code = mode.partition(":")
        if not (name in MODES and not code) and not (name == "status" and code.isdigit()):
            raise ValueError(f"unknown mode {mode!r}; use one of {sorted(MODES)} or 'status:<code>'")
        with self._lock:
            self._routes[path.lstrip("/")] = _Route(data, content_type, mode, drop_after, times, dict(headers or {}))
        return self.url(path)

    def add_tree(self, prefix: str, root_dir: str | Path) -> list[str]:
        """Serve every file under `root_dir` at `prefix/<relative path>` (mode ok); return the paths."""
        root = Path(root_dir)
        paths = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            path = f"{prefix.strip('/')}/{file.relative_to(root).as_posix()}".lstrip("/")
            self.add(path, file.read_bytes())
            paths.append(path)
        return paths

    def _record(self, path: str, range_header: str | None, *, counted: bool) -> tuple[_Route | None, int]:
        """Log a request; return its route and, for GETs, how many GETs that route has now seen."""
        with self._lock:
            self.requests.append((path, range_header))
            route = self._routes.get(path)
            if route is not None and counted:
                route.served += 1
            return route, (route.served if route is not None else 0)
