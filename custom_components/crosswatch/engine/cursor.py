"""Where a read of a provider stood: the cursor a provider hands back and is handed again.

A value type only, apart from SQLite: providers take and give checkpoints, and the store keeps
them per pair side, so neither has to know about the other.
"""

from dataclasses import dataclass
from datetime import datetime

from .payloads import Feature


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a provider's last read of a feature stood: its activity watermark and ETag."""

    provider: str
    feature: Feature
    watermark: str | None
    etag: str | None
    updated_at: datetime
