"""download_url against local HTTP servers on 127.0.0.1: resume only the same file (ETag / If-Range), complete
only verified transfers, no file at the destination after a failure, file:// URLs and SHA-256 checks."""

import hashlib
import http.server
import os
import socket
import threading

import pytest

from bridge.utils import DownloadError, download_url

PAYLOAD = bytes(range(256)) * 800  # 204,800 bytes
NEW_PAYLOAD = bytes(reversed(range(256))) * 900  # another version of the file
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        return None

    def _cut(self):
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def do_GET(self):
        cfg = self.server.cfg
        rng = self.headers.get("Range")
        cfg["requests"].append((rng, self.headers.get("If-Range")))
        if cfg["status"] is not None:
            self.send_error(cfg["status"], "refused")
            return
        if self.path != "/file.bin":
            self.send_error(404, "not here")
            return
        payload, etag = cfg["payload"], cfg["etag"]
        if_range = self.headers.get("If-Range")
        honour = rng and cfg["ranges_ok"] and (not cfg["if_range_ok"] or if_range is None or if_range == etag)
        start = 0
        if honour:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(payload):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(payload)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
        else:
            self.send_response(200)
        if etag is not None:
            self.send_header("ETag", etag)
        body = payload[start:]
        drop = cfg["drops"] > 0
        cfg["drops"] -= drop
        if cfg["framing"] == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = [body[i:i + 50000] for i in range(0, len(body), 50000)]
            for piece in pieces[:1] if drop else pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if drop:  # stop after a whole chunk, before the last one
                self._cut()
                return
            self.wfile.write(b"0\r\n\r\n")
            return
        if cfg["framing"] == "length":
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if drop:  # send part of the body, then cut the connection
            self.wfile.write(body[: len(body) // 3])
            self._cut()
            return
        if cfg["slow"]:  # a server that stalls after the first bytes, until the test ends
            self.wfile.write(body[:100])
            self.wfile.flush()
            cfg["stop"].wait(3.0)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):  # loopback traffic only
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.cfg = {"requests": [], "ranges_ok": True, "if_range_ok": True, "drops": 0, "payload": PAYLOAD,
                 "etag": '"v1"', "framing": "length", "status": None, "slow": False, "stop": threading.Event()}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.cfg["stop"].set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _ranges(httpd):
    return [rng for rng, _ in httpd.cfg["requests"]]


def _leftovers(dst):
    return [p for p in (str(dst) + ".part", str(dst) + ".part.meta") if os.path.exists(p)]


def test_plain_download(server, tmp_path):
    httpd, base = server
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD
    assert _leftovers(dst) == []
    assert _ranges(httpd) == [None]


def test_resume_after_dropped_connection_uses_if_range(server, tmp_path):
    httpd, base = server
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", dst, timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD
    assert httpd.cfg["requests"] == [(None, None), (f"bytes={len(PAYLOAD) // 3}-", '"v1"')]


def test_failed_transfer_leaves_no_file_then_resumes(server, tmp_path):
    httpd, base = server
    httpd.cfg["drops"] = 3
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match=r"could not download .* bytes are kept in .*\.part.*resumes"):
        download_url(f"{base}/file.bin", str(dst), retries=2, timeout=5)
    assert not dst.exists()
    kept = os.path.getsize(str(dst) + ".part")
    assert 0 < kept < len(PAYLOAD)
    assert PAYLOAD.startswith(open(str(dst) + ".part", "rb").read())
    # a later call picks up from the kept bytes
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD
    assert httpd.cfg["requests"][-1] == (f"bytes={kept}-", '"v1"')
    assert _leftovers(dst) == []


def test_stale_partial_of_an_older_version_restarts(server, tmp_path):
    """The server changed the file after a partial download: If-Range makes it send the new file whole."""
    httpd, base = server
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError):
        download_url(f"{base}/file.bin", str(dst), retries=0, timeout=5)
    httpd.cfg.update(payload=NEW_PAYLOAD, etag='"v2"')
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(NEW_PAYLOAD)
    assert dst.read_bytes() == NEW_PAYLOAD
    assert httpd.cfg["requests"][-1] == (f"bytes={len(PAYLOAD) // 3}-", '"v1"')


def test_stale_partial_restarts_when_server_ignores_if_range(server, tmp_path):
    """A server that honours Range but not If-Range sends a range of the new version: its ETag gives it away."""
    httpd, base = server
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError):
        download_url(f"{base}/file.bin", str(dst), retries=0, timeout=5)
    httpd.cfg.update(payload=NEW_PAYLOAD, etag='"v2"', if_range_ok=False)
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(NEW_PAYLOAD)
    assert dst.read_bytes() == NEW_PAYLOAD
    assert _ranges(httpd)[-1] is None


def test_partial_without_validators_is_never_resumed(server, tmp_path):
    """A leftover .part whose origin is unknown (no ETag/Last-Modified recorded) is downloaded again."""
    httpd, base = server
    dst = tmp_path / "w.bin"
    with open(str(dst) + ".part", "wb") as f:
        f.write(NEW_PAYLOAD[:1000])
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD and _ranges(httpd) == [None]


