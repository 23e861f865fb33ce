"""Downloader tests against a real loopback HTTP server whose answers each test scripts."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import logging
import io
import json
import re
import tarfile
import threading
import time
import types
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from alarmbench.data import download as dl
from alarmbench.data.download import transfer
from alarmbench.data.download import (
    ChecksumError,
    CorruptFileError,
    DownloadError,
    HashLock,
    ManualDownloadRequired,
    check_format,
    download_url,
    fetch_file,
    fetch_source,
    find_in_mirror,
    verify,
)
from alarmbench.data.sources import RemoteFile, Source

BODY = bytes(range(256)) * 400  # 102,400 bytes, several socket reads
HALF = len(BODY) // 2
FAST = {"timeout": 2.0, "retries": 3, "backoff": 0, "progress": False}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- the server

Route = Callable[[http.server.BaseHTTPRequestHandler, int], None]


@dataclass
class Seen:
    path: str
    range: str | None


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:  # clients hanging up on purpose
        pass


class Server:
    """Loopback HTTP server: ``routes[path](handler, n)`` answers the n-th request for path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.release = threading.Event()  # wakes stalled handlers at teardown
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                n = len(server.hits(self.path))
                server.requests.append(Seen(self.path, self.headers.get("Range")))
                server.routes.get(self.path, status(404))(self, n)

            def log_message(self, *args) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for var in ("no_proxy", "NO_PROXY"):  # loopback only, whatever proxy the host sets
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    s = Server()
    yield s
    s.close()


def _range_start(handler: http.server.BaseHTTPRequestHandler) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range") or "")
    return int(match.group(1)) if match else 0


def send(handler: http.server.BaseHTTPRequestHandler, body: bytes, start: int = 0, cut: int | None = None) -> None:
    """Answer with body[start:] (206 when start > 0); stop after `cut` bytes when set."""
    chunk = body[start:]
    handler.send_response(206 if start else 200)
    if start:
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    handler.send_header("Content-Length", str(len(chunk)))
    handler.end_headers()
    handler.wfile.write(chunk if cut is None else chunk[:cut])


def serve(body: bytes, *, honour_range: bool = True) -> Route:
    return lambda h, n: send(h, body, _range_start(h) if honour_range else 0)


def status(code: int) -> Route:
    return lambda h, n: h.send_error(code)


def fail_then_serve(code: int, failures: int, body: bytes) -> Route:
    return lambda h, n: h.send_error(code) if n < failures else send(h, body, _range_start(h))


