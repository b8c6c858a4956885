"""download_url against a local HTTP server on 127.0.0.1: resume after a dropped connection, restart when
Range is ignored, and no file at the destination after a failed transfer."""

import http.server
import os
import socket
import threading

import pytest

from bridge.utils import DownloadError, download_url

PAYLOAD = bytes(range(256)) * 800  # 204,800 bytes


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        return None

    def do_GET(self):
        cfg = self.server.cfg
        rng = self.headers.get("Range")
        cfg["ranges"].append(rng)
        if self.path != "/file.bin":
            self.send_error(404, "not here")
            return
        start = 0
        if rng and cfg["ranges_ok"]:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if cfg["drops"] > 0:  # send part of the body, then cut the connection
            cfg["drops"] -= 1
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):  # loopback traffic only
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.cfg = {"ranges": [], "ranges_ok": True, "drops": 0}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_plain_download(server, tmp_path):
    httpd, base = server
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD
    assert not os.path.exists(str(dst) + ".part")
    assert httpd.cfg["ranges"] == [None]


def test_resume_after_dropped_connection(server, tmp_path):
    httpd, base = server
    httpd.cfg["drops"] = 1
    dst = tmp_path / "w.bin"
    assert download_url(f"{base}/file.bin", dst, timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD
    first, second = httpd.cfg["ranges"]
    assert first is None and second == f"bytes={len(PAYLOAD) // 3}-"


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
    assert httpd.cfg["ranges"][-1] == f"bytes={kept}-"
    assert not os.path.exists(str(dst) + ".part")


def test_server_without_range_support_restarts(server, tmp_path):
    httpd, base = server
    httpd.cfg["ranges_ok"] = False
    dst = tmp_path / "w.bin"
    with open(str(dst) + ".part", "wb") as f:
        f.write(b"stale bytes that are not the payload")
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_body(server, tmp_path):
    httpd, base = server
    dst = tmp_path / "w.bin"
    with open(str(dst) + ".part", "wb") as f:
        f.write(PAYLOAD)
    assert download_url(f"{base}/file.bin", str(dst), timeout=5) == len(PAYLOAD)
    assert dst.read_bytes() == PAYLOAD and httpd.cfg["ranges"] == [f"bytes={len(PAYLOAD)}-"]


def test_http_error_leaves_nothing(server, tmp_path):
    _, base = server
    dst = tmp_path / "w.bin"
    with pytest.raises(DownloadError, match="HTTP Error 404"):
        download_url(f"{base}/missing.bin", str(dst), timeout=5)
    assert not dst.exists() and not os.path.exists(str(dst) + ".part")


def test_existing_destination_replaced_only_when_complete(server, tmp_path):
    httpd, base = server
    dst = tmp_path / "w.bin"
    dst.write_bytes(b"old weights")
    httpd.cfg["drops"] = 5
    with pytest.raises(DownloadError):
        download_url(f"{base}/file.bin", str(dst), retries=1, timeout=5)
    assert dst.read_bytes() == b"old weights"


def test_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="download_url: `url`"):
        download_url("", str(tmp_path / "a"))
    with pytest.raises(TypeError, match="download_url: `dst`"):
        download_url("http://127.0.0.1:9/x", 3)
    with pytest.raises(ValueError, match="download_url: `retries`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), retries=-1)
    with pytest.raises(ValueError, match="download_url: `timeout`"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "a"), timeout=0)
    with pytest.raises(FileNotFoundError, match="folder of `dst` does not exist"):
        download_url("http://127.0.0.1:9/x", str(tmp_path / "no" / "a"))
    with pytest.raises(IsADirectoryError, match="is a directory"):
        download_url("http://127.0.0.1:9/x", str(tmp_path))
