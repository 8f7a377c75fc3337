"""Media storage: a local folder (embedded and single-host production)."""

from __future__ import annotations

import re
from pathlib import Path

import anyio

_SAFE_KEY = re.compile(r"^[A-Za-z0-9._\-/]+$")


class LocalMediaStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"unsafe storage key {key!r}")
        return self.root / key

    async def open_for_write(self, key: str) -> anyio.AsyncFile[bytes]:
        target = self.path(key)
        await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
        return await anyio.open_file(target, "wb")

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self.path(key)).exists()

    async def delete(self, key: str) -> None:
        """Remove a stored file; a file already gone is fine."""
        await anyio.Path(self.path(key)).unlink(missing_ok=True)

    async def read_bytes(self, key: str) -> bytes:
        return await anyio.Path(self.path(key)).read_bytes()


def media_storage_in(data_dir: Path) -> LocalMediaStorage:
    """The deployment's media storage: `media/` under its data folder (downloads and uploads alike)."""
    return LocalMediaStorage(data_dir / "media")
