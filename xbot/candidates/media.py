"""Images attached to candidates: fetched with a size cap and a timeout, typed by content,
stored once under ``$XBOT_HOME/media`` by their SHA-256.

A feed enclosure named ``cat.png`` may be an HTML error page and a ``.jpg`` may be a PNG, so the
type comes from the first bytes (PNG, JPEG, GIF, WEBP: the still-image types X accepts), never
from the name or the server's Content-Type. The stored file is named by its hash, so the same
image fetched from two places is stored once and the hash is what dedup compares.

The metadata a candidate carries (the interface the poster and the learning loop read)::

    {"path": str, "sha256": str, "mime": str, "bytes": int, "alt": str, "source_url": str}
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import requests

from xbot.errors import XbotError

#: X refuses still images over 5 MB; nothing bigger is worth downloading.
IMAGE_MAX_BYTES = 5_000_000
IMAGE_TIMEOUT_S = 10.0
#: X's limit on alt text.
ALT_MAX_CHARS = 1000
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class MediaError(XbotError):
    """An image could not be used: unreachable, too big, not an image, unreadable."""


def sniff_image(data: bytes) -> str | None:
    """The MIME type of ``data`` from its magic bytes, or None if it is not PNG/JPEG/GIF/WEBP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def default_alt(title: str) -> str:
    """The alt text when the source gives none: a short description derived from the title."""
    words = " ".join(title.split())
    return ("Image for: " + words)[:ALT_MAX_CHARS] if words else "Image"


@dataclass
class MediaStore:
    """Fetches and stores images for one refresh (one download per location per refresh)."""

    root: Path
    max_bytes: int = IMAGE_MAX_BYTES
    timeout: float = IMAGE_TIMEOUT_S
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def _download(self, url: str, max_bytes: int, timeout: float) -> bytes:
        try:
            with requests.get(
                url, timeout=timeout, stream=True, headers={"User-Agent": "xbot (+media)"}
            ) as resp:
                if resp.status_code != 200:
                    raise MediaError(f"{url}: HTTP {resp.status_code}", url=url)
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaError(f"{url}: {declared} bytes is over {max_bytes}", url=url)
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaError(f"{url}: over {max_bytes} bytes", url=url)
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise MediaError(f"{url}: unreachable ({type(exc).__name__})", url=url) from exc

    def _read_local(self, location: str, base: Path, max_bytes: int) -> bytes:
        if location.startswith("package:"):
            path = Path(str(resources.files("xbot").joinpath("data", location[8:])))
        else:
            path = Path(location).expanduser()
            path = path if path.is_absolute() else base / path
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise MediaError(f"{location}: cannot read ({exc.strerror})", path=str(path)) from exc
        if len(data) > max_bytes:
            raise MediaError(f"{location}: over {max_bytes} bytes", path=str(path))
        return data

    def _store(self, data: bytes, mime: str) -> tuple[Path, str]:
        digest = hashlib.sha256(data).hexdigest()
        target = self.root / digest[:2] / f"{digest}.{_EXTENSIONS[mime]}"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)  # atomic: a reader never sees half an image
        return target, digest

    def fetch(
        self,
        location: str,
        *,
        alt: str,
        base: Path = Path("."),
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The candidate ``media`` metadata for the image at ``location`` (an http(s) URL, a path
        relative to ``base``, or ``package:<path under xbot/data>``); MediaError if unusable."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        alt = " ".join(alt.split())[:ALT_MAX_CHARS]
        if location in self._seen:
            return {**self._seen[location], "alt": alt}
        if location.startswith(("http://", "https://")):
            data = self._download(location, limit, self.timeout if timeout is None else timeout)
        elif "://" in location:
            raise MediaError(f"{location}: only http(s) URLs and local paths", url=location)
        else:
            data = self._read_local(location, base, limit)
        mime = sniff_image(data)
        if mime is None:
            raise MediaError(
                f"{location}: not a PNG, JPEG, GIF or WEBP image (by content)", url=location
            )
        path, digest = self._store(data, mime)
        media = {
            "path": str(path),
            "sha256": digest,
            "mime": mime,
            "bytes": len(data),
            "alt": alt,
            "source_url": location,
        }
        self._seen[location] = media
        return media
