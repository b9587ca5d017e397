"""Backups on disk: a compressed copy of both sides of a pair's feature before removals.

The engine decides when (engine/backup.py); this keeps them under Home Assistant's
`.storage/crosswatch/backups/`, one gzip file of JSON per backup, with a small index
(`index.json`: file, pair, feature, time, reason and counts) that listings read instead of the
files. The newest `keep` backups of each pair's feature stay; older ones are deleted. All file
work runs in the executor.
"""

from dataclasses import dataclass
from datetime import datetime
import gzip
import json
import os
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant

from .engine.backup import Backup, BackupError, backup_document, counts
from .engine.payloads import Feature
from .engine.restore import BackupCopy, BackupUnreadableError, read_backup

BACKUP_FOLDER: Final = ".storage/crosswatch/backups"
INDEX: Final = "index.json"
DEFAULT_BACKUPS_KEPT: Final = 10


@dataclass(frozen=True, slots=True)
class BackupListing:
    """One backup as listings show it: no contents."""

    file: str
    pair: str
    feature: str
    taken_at: str
    reason: str
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "file": self.file,
            "pair": self.pair,
            "feature": self.feature,
            "taken_at": self.taken_at,
            "reason": self.reason,
            "counts": dict(self.counts),
        }


def backup_folder(hass: HomeAssistant) -> Path:
    """Where the backups are kept."""
    return Path(hass.config.path(BACKUP_FOLDER))


class BackupFolder:
    """The engine's `Backups`, as compressed files in one folder."""

    def __init__(self, hass: HomeAssistant, folder: Path, *, keep: int = DEFAULT_BACKUPS_KEPT):
        """Keep the newest `keep` backups of each pair's feature in `folder`."""
        self._hass = hass
        self._folder = folder
        self._keep = max(1, keep)

    async def last_taken(self, pair: str, feature: Feature) -> datetime | None:
        """When the pair's feature was last backed up, from the index."""
        listings = await self._hass.async_add_executor_job(_read_index, self._folder)
        times = [
            datetime.fromisoformat(b.taken_at)
            for b in listings
            if (b.pair, b.feature) == (pair, feature.value)
        ]
        return max(times, default=None)

    async def keep(self, backup: Backup) -> None:
        """Write the backup and prune the oldest; BackupError when the disk refuses."""
        try:
            await self._hass.async_add_executor_job(_write, self._folder, backup, self._keep)
        except OSError as err:
            raise BackupError(f"{err.strerror or err} ({self._folder})") from err

    async def async_list(self) -> list[BackupListing]:
        """Every backup kept, oldest first."""
        return await self._hass.async_add_executor_job(_read_index, self._folder)

    async def async_load(self, listing: BackupListing) -> BackupCopy:
        """A listed backup, read back (BackupUnreadableError when it cannot be)."""
        return await self._hass.async_add_executor_job(_load, self._folder / listing.file)


def _name(backup: Backup) -> str:
    stamp = backup.taken_at.strftime("%Y%m%dT%H%M%S%fZ")
    return f"{backup.pair}-{backup.feature.value}-{stamp}.json.gz"


def _write(folder: Path, backup: Backup, keep: int) -> None:
    """Write one backup and the index, atomically each; delete what falls out (blocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = _name(backup)
    body = gzip.compress(
        json.dumps(backup_document(backup), ensure_ascii=False, separators=(",", ":")).encode(),
        compresslevel=6,
    )
    _replace(folder / name, body)
    listings = [
        *_read_index(folder),
        BackupListing(
            name,
            backup.pair,
            backup.feature.value,
            backup.taken_at.isoformat(),
            backup.reason.value,
            counts(backup),
        ),
    ]
    same = [b for b in listings if (b.pair, b.feature) == (backup.pair, backup.feature.value)]
    gone = {b.file for b in sorted(same, key=lambda b: b.taken_at)[:-keep]}
    kept = [b for b in listings if b.file not in gone]
    _replace(folder / INDEX, json.dumps([b.as_dict() for b in kept], indent=1).encode())
    for file in gone:
        (folder / file).unlink(missing_ok=True)


def _replace(path: Path, body: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(body)
    os.replace(temporary, path)


def _load(path: Path) -> BackupCopy:
    """Read one backup file (blocking: decompresses and decodes every entry)."""
    try:
        document = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError) as err:
        raise BackupUnreadableError(f"{path.name}: {err}") from err
    return read_backup(document)


def _read_index(folder: Path) -> list[BackupListing]:
    """The index, oldest first; an unreadable one lists nothing (the files stay) (blocking)."""
    try:
        rows = json.loads((folder / INDEX).read_bytes())
    except FileNotFoundError, ValueError:
        return []
    listings: list[BackupListing] = []
    for row in rows if isinstance(rows, list) else ():
        try:
            listings.append(
                BackupListing(
                    str(row["file"]), str(row["pair"]), str(row["feature"]),
                    str(row["taken_at"]), str(row["reason"]),
                    {str(k): int(v) for k, v in dict(row["counts"]).items()},
                )
            )  # fmt: skip
        except KeyError, TypeError, ValueError:
            continue
    return sorted(listings, key=lambda b: b.taken_at)