def truncated_first(body: bytes) -> Route:
    """First answer announces the full length but closes after a third of the body."""
    return lambda h, n: send(h, body, _range_start(h), cut=len(body) // 3 if n == 0 else None)


def stall(server: Server, *, mid_body: bool) -> Route:
    """Hang (before the headers, or after half the body) until the test ends."""

    def route(h: http.server.BaseHTTPRequestHandler, n: int) -> None:
        if mid_body:
            start = _range_start(h)
            send(h, BODY, start, cut=(len(BODY) - start) // 2)
        server.release.wait(10)

    return route


# --------------------------------------------------------------------------- HTTP download


def test_download_verifies_published_sha256(server: Server, tmp_path: Path) -> None:
    server.routes["/data.bin"] = serve(BODY)
    remote = RemoteFile("data.bin", urls=(server.url("/data.bin"),), sha256=sha(BODY), size=len(BODY))

    path = fetch_file(remote, tmp_path, **FAST)

    assert path == tmp_path / "data.bin"
    assert path.read_bytes() == BODY
    assert not (tmp_path / "data.bin.part").exists()
    # A second fetch verifies the local copy and uses no network.
    assert fetch_file(remote, tmp_path, **FAST) == path
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "field, wrong, shown",
    [("sha256", "0" * 64, ["0" * 64, sha(BODY)]), ("size", len(BODY) + 1, [str(len(BODY) + 1), str(len(BODY))])],
)
def test_checksum_mismatch_deletes_download(server: Server, tmp_path: Path, field, wrong, shown) -> None:
    server.routes["/data.bin"] = serve(BODY)
    remote = RemoteFile("data.bin", urls=(server.url("/data.bin"),), **{field: wrong})

    with pytest.raises(ChecksumError) as exc:
        fetch_file(remote, tmp_path, **FAST)

    message = str(exc.value)
    assert "data.bin" in message and all(s in message for s in shown)
    assert not (tmp_path / "data.bin").exists()
    assert not (tmp_path / "data.bin.part").exists()  # a bad file is not kept for resuming


@pytest.mark.parametrize("code", [404, 403])
def test_client_error_is_not_retried(server: Server, tmp_path: Path, code: int) -> None:
    server.routes["/gone"] = status(code)
    url = server.url("/gone")

    with pytest.raises(DownloadError, match=str(code)) as exc:
        download_url(url, tmp_path / "gone.bin", retries=4, backoff=0, progress=False)

    assert url in str(exc.value)
    assert len(server.requests) == 1
    assert not (tmp_path / "gone.bin").exists()


def test_server_errors_retried_with_exponential_backoff(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []
    monkeypatch.setattr(transfer, "time", types.SimpleNamespace(sleep=delays.append))
    server.routes["/busy"] = status(503)

    with pytest.raises(DownloadError, match="503"):
        download_url(server.url("/busy"), tmp_path / "busy.bin", retries=3, backoff=1.0, progress=False)

    assert delays == [1.0, 2.0, 4.0]
    assert len(server.requests) == 4
    assert not (tmp_path / "busy.bin").exists()


def test_transient_server_error_then_success(server: Server, tmp_path: Path) -> None:
    server.routes["/flaky"] = fail_then_serve(502, 2, BODY)

    path = download_url(server.url("/flaky"), tmp_path / "flaky.bin", **FAST)

    assert path.read_bytes() == BODY
    assert len(server.requests) == 3


def test_truncated_body_is_resumed_with_range(server: Server, tmp_path: Path) -> None:
    server.routes["/t.bin"] = truncated_first(BODY)
    remote = RemoteFile("t.bin", urls=(server.url("/t.bin"),), sha256=sha(BODY))

    path = fetch_file(remote, tmp_path, **FAST)

    assert path.read_bytes() == BODY
    assert [r.range for r in server.requests] == [None, f"bytes={len(BODY) // 3}-"]


def test_existing_part_is_resumed(server: Server, tmp_path: Path) -> None:
    server.routes["/r.bin"] = serve(BODY)
    (tmp_path / "r.bin.part").write_bytes(BODY[:HALF])

    path = download_url(server.url("/r.bin"), tmp_path / "r.bin", **FAST)

    assert path.read_bytes() == BODY
    assert [r.range for r in server.requests] == [f"bytes={HALF}-"]
    assert not (tmp_path / "r.bin.part").exists()


def test_server_ignoring_range_restarts_the_file(server: Server, tmp_path: Path) -> None:
    server.routes["/n.bin"] = serve(BODY, honour_range=False)
    (tmp_path / "n.bin.part").write_bytes(b"x" * HALF)  # would corrupt the file if appended to
    remote = RemoteFile("n.bin", urls=(server.url("/n.bin"),), sha256=sha(BODY))

    path = fetch_file(remote, tmp_path, **FAST)

    assert path.read_bytes() == BODY
    assert server.requests[0].range == f"bytes={HALF}-"


@pytest.mark.parametrize("mid_body", [False, True], ids=["before-headers", "mid-body"])
def test_stalled_server_fails_within_timeout(server: Server, tmp_path: Path, mid_body: bool) -> None:
    server.routes["/stall"] = stall(server, mid_body=mid_body)
    t0 = time.monotonic()

    with pytest.raises(DownloadError, match="2 attempts"):
        download_url(server.url("/stall"), tmp_path / "s.bin", timeout=0.5, retries=1, backoff=0, progress=False)

    assert time.monotonic() - t0 < 4.0
    assert len(server.requests) == 2
    assert not (tmp_path / "s.bin").exists()
    if mid_body:  # the partial body is kept for a later resume, never under the final name
        assert server.requests[1].range == f"bytes={HALF}-"
        assert (tmp_path / "s.bin.part").read_bytes() == BODY[: HALF + HALF // 2]


def test_falls_through_to_the_next_url(server: Server, tmp_path: Path) -> None:
    server.routes["/b.bin"] = serve(BODY)
    remote = RemoteFile("b.bin", urls=(server.url("/a.bin"), server.url("/b.bin")), sha256=sha(BODY))

    assert fetch_file(remote, tmp_path, **FAST).read_bytes() == BODY
    assert [r.path for r in server.requests] == ["/a.bin", "/b.bin"]


def test_all_urls_failing_lists_what_was_tried(server: Server, tmp_path: Path) -> None:
    urls = (server.url("/a.bin"), server.url("/b.bin"))
    remote = RemoteFile("b.bin", urls=urls)

    with pytest.raises(DownloadError) as exc:
        fetch_file(remote, tmp_path, mirror=tmp_path / "mirror", **FAST)

    message = str(exc.value)
    assert all(url in message for url in urls) and "mirror" in message
    assert not (tmp_path / "b.bin").exists()


def test_corrupt_cached_file_is_replaced(server: Server, tmp_path: Path) -> None:
    server.routes["/c.bin"] = serve(BODY)
    (tmp_path / "c.bin").write_bytes(b"stale")
    remote = RemoteFile("c.bin", urls=(server.url("/c.bin"),), sha256=sha(BODY))

    assert fetch_file(remote, tmp_path, **FAST).read_bytes() == BODY


# --------------------------------------------------------------------------- mirror


def test_find_in_mirror_is_recursive_and_deterministic(tmp_path: Path) -> None:
    for rel in ("z/f.csv", "a/f.csv", "a/b/f.csv", "a/other.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / "c" / "g.csv").mkdir(parents=True)  # a directory is not a file

    assert find_in_mirror(tmp_path, "f.csv") == tmp_path / "a" / "b" / "f.csv"
    assert find_in_mirror(tmp_path, "g.csv") is None
    assert find_in_mirror(tmp_path / "absent", "f.csv") is None


def test_mirror_file_is_used_without_network(server: Server, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "x" / "y").mkdir(parents=True)
    (mirror / "x" / "y" / "m.bin").write_bytes(BODY)
    remote = RemoteFile("m.bin", urls=(server.url("/would-404"),), sha256=sha(BODY))

    path = fetch_file(remote, tmp_path / "raw", mirror=mirror, **FAST)

    assert path == tmp_path / "raw" / "m.bin"
    assert path.read_bytes() == BODY
    assert server.requests == []
    assert (mirror / "x" / "y" / "m.bin").read_bytes() == BODY


def test_mirror_file_with_wrong_checksum(server: Server, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "m.bin").write_bytes(b"corrupt")
    server.routes["/m.bin"] = serve(BODY)
    remote = RemoteFile("m.bin", urls=(server.url("/m.bin"),), sha256=sha(BODY))

    with pytest.raises(ChecksumError, match=str(mirror / "m.bin")):
        fetch_file(remote, tmp_path / "raw", mirror=mirror, **FAST)

    assert not (tmp_path / "raw" / "m.bin").exists()
    assert server.requests == []


# --------------------------------------------------------------------------- lock file


def test_hash_lock_is_sorted_json(tmp_path: Path) -> None:
    lock = HashLock(tmp_path / "hashes.lock.json")
    assert lock.get("ds/b") is None
    lock.record("ds/b", "bb", 2)
    lock.record("ds/a", "aa", 1)

    text = lock.path.read_text()
    assert text.index('"ds/a"') < text.index('"ds/b"')
    assert lock.get("ds/a") == {"sha256": "aa", "size": 1}
    assert HashLock(lock.path).entries() == json.loads(text)


def test_lock_records_first_download_and_detects_a_change(server: Server, tmp_path: Path) -> None:
    lock = HashLock(tmp_path / "hashes.lock.json")
    raw = tmp_path / "raw"
    server.routes["/u.csv"] = serve(CSV)
    source = Source(files=(RemoteFile("u.csv", urls=(server.url("/u.csv"),)),), loader="csv")

    files = fetch_source("ds", source, raw, lock=lock, **FAST)

    assert files == {"u.csv": raw / "u.csv"}
    assert json.loads(lock.path.read_text()) == {"ds/u.csv": {"sha256": sha(CSV), "size": len(CSV)}}

    # Upstream silently changes (same size): the next fresh fetch must fail.
    changed = CSV.replace(b"1,2,", b"5,6,")
    server.routes["/u.csv"] = serve(changed)
    (raw / "u.csv").unlink()
    with pytest.raises(ChecksumError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    assert sha(CSV) in str(exc.value) and sha(changed) in str(exc.value)
    assert str(lock.path) in str(exc.value) and "'ds/u.csv'" in str(exc.value)
    assert not (raw / "u.csv").exists()
    assert lock.get("ds/u.csv") == {"sha256": sha(CSV), "size": len(CSV)}


def test_verify_against_lock_entry(tmp_path: Path) -> None:
    lock = HashLock(tmp_path / "lock.json")
    path = tmp_path / "f.csv"
    path.write_bytes(b"abc")
    remote = RemoteFile("f.csv")

    assert verify(path, remote, lock=lock, key="ds/f.csv") == sha(b"abc")
    path.write_bytes(b"abd")
    with pytest.raises(ChecksumError, match=sha(b"abc")):
        verify(path, remote, lock=lock, key="ds/f.csv")


# --------------------------------------------------------------------------- archives


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


CSV = b"a,b,label\n" + b"1,2,benign\n" * 500
OTHER = b"a,b,label\n" + b"3,4,attack\n" * 100


@pytest.mark.parametrize("name, pack", [("FinalDataset.zip", _zip), ("FinalDataset.tar.gz", _tar_gz)])
def test_archive_members_are_extracted(server: Server, tmp_path: Path, name: str, pack) -> None:
    server.routes["/" + name] = serve(pack({"FinalDataset/All.csv": CSV, "FinalDataset/Other.csv": OTHER}))
    archive = RemoteFile(name, urls=(server.url("/" + name),))
    source = Source(
        files=(
            RemoteFile("All.csv", sha256=sha(CSV), archive=archive, member="FinalDataset/All.csv"),
            RemoteFile("Other.csv", archive=archive, member="FinalDataset/Other.csv"),
        ),
        loader="csv",
    )
    lock = HashLock(tmp_path / "lock.json")
    raw = tmp_path / "raw"

    files = fetch_source("cic", source, raw, lock=lock, **FAST)

    assert files["All.csv"].read_bytes() == CSV
    assert files["Other.csv"].read_bytes() == OTHER
    assert len(server.requests) == 1  # the archive is kept and reused for the second member
    assert set(lock.entries()) == {f"cic/{name}", "cic/Other.csv"}
    assert sorted(p.name for p in raw.iterdir()) == sorted(["All.csv", "Other.csv", name])


@pytest.mark.parametrize(
    "member, sha256, error",
    [("FinalDataset/Nope.csv", None, DownloadError), ("FinalDataset/All.csv", "0" * 64, ChecksumError)],
    ids=["missing-member", "bad-checksum"],
)
def test_bad_archive_member_leaves_nothing(server: Server, tmp_path: Path, member, sha256, error) -> None:
    server.routes["/d.zip"] = serve(_zip({"FinalDataset/All.csv": CSV}))
    archive = RemoteFile("d.zip", urls=(server.url("/d.zip"),))
    remote = RemoteFile("All.csv", sha256=sha256, archive=archive, member=member)

    with pytest.raises(error):
        fetch_file(remote, tmp_path, **FAST)

    assert not (tmp_path / "All.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d.zip"]  # no temporary left behind


# --------------------------------------------------------------------------- manual sources

PORTAL = "https://www.unb.ca/cic/datasets/darknet2020.html"


def test_manual_source_names_portal_and_destination(server: Server, tmp_path: Path) -> None:
    source = Source(files=(RemoteFile("Darknet.CSV", urls=(server.url("/x"),)),), loader="csv", portal=PORTAL)
    raw = tmp_path / "raw"

    with pytest.raises(ManualDownloadRequired) as exc:
        fetch_source("darknet", source, raw, mirror=tmp_path / "mirror")

    message = str(exc.value)
    assert PORTAL in message and str(raw / "Darknet.CSV") in message and "mirror" in message
    assert exc.value.paths == (raw / "Darknet.CSV",)
    assert isinstance(exc.value, DownloadError)
    assert server.requests == []  # a gated source is never downloaded
    assert not (raw / "Darknet.CSV").exists()


def test_manual_source_uses_placed_and_mirrored_files(tmp_path: Path) -> None:
    raw, mirror = tmp_path / "raw", tmp_path / "mirror"
    (mirror / "cic").mkdir(parents=True)
    raw.mkdir()
    (raw / "a.csv").write_bytes(CSV)
    (mirror / "cic" / "b.csv").write_bytes(OTHER)
    source = Source(files=(RemoteFile("a.csv", sha256=sha(CSV)), RemoteFile("b.csv")), loader="csv", portal=PORTAL)
    lock = HashLock(tmp_path / "lock.json")

    files = fetch_source("gated", source, raw, mirror=mirror, lock=lock)

    assert files == {"a.csv": raw / "a.csv", "b.csv": raw / "b.csv"}
    assert (raw / "b.csv").read_bytes() == OTHER
    assert lock.get("gated/b.csv") == {"sha256": sha(OTHER), "size": len(OTHER)}


# --------------------------------------------------------------------------- truncated files without checksums


def _npz() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez_compressed(buf, X=rng.normal(size=(300, 6)), y=(rng.random(300) < 0.1).astype(np.int64))
    return buf.getvalue()


NPZ = _npz()  # an ADBench-like table, several kB
ZIP = _zip({"t/a.csv": CSV, "t/b.csv": OTHER})


def cut_always(body: bytes, keep: int) -> Route:
    """Announce the full length (200, Range ignored) but close after `keep` bytes, every time."""
    return lambda h, n: send(h, body, 0, cut=keep)


def close_delimited(body: bytes) -> Route:
    """200 with no Content-Length: the body ends when the connection closes (HTTP/1.0)."""

    def route(h: http.server.BaseHTTPRequestHandler, n: int) -> None:
        h.send_response(200)
        h.end_headers()
        h.wfile.write(body)

    return route


def chunked(body: bytes) -> Route:
    """HTTP/1.1 chunked body, complete: its framing tells the client where it ends."""

    def route(h: http.server.BaseHTTPRequestHandler, n: int) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for i in range(0, len(body), 4096):
            piece = body[i : i + 4096]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")

    return route


def _npz_source(server: Server, name: str = "7_x.npz") -> Source:
    return Source(files=(RemoteFile(name, urls=(server.url("/" + name),)),), loader="npz_xy")


def test_truncated_body_with_content_length_is_never_pinned(server: Server, tmp_path: Path) -> None:
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    keep = len(NPZ) // 3
    server.routes["/7_x.npz"] = cut_always(NPZ, keep)
    source = _npz_source(server)

    with pytest.raises(DownloadError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    message = str(exc.value)
    assert "7_x.npz" in message and server.url("/7_x.npz") in message
    assert f"received {keep} of {len(NPZ)} bytes" in message
    assert len(server.requests) == FAST["retries"] + 1
    assert not (raw / "7_x.npz").exists()
    assert lock.entries() == {}
    assert (raw / "7_x.npz.part").read_bytes() == NPZ[:keep]  # kept only to resume

    # The server recovers: the next fetch resumes the part, completes it, and pins it.
    server.routes["/7_x.npz"] = serve(NPZ)
    files = fetch_source("ds", source, raw, lock=lock, **FAST)

    assert files["7_x.npz"].read_bytes() == NPZ
    assert server.requests[-1].range == f"bytes={keep}-"
    assert lock.get("ds/7_x.npz") == {"sha256": sha(NPZ), "size": len(NPZ)}


@pytest.mark.parametrize(
    "name, body, problem",
    [
        ("7_x.zip", ZIP[: len(ZIP) // 2], "not a valid zip archive"),
        ("7_x.npz", NPZ[: len(NPZ) - 40], "not a valid .npz archive"),
        ("u.csv", CSV[: CSV.index(b"\n") + 1 + 11 * 250 + 3], "the last row has 2 fields"),
        ("c.data.gz", gzip.compress(CSV)[:-6], "not a valid gzip file"),
        ("f.bin", BODY, "no format check"),  # no length and no way to judge the content
    ],
    ids=["zip", "npz", "csv", "gz", "unknown-kind"],
)
def test_close_delimited_truncated_file_is_refused(
    server: Server, tmp_path: Path, name: str, body: bytes, problem: str
) -> None:
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    server.routes["/" + name] = close_delimited(body)
    source = Source(files=(RemoteFile(name, urls=(server.url("/" + name),)),), loader="any")

    with pytest.raises(CorruptFileError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    message = str(exc.value)
    assert name in message and server.url("/" + name) in message and problem in message
    assert "no length" in message
    assert exc.value.lock_entry is None and exc.value.delete == ()  # nothing left for the user to clean
    assert lock.entries() == {}
    assert not (raw / name).exists() and not (raw / f"{name}.part").exists()


ROWS = CSV.count(b"\n") - 1  # data rows of CSV (500), header not counted
AT_ROW = CSV[: CSV.index(b"\n") + 1 + 11 * (ROWS // 2)]  # the header and half the rows, cut at a row boundary


@pytest.mark.parametrize(
    "remote, body, route",
    [
        (RemoteFile("u.csv", shape=(ROWS, 3)), CSV, close_delimited),  # length proven by the documented shape
        (RemoteFile("7_x.npz"), NPZ, close_delimited),  # by the zip's own framing
        (RemoteFile("f.bin"), BODY, chunked),  # by the server's chunked framing
    ],
    ids=["csv-documented-shape", "npz-close-delimited", "chunked"],
)
def test_complete_file_without_content_length_is_pinned(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture, remote: RemoteFile, body: bytes, route
) -> None:
    lock, raw, name = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw", remote.name
    server.routes["/" + name] = route(body)
    remote = dataclasses.replace(remote, urls=(server.url("/" + name),))
    source = Source(files=(remote,), loader="any")

    with caplog.at_level(logging.WARNING, logger=dl.__name__):
        files = fetch_source("ds", source, raw, lock=lock, **FAST)

    assert files[name].read_bytes() == body
    assert lock.get(f"ds/{name}") == {"sha256": sha(body), "size": len(body)}
    assert caplog.records == []  # proven complete: nothing to warn about
    assert sorted(p.name for p in raw.iterdir()) == [name]  # no marker of an unpinned copy


def _csv_source(server: Server, shape: tuple[int, int] | None = None) -> Source:
    return Source(files=(RemoteFile("u.csv", urls=(server.url("/u.csv"),), shape=shape),), loader="any")


def test_table_cut_at_a_row_boundary_without_length_is_used_but_never_pinned(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Half the rows, sent without a length: it reads as a whole table, so nothing can tell it is cut.
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    server.routes["/u.csv"] = close_delimited(AT_ROW)
    source = _csv_source(server)

    with caplog.at_level(logging.WARNING, logger=dl.__name__):
        files = fetch_source("ds", source, raw, lock=lock, **FAST)

    assert files["u.csv"].read_bytes() == AT_ROW  # used for this run ...
    assert lock.entries() == {}  # ... and not pinned
    [warning] = [r.getMessage() for r in caplog.records]
    assert "u.csv" in warning and "cannot be proven complete" in warning and "NOT pinned" in warning
    assert str(lock.path) in warning and "'ds/u.csv'" in warning

    # The next fetch downloads it again, and a copy with a length replaces it and is pinned.
    server.routes["/u.csv"] = serve(CSV)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=dl.__name__):
        assert fetch_source("ds", source, raw, lock=lock, **FAST)["u.csv"].read_bytes() == CSV
    assert len(server.hits("/u.csv")) == 2
    assert lock.entries() == {"ds/u.csv": {"sha256": sha(CSV), "size": len(CSV)}}
    assert caplog.records == []
    assert fetch_source("ds", source, raw, lock=lock, **FAST)["u.csv"].read_bytes() == CSV
    assert len(server.hits("/u.csv")) == 2  # pinned and local: no more downloads
    assert sorted(p.name for p in raw.iterdir()) == ["u.csv"]


def test_unpinned_copy_is_used_again_when_it_cannot_be_fetched_again(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    server.routes["/u.csv"] = close_delimited(AT_ROW)
    source = _csv_source(server)
    fetch_source("ds", source, raw, lock=lock, **FAST)
    server.routes["/u.csv"] = status(404)  # offline, or gone

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=dl.__name__):
        assert fetch_source("ds", source, raw, lock=lock, **FAST)["u.csv"].read_bytes() == AT_ROW

    assert lock.entries() == {}
    [warning] = [r.getMessage() for r in caplog.records]
    assert "could not fetch it again" in warning and "HTTP 404" in warning and "not pinned" in warning


@pytest.mark.parametrize("route", [close_delimited, serve], ids=["no-length", "content-length"])
def test_documented_shape_refuses_a_table_cut_at_a_row_boundary(server: Server, tmp_path: Path, route) -> None:
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    server.routes["/u.csv"] = route(AT_ROW)  # even a server that announces the short length is not believed
    source = _csv_source(server, shape=(ROWS, 3))

    with pytest.raises(CorruptFileError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    message = str(exc.value)
    assert f"{ROWS // 2} data rows, the registry documents {ROWS}" in message and server.url("/u.csv") in message
    assert lock.entries() == {}
    assert not raw.exists() or list(raw.iterdir()) == []


def test_documented_shape_exposes_a_lock_entry_pinning_half_a_table(server: Server, tmp_path: Path) -> None:
    # What an earlier version left: half the rows under the final name, pinned.
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    raw.mkdir()
    (raw / "u.csv").write_bytes(AT_ROW)
    lock.record("ds/u.csv", sha(AT_ROW), len(AT_ROW))
    server.routes["/u.csv"] = serve(CSV)
    source = _csv_source(server, shape=(ROWS, 3))

    with pytest.raises(CorruptFileError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    assert exc.value.lock_entry == (lock.path, "ds/u.csv")
    assert "Delete the entry" in str(exc.value) and f"registry documents {ROWS}" in str(exc.value)
    assert not (raw / "u.csv").exists()


def test_lock_entry_pinning_a_corrupt_file_names_the_entry_to_delete(server: Server, tmp_path: Path) -> None:
    # The state an earlier version left: a truncated download under the final name, and pinned.
    lock, raw = HashLock(tmp_path / "checksums.lock.json"), tmp_path / "raw"
    bad = NPZ[: len(NPZ) // 2]
    raw.mkdir()
    (raw / "7_x.npz").write_bytes(bad)
    lock.record("ds/7_x.npz", sha(bad), len(bad))
    lock.record("ds/other.csv", sha(CSV), len(CSV))
    server.routes["/7_x.npz"] = serve(NPZ)
    source = _npz_source(server)

    with pytest.raises(CorruptFileError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)

    message = str(exc.value)
    assert "'ds/7_x.npz'" in message and str(lock.path) in message and "Delete the entry" in message
    assert exc.value.lock_entry == (lock.path, "ds/7_x.npz")
    assert not (raw / "7_x.npz").exists()  # the bad copy is gone from the final name
    assert server.requests == []  # a download could only be refused by that entry

    # With the bad file already gone, a correct download names the entry too, as likely truncated.
    with pytest.raises(ChecksumError) as exc:
        fetch_source("ds", source, raw, lock=lock, **FAST)
    message = str(exc.value)
    assert "'ds/7_x.npz'" in message and str(lock.path) in message and "truncated" in message
    assert not (raw / "7_x.npz").exists() and not (raw / "7_x.npz.part").exists()

    # The user deletes that entry as told: the next fetch succeeds and pins the good file.
    entries = lock.entries()
    del entries["ds/7_x.npz"]
    lock.path.write_text(json.dumps(entries))
    assert fetch_source("ds", source, raw, lock=lock, **FAST)["7_x.npz"].read_bytes() == NPZ
    assert lock.get("ds/7_x.npz") == {"sha256": sha(NPZ), "size": len(NPZ)}
    assert lock.get("ds/other.csv") == {"sha256": sha(CSV), "size": len(CSV)}


def test_corrupt_hand_placed_or_mirrored_file_names_the_path(tmp_path: Path) -> None:
    lock, raw, mirror = HashLock(tmp_path / "lock.json"), tmp_path / "raw", tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "7_x.npz").write_bytes(NPZ[:100])
    remote = RemoteFile("7_x.npz")

    with pytest.raises(CorruptFileError) as exc:
        fetch_file(remote, raw, mirror=mirror, lock=lock, key="ds/7_x.npz", **FAST)

    assert exc.value.delete == ((mirror / "7_x.npz").absolute(),)
    assert str(mirror / "7_x.npz") in str(exc.value)
    assert (mirror / "7_x.npz").exists() and not (raw / "7_x.npz").exists()  # the mirror is not ours to delete
    assert lock.entries() == {}


def test_check_format_by_suffix(tmp_path: Path) -> None:
    def problem(name: str, data: bytes) -> str | None:
        (tmp_path / name).write_bytes(data)
        return check_format(tmp_path / name)

    assert problem("a.npz", NPZ) is None
    assert problem("a.zip", ZIP) is None
    assert problem("a.csv", CSV) is None
    assert problem("a.CSV", CSV.rstrip(b"\n")) is None  # no final newline, but the last row is whole
    assert problem("a.txt", b"1 2 3\n4 5") is None  # one column to csv: nothing to count
    assert problem("a.gz", gzip.compress(CSV)) is None
    assert problem("a.bin", b"anything") is None  # no check for this kind
    big = b"a,b,c\n" + b"1,2,3\n" * 20_000  # longer than the probes: head and last row read
    assert problem("big.csv", big) is None
    assert "the last row has 2 fields" in problem("big.csv", big + b"1,2")
    assert "row 3 has 2 fields" in problem("r.csv", b"a,b,c\n1,2,3\n1,2\n1,2,3\n")
    assert "quoted field" in problem("q.csv", b'a,b\n"x",1\n"trunc')
    assert "HTML" in problem("h.csv", b"<!DOCTYPE html><html>404</html>")
    assert "empty" in problem("e.csv", b"")
    assert "zip" in problem("t.npz", NPZ[:-10])
    assert "zip" in problem("t.zip", b"PK\x03\x04 not really")
    assert "gzip" in problem("t.gz", gzip.compress(BODY)[:-8])
    assert "MATLAB" in problem("t.mat", b"MATLAB 5.0 MAT-file" + b"\0" * 10)