def test_server_without_range_support_restarts(server, tmp_path):
    httpd, base = server
    httpd.cfg["ranges_ok"] = False
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_server_without_etag_restarts_after_a_drop(server, tmp_path):
    httpd, base = server
    httpd.cfg.update(etag=None, drops=1)
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD and _ranges(httpd) == [None, None]


def test_unsatisfiable_range_restarts(server, tmp_path):
    httpd, base = server
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError):
        download_url(f"{base}/file.bin", str(dst), retries=0, timeout=5)
    httpd.cfg["payload"] = PAYLOAD[:100]  # now shorter than the part, with the same ETag
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == 100
    assert dst.read_bytes() == PAYLOAD[:100]


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_leaves_nothing(server, tmp_path, code):
    httpd, base = server
    httpd.cfg["status"] = code
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match=f"HTTP Error {code}.*nothing was kept"):
        download_url(f"{base}/file.bin", str(dst), timeout=5)
    assert not dst.exists() and _leftovers(dst) == []
    assert len(httpd.cfg["requests"]) == 1  # a refusal is not retried


def test_refused_connection_leaves_nothing(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on this port now
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="could not download.*nothing was kept"):
        download_url(f"http://127.0.0.1:{port}/file.bin", str(dst), retries=1, timeout=5)
    assert not dst.exists() and _leftovers(dst) == []


def test_existing_destination_replaced_only_when_complete(server, tmp_path):
    httpd, base = server
    dst = tmp_path / "w.bin"
    dst.write_bytes(b"old weights")
    httpd.cfg["drops"] = 5
    with pytest.raises(DownloadError):
        download_url(f"{base}/file.bin", str(dst), retries=1, timeout=5)
    assert dst.read_bytes() == b"old weights"


def test_chunked_download_without_length(server, tmp_path):
    httpd, base = server
    httpd.cfg["framing"] = "chunked"
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_chunked_body_cut_before_its_last_chunk_is_not_complete(server, tmp_path):
    httpd, base = server
    httpd.cfg.update(framing="chunked", drops=5)
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="IncompleteRead"):
        download_url(f"{base}/file.bin", str(dst), retries=1, timeout=5)
    assert not dst.exists()
    httpd.cfg["drops"] = 0  # the kept chunk is resumed with If-Range
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_no_length_no_chunks_needs_a_checksum(server, tmp_path):
    """A close-delimited body cut short looks like a complete one: without sha256 it is refused up front."""
    httpd, base = server
    httpd.cfg.update(framing="close", drops=1)
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="no Content-Length and without chunked encoding.*sha256="):
        download_url(f"{base}/file.bin", str(dst), timeout=5)
    assert not dst.exists() and _leftovers(dst) == []
    # with a checksum, the truncated body is caught, and a whole one accepted
    httpd.cfg["drops"] = 1
    with pytest.raises(DownloadError, match="SHA-256"):
        download_url(f"{base}/file.bin", str(dst), sha256=SHA, timeout=5)
    assert not dst.exists() and _leftovers(dst) == []
    assert download_url(f"{base}/file.bin", str(dst), sha256=SHA, timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_slow_server_times_out(server, tmp_path):
    httpd, base = server
    httpd.cfg["slow"] = True
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="timed out"):
        download_url(f"{base}/file.bin", str(dst), retries=0, timeout=0.2)
    assert not dst.exists()


def test_sha256_checked_before_rename(server, tmp_path):
    _, base = server
    dst = tmp_path / "w.bin"
    dst.write_bytes(b"old weights")
    with pytest.raises(DownloadError, match=f"SHA-256 .* expected {'0' * 64}"):
        download_url(f"{base}/file.bin", str(dst), sha256="0" * 64, timeout=5)
    assert dst.read_bytes() == b"old weights" and _leftovers(dst) == []
    assert download_url(f"{base}/file.bin", str(dst), sha256=SHA.upper(), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_file_url(tmp_path):
    src = tmp_path / "src weights.bin"
    src.write_bytes(PAYLOAD)
    dst = tmp_path / "w.bin"
    assert download_url(src.as_uri(), str(dst), sha256=SHA) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD and _leftovers(dst) == []
    with pytest.raises(DownloadError, match="could not download.*FileNotFoundError"):
        download_url((tmp_path / "missing.bin").as_uri(), str(tmp_path / "x.bin"))
    assert not (tmp_path / "x.bin").exists() and _leftovers(tmp_path / "x.bin") == []


def test_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="download_url: `url`"):
        download_url("", str(tmp_path / "a"))
    with pytest.raises(ValueError, match="download_url: `url` must start with"):
        download_url("ftp://127.0.0.1/x", str(tmp_path / "a"))
    with pytest.raises(TypeError, match="download_url: `dst`"):
        download_url("http://127.0.0.1:9/x", 3)
    with pytest.raises(ValueError, match="download_url: `sha256`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), sha256="abc")
    with pytest.raises(ValueError, match="download_url: `retries`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), retries=-1)
    with pytest.raises(ValueError, match="download_url: `timeout`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), timeout=0)
    with pytest.raises(ValueError, match="download_url: `timeout`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), timeout=float("nan"))
    with pytest.raises(FileNotFoundError, match="folder of `dst` does not exist"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "no" / "a"))
    with pytest.raises(IsADirectoryError, match="is a directory"):
        download_url("http://127.0.0.1:9/x", str(tmp_path))
