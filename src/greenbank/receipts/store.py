"""Where sealed PDFs live: write-once object storage behind a small Protocol.

Keys look like ``2026/03/02/RP20260302000001.pdf`` (the business day, then the number). A sealed
receipt is never rewritten: ``put`` of different bytes under an existing key is refused.
``replace`` exists only for the sealing consumer's recovery rule (a stored file whose receipt
row is still *pending* and that does not verify is the debris of a crashed attempt).

An S3-compatible store has the same shape: ``put`` = ``PutObject`` with ``If-None-Match: *``
(conditional write; on 412 ``GetObject`` and compare, as here) into a bucket with Object Lock
in compliance mode; ``get`` = ``GetObject`` (404 -> ``None``); ``replace`` = a plain
``PutObject`` (allowed only while the object is not yet under retention, i.e. before the
receipt is marked sealed — set the retention after the commit).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Protocol

from greenbank.errors import Conflict, ValidationFailed


class ReceiptFileConflict(Conflict):
    code = "receipt_file_conflict"
    title = "A different file is already stored for this receipt"


class InvalidStoreKey(ValidationFailed):
    code = "invalid_receipt_store_key"
    title = "Not a receipt storage key"


class ReceiptStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` once; the same bytes again is a no-op, different bytes a conflict."""

    def get(self, key: str) -> bytes | None: ...

    def replace(self, key: str, data: bytes) -> None:
        """Overwrite a stale file (only for receipts not yet marked sealed)."""


def storage_key(day: date, receipt_no: str) -> str:
    return f"{day:%Y/%m/%d}/{receipt_no}.pdf"


class FileReceiptStore:
    """A directory tree (``var/receipts``); writes go to a temp file, fsync, then rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 4 or any(p in {"", ".", ".."} for p in parts) or "\\" in key:
            raise InvalidStoreKey(f"{key!r} is not yyyy/mm/dd/<receipt no>.pdf")
        return self.root.joinpath(*parts)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        temp = self._write_temp(path, data)
        try:
            os.link(temp, path)  # atomic create-if-absent: never replaces an existing file
        except FileExistsError:
            if path.read_bytes() != data:
                raise ReceiptFileConflict(f"{key} is already stored with other content") from None
        finally:
            temp.unlink()

    def replace(self, key: str, data: bytes) -> None:
        path = self._path(key)
        os.replace(self._write_temp(path, data), path)

    @staticmethod
    def _write_temp(path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with open(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return Path(name)
