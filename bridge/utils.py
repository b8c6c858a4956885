"""Download helper for pretrained weights: resumable, verified, atomic; never leaves a partial file at ``dst``."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional, Tuple

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class DownloadError(OSError):
    """A download that could not be completed or verified; nothing is written at ``dst``."""


class _Restart(Exception):
    """The partial file belongs to another version of the resource: start again from byte 0."""


# -- the partial file and what it was downloaded from ------------------------------------------------------------

def _read_meta(meta: str, url: str) -> Optional[dict]:
    """Validators of the resource the partial file came from, or None when they are missing or not for ``url``."""
    try:
        with open(meta, "r", encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("url") != url:
        return None
    etag, modified = info.get("etag"), info.get("last_modified")
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return {"etag": etag, "last_modified": modified if isinstance(modified, str) else None}
    if isinstance(modified, str) and modified:
        return {"etag": None, "last_modified": modified}
    return None


def _write_meta(meta: str, url: str, etag: Optional[str], modified: Optional[str]) -> None:
    with open(meta, "w", encoding="utf-8") as f:
        json.dump({"url": url, "etag": etag, "last_modified": modified}, f)


def _discard(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


# -- one HTTP attempt --------------------------------------------------------------------------------------------

def _open(url: str, start: int, validator: Optional[str], timeout: float):
    headers = {"User-Agent": "fnsnn-bridge/download_url", "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
        headers["If-Range"] = validator
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _plan(response, start: int, known: Optional[dict]) -> Tuple[int, Optional[int]]:
    """Where the body starts in the file and where it must end (None when the server announced no length)."""
    status = response.status
    length = response.headers.get("Content-Length")
    length = int(length) if length is not None and length.strip().isdigit() else None
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != start:
            raise DownloadError(f"download_url: the server answered a range request from byte {start} with "
                                f"Content-Range {response.headers.get('Content-Range')!r}.")
        etag = response.headers.get("ETag")
        if known is not None and known["etag"] is not None and etag is not None and etag != known["etag"]:
            raise _Restart()  # the server ignored If-Range and sent a range of another version
        if match.group(3) != "*":
            return start, int(match.group(3))
        return start, None if length is None else start + length
    if status == 200:  # a new or changed resource, or a server that ignores Range: the body is the whole file
        return 0, length
    raise DownloadError(f"download_url: unexpected HTTP status {status} {getattr(response, 'reason', '')}.")


def _transfer(url: str, part: str, meta: str, timeout: float, verified: bool) -> int:
    """One attempt: continue ``part`` when its resource is confirmed unchanged, else rewrite it; return its size."""
    known = _read_meta(meta, url) if os.path.exists(part) else None
    start = os.path.getsize(part) if known is not None else 0
    validator = None if known is None else (known["etag"] or known["last_modified"])
    try:
        response = _open(url, start, validator, timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or start == 0:
            raise
        err.close()
        raise _Restart() from None  # range not satisfiable: the partial file does not fit the resource
    with response:
        offset, end = _plan(response, start, known)
        if end is None and not response.chunked and not verified:
            raise DownloadError(
                f"download_url: the server sent {url!r} with no Content-Length and without chunked encoding, so "
                f"a cut connection cannot be told from the end of the file; pass sha256= to verify the bytes.")
        if offset == 0:
            _discard(meta)
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
            if etag or modified:
                _write_meta(meta, url, etag, modified)
        with open(part, "r+b" if offset > 0 else "wb") as f:
            f.seek(offset)
            f.truncate()
            while True:
                chunk = response.read(_CHUNK)  # a chunked body cut before its last chunk raises IncompleteRead
                if not chunk:
                    break
                f.write(chunk)
                if end is not None and f.tell() > end:
                    raise DownloadError(f"download_url: the server sent more than the {end} bytes it announced.")
            size = f.tell()
    if end is not None and size != end:
        raise http.client.IncompleteRead(b"", end - size)
    return size


def _copy_local(url: str, part: str) -> int:
    parsed = urllib.parse.urlsplit(url)
    if parsed.netloc not in ("", "localhost"):
        raise DownloadError(f"download_url: file URL {url!r} names host {parsed.netloc!r}; only local files work.")
    source = urllib.request.url2pathname(parsed.path)
    with open(source, "rb") as src, open(part, "wb") as out:
        shutil.copyfileobj(src, out, _CHUNK)
        return out.tell()


def _sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_url(url: str, dst: str, *, sha256: Optional[str] = None, retries: int = 3,
                 timeout: float = 30.0) -> int:
    """Download ``url`` to ``dst``, resuming an interrupted transfer only when the server confirms the same file.

    Bytes go to ``dst + '.part'`` (with the server's ``ETag``/``Last-Modified``
    in ``dst + '.part.meta'``). The transfer is complete only when its byte
    count equals the announced length (``Content-Length``/``Content-Range``)
    or, with no length announced, when a chunked body ends with its last
    chunk; a body with neither is accepted only when ``sha256`` verifies it.
    The checksum, when given, is checked before the ``.part`` file is
    renamed to ``dst`` in one atomic step, so ``dst`` only ever holds a
    complete, verified file. An interrupted transfer is resumed with
    ``Range`` and ``If-Range``, so a file that changed on the server is
    downloaded again from byte 0; a partial file without validators is never
    resumed. ``file://`` URLs are copied.

    Args:
        url: ``http://``, ``https://`` or ``file://`` address.
        dst: destination path; its directory must exist.
        sha256: expected SHA-256 of the file, 64 hex digits, or None.
        retries: further attempts after an interrupted transfer, ``>= 0``.
        timeout: socket timeout in seconds, ``> 0``.

    Returns:
        The size of the downloaded file in bytes.

    Raises:
        DownloadError: the transfer failed after all attempts, the server
            refused it (HTTP error), or the checksum did not match (an
            ``OSError``; the message gives the URL and the cause). ``dst`` is
            left as it was.
    """
    fn = "download_url"
    if not isinstance(url, str) or not url:
        raise TypeError(f"{fn}: `url` must be a non-empty str, got {url!r}.")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"{fn}: `url` must start with http://, https:// or file://, got {url!r}.")
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"{fn}: `dst` must be a path, got {type(dst).__name__}.")
    if sha256 is not None and (not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None):
        raise ValueError(f"{fn}: `sha256` must be None or 64 hex digits, got {sha256!r}.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"{fn}: `retries` must be an int >= 0, got {retries!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"{fn}: `timeout` must be a finite number > 0, got {timeout!r}.")
    dst = os.fspath(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{fn}: the folder of `dst` does not exist: {folder!r}.")
    if os.path.isdir(dst):
        raise IsADirectoryError(f"{fn}: `dst` is a directory: {dst!r}; pass a file path.")
    part, meta = dst + ".part", dst + ".part.meta"

    size, cause = None, None
    if scheme == "file":
        try:
            size = _copy_local(url, part)
        except OSError as err:
            cause = err
            _discard(part)
    else:
        restarts = 0
        attempt = 0
        while attempt <= retries:
            try:
                size = _transfer(url, part, meta, timeout, sha256 is not None)
                break
            except _Restart:
                _discard(part, meta)
                restarts += 1
                if restarts > 2:  # the server keeps sending other versions
                    cause = DownloadError("the server did not serve one consistent version of the file")
                    break
            except DownloadError as err:  # a protocol answer retrying will not change
                cause = err
                break
            except urllib.error.HTTPError as err:  # the server refused: retrying will not help
                cause = err
                break
            except (OSError, http.client.HTTPException) as err:  # refused or dropped connection, timeout, short body
                cause = err
                attempt += 1
    if size is not None and sha256 is not None:
        actual = _sha256_of(part)
        if actual != sha256.lower():
            _discard(part, meta)
            raise DownloadError(f"{fn}: the SHA-256 of the file downloaded from {url!r} is {actual}, expected "
                                f"{sha256.lower()}; the download was discarded and {dst!r} is unchanged.")
    if size is not None:
        os.replace(part, dst)
        _discard(meta)
        return size

    kept = os.path.getsize(part) if os.path.exists(part) else 0
    if kept == 0 or not os.path.exists(meta):  # nothing that a later call could resume
        _discard(part, meta)
        kept = 0
    where = (f"{kept} bytes are kept in {part!r}; calling download_url again resumes from there if the server "
             f"still has the same file." if kept else "nothing was kept.")
    raise DownloadError(f"{fn}: could not download {url!r} to {dst!r}: {type(cause).__name__}: {cause}. "
                        f"{where}") from cause


__all__ = ["download_url", "DownloadError"]
