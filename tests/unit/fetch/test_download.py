"""The downloader against a loopback server that drops, truncates, ignores Range and serves HTML."""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.request
from pathlib import Path

import pytest

from ineqbench.fetch.download import DownloadError, OfflineError, download, looks_like_html, offline_mode
from tests.helpers.loopback import HTML_PAGE, LoopbackServer

DATA = bytes(range(256)) * 40  # 10 240 bytes, every byte value, so a spliced resume would show
SHA = hashlib.sha256(DATA).hexdigest()
FAST = {"backoff_s": 0.01, "timeout_s": 5.0, "progress": False, "chunk_bytes": 1000}


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Tests start online whatever the developer's shell says."""
    for var in ("INEQBENCH_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_happy_path_checks_sha256_and_size(server, tmp_path):
    dest = tmp_path / "deep" / "dir" / "model.pt"
    out = download(server.add("m.pt", DATA), dest, sha256=SHA, size=len(DATA), **FAST)
    assert out == dest and dest.read_bytes() == DATA
    assert not part_of(dest).exists()
    assert server.requests == [("m.pt", None)]


def test_existing_good_file_needs_no_request(server, tmp_path):
    dest = tmp_path / "model.pt"
    dest.write_bytes(DATA)
    assert download(server.add("m.pt", DATA), dest, sha256=SHA, size=len(DATA), **FAST) == dest
    assert server.requests == []


def test_existing_mismatched_file_raises_and_is_kept(server, tmp_path):
    dest = tmp_path / "model.pt"
    dest.write_bytes(b"placed by hand")
    with pytest.raises(DownloadError) as info:
        download(server.add("m.pt", DATA), dest, sha256=SHA, **FAST)
    message = str(info.value)
    assert str(dest) in message and SHA in message and hashlib.sha256(b"placed by hand").hexdigest() in message
    assert "delete it" in message
    assert dest.read_bytes() == b"placed by hand" and server.requests == []


def test_wrong_sha256_removes_part_and_leaves_no_dest(server, tmp_path):
    dest = tmp_path / "model.pt"
    wrong = "0" * 64
    with pytest.raises(DownloadError, match=f"expected sha256 {wrong}, got {SHA}"):
        download(server.add("m.pt", DATA), dest, sha256=wrong, **FAST)
    assert not dest.exists() and not part_of(dest).exists()


def test_wrong_size_raises(server, tmp_path):
    dest = tmp_path / "model.pt"
    with pytest.raises(DownloadError, match=f"expected {len(DATA) + 1} bytes, got {len(DATA)}"):
        download(server.add("m.pt", DATA), dest, size=len(DATA) + 1, **FAST)
    assert not dest.exists() and not part_of(dest).exists()


@pytest.mark.parametrize("mode, content_type", [("html", "text/html"), ("ok", "application/octet-stream")])
def test_html_page_is_refused(server, tmp_path, mode, content_type):
    """Google Drive's quota page arrives with status 200, sometimes labelled as a binary."""
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", HTML_PAGE, mode=mode, content_type=content_type)
    with pytest.raises(DownloadError, match="served an HTML page instead of a file") as info:
        download(url, dest, **FAST)
    assert "Quota exceeded" in str(info.value)
    assert not dest.exists() and not part_of(dest).exists()


def test_truncated_download_keeps_part_and_reports_bytes(server, tmp_path):
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", DATA, mode="truncate", drop_after=1000)
    with pytest.raises(DownloadError, match=f"3000 of {len(DATA)} bytes arrived in 3 attempts"):
        download(url, dest, sha256=SHA, retries=2, **FAST)
    assert not dest.exists()
    assert part_of(dest).read_bytes() == DATA[:3000]  # each retry resumed where the last stopped
    assert [r for _, r in server.requests] == [None, "bytes=1000-", "bytes=2000-"]


def test_drop_once_then_resume_gives_identical_bytes(server, tmp_path):
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", DATA, mode="drop_once", drop_after=4000)
    download(url, dest, sha256=SHA, size=len(DATA), retries=2, **FAST)
    assert dest.read_bytes() == DATA
    assert server.requests == [("m.pt", None), ("m.pt", "bytes=4000-")]


def test_next_run_resumes_the_kept_part(server, tmp_path):
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", DATA, mode="drop_once", drop_after=4000)
    with pytest.raises(DownloadError, match="resumes"):
        download(url, dest, sha256=SHA, retries=0, **FAST)
    download(url, dest, sha256=SHA, retries=0, **FAST)
    assert dest.read_bytes() == DATA
    assert server.requests[-1] == ("m.pt", "bytes=4000-")


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", DATA, mode="drop_once", drop_after=4000)
    with pytest.raises(DownloadError):
        download(url, dest, sha256=SHA, retries=0, **FAST)
    server.add("m.pt", DATA, mode="no_range")
    download(url, dest, sha256=SHA, retries=0, **FAST)
    assert dest.read_bytes() == DATA  # appending the 200 body to the part would have doubled 4000 bytes
    assert server.requests[-1] == ("m.pt", "bytes=4000-")


def test_complete_part_answered_416_is_verified_and_kept(server, tmp_path):
    dest = tmp_path / "model.pt"
    part_of(dest).write_bytes(DATA)
    download(server.add("m.pt", DATA), dest, sha256=SHA, **FAST)
    assert dest.read_bytes() == DATA and server.requests == [("m.pt", f"bytes={len(DATA)}-")]


def test_404_fails_at_once(server, tmp_path):
    url = server.add("m.pt", DATA, mode="status:404")
    with pytest.raises(DownloadError, match="404") as info:
        download(url, tmp_path / "model.pt", retries=3, **FAST)
    assert url in str(info.value) and not isinstance(info.value, OfflineError)
    assert len(server.requests) == 1


def test_503_is_retried_then_raises(server, tmp_path):
    url = server.add("m.pt", DATA, mode="status:503")
    with pytest.raises(DownloadError, match="503") as info:
        download(url, tmp_path / "model.pt", retries=2, **FAST)
    assert url in str(info.value)
    assert len(server.requests) == 3


def test_offline_mode_touches_no_network(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dest = tmp_path / "model.pt"
    url = server.add("m.pt", DATA)
    with pytest.raises(OfflineError) as info:
        download(url, dest, sha256=SHA, size=len(DATA), **FAST)
    message = str(info.value)
    assert "HF_HUB_OFFLINE=1" in message and f"place it at {dest}" in message and url in message
    assert SHA in message and str(len(DATA)) in message
    assert server.requests == [] and not part_of(dest).exists()


def test_connection_refused_is_offline_with_guidance(tmp_path):
    dest = tmp_path / "model.pt"
    url = f"http://127.0.0.1:{closed_port()}/m.pt"
    with pytest.raises(OfflineError, match=f"place it at {dest}"):
        download(url, dest, **FAST)


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), ("yes", True), ("0", False), ("", False)])
def test_offline_mode_values(monkeypatch, value, expected):
    monkeypatch.setenv("INEQBENCH_OFFLINE", value)
    assert offline_mode() is expected


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"<!DOCTYPE html><html>", True),
        (b"\xef\xbb\xbf \n\t<HTML lang='en'>", True),
        (b"<head><title>x</title>", True),
        (b"<body>", True),
        (b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN">\n<html>', True),
        (b'<?xml version="1.0"?><config/>', False),
        (b"PK\x03\x04 a zip with <html> inside", False),
        (DATA[:512], False),
    ],
)
def test_looks_like_html(tmp_path, head, expected):
    path = tmp_path / "f"
    path.write_bytes(head)
    assert looks_like_html(path) is expected


def test_loopback_head_and_tree(server, tmp_path):
    """HEAD answers headers only; add_tree serves a directory at a prefix."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "config.json").write_bytes(b"{}")
    (tmp_path / "sub" / "weights.bin").write_bytes(DATA)
    assert server.add_tree("org/repo/resolve/main", tmp_path) == [
        "org/repo/resolve/main/config.json",
        "org/repo/resolve/main/sub/weights.bin",
    ]
    request = urllib.request.Request(server.url("org/repo/resolve/main/sub/weights.bin"), method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and response.read() == b""
        assert int(response.headers["Content-Length"]) == len(DATA) and SHA in response.headers["ETag"]
    dest = download(server.url("org/repo/resolve/main/sub/weights.bin"), tmp_path / "out" / "w.bin", **FAST)
    assert dest.read_bytes() == DATA and os.path.getsize(dest) == len(DATA)
