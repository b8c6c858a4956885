"""Download helper for pretrained weights: resumable, atomic, and never leaves a partial file at ``dst``."""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from typing import Optional, Tuple

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)


class DownloadError(OSError):
    """A download that could not be completed; the partial data, if any, stays at ``<dst>.part``."""


def _open(url: str, start: int, timeout: float):
    headers = {"User-Agent": "fnsnn-bridge/download_url", "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _plan(response, start: int) -> Tuple[int, Optional[int]]:
    """Where the body starts in the file and the file's total size (None when unknown)."""
    status = response.status
    length = response.headers.get("Content-Length")
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != start:
            raise DownloadError(f"download_url: the server answered a range request from byte {start} with "
                                f"Content-Range {response.headers.get('Content-Range')!r}.")
        total = None if match.group(3) == "*" else int(match.group(3))
        return start, total
    if status == 200:  # the server ignored the range: the body is the whole file
        return 0, None if length is None else int(length)
    raise DownloadError(f"download_url: unexpected HTTP status {status} {response.reason}.")


def _transfer(url: str, part: str, timeout: float) -> int:
    """One attempt: append to ``part`` from its current size; return the final size."""
    start = os.path.getsize(part) if os.path.exists(part) else 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or start == 0:
            raise
        # Range not satisfiable: the part is already complete ("bytes */<start>") or stale; restart if stale.
        total = (err.headers.get("Content-Range") or "").rpartition("/")[2]
        if total.isdigit() and int(total) == start:
            return start
        os.remove(part)
        return _transfer(url, part, timeout)
    with response:
        offset, total = _plan(response, start)
        with open(part, "r+b" if offset > 0 else "wb") as f:
            f.seek(offset)
            f.truncate()
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                f.write(chunk)
            size = f.tell()
    if total is not None and size != total:
        raise http.client.IncompleteRead(b"", total - size)
    return size


def download_url(url: str, dst: str, *, retries: int = 3, timeout: float = 30.0) -> int:
    """Download ``url`` to ``dst``, resuming interrupted transfers with HTTP ``Range`` requests.

    Bytes go to ``dst + '.part'``; after a complete transfer (size checked
    against ``Content-Length``/``Content-Range``) it is renamed to ``dst`` in
    one atomic step, so ``dst`` never holds a partial file. An interrupted
    transfer is resumed from the bytes already in the ``.part`` file, up to
    ``retries`` times in this call and again on a later call. A server that
    ignores ``Range`` makes the download restart from byte 0.

    Args:
        url: ``http://``, ``https://`` or ``file://`` address.
        dst: destination path; its directory must exist.
        retries: further attempts after an interrupted transfer, ``>= 0``.
        timeout: socket timeout in seconds, ``> 0``.

    Returns:
        The size of the downloaded file in bytes.

    Raises:
        DownloadError: the transfer failed after all attempts (an ``OSError``;
            the message gives the URL, the bytes kept and the cause).
    """
    fn = "download_url"
    if not isinstance(url, str) or not url:
        raise TypeError(f"{fn}: `url` must be a non-empty str, got {url!r}.")
    if not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"{fn}: `dst` must be a path, got {type(dst).__name__}.")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"{fn}: `retries` must be an int >= 0, got {retries!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"{fn}: `timeout` must be a number > 0, got {timeout!r}.")
    dst = os.fspath(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{fn}: the folder of `dst` does not exist: {folder!r}.")
    if os.path.isdir(dst):
        raise IsADirectoryError(f"{fn}: `dst` is a directory: {dst!r}; pass a file path.")
    part = dst + ".part"
    cause: Optional[BaseException] = None
    for _ in range(retries + 1):
        try:
            size = _transfer(url, part, timeout)
        except urllib.error.HTTPError as err:  # the server refused: retrying will not help
            cause = err
            break
        except (OSError, http.client.HTTPException) as err:  # dropped connection, timeout, short body
            cause = err
            continue
        os.replace(part, dst)
        return size
    kept = os.path.getsize(part) if os.path.exists(part) else 0
    if isinstance(cause, urllib.error.HTTPError) and os.path.exists(part) and kept == 0:
        os.remove(part)
    raise DownloadError(f"{fn}: could not download {url!r} to {dst!r}: {type(cause).__name__}: {cause}. "
                        f"{kept} bytes are kept in {part!r}; calling download_url again resumes from there."
                        ) from cause


__all__ = ["download_url", "DownloadError"]
