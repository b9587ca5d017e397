"""Which plays one side's history is missing, as far as the target can hold them.

Trakt keeps every play with its minute; Plex, Jellyfin, Emby, SIMKL and AniList keep a watched
state (a count and a last date). Plays match when their dates are within the coarser precision
of the two sides, so a play that Trakt stored as 12:00 is the same play as Plex's 12:00:45 and is
never sent twice: Trakt does not deduplicate.
"""

from datetime import datetime

from .capabilities import HistorySupport
from .payloads import Watched


def unmatched_plays(
    source: tuple[datetime, ...], target: tuple[datetime, ...], tolerance_seconds: float
) -> tuple[datetime, ...]:
    """Source plays with no target play within the tolerance, each target play used once."""
    missing: list[datetime] = []
    j = 0
    for play in source:
        # Target plays too early for this source play are too early for every later one.
        while j < len(target) and (play - target[j]).total_seconds() > tolerance_seconds:
            j += 1
        if j < len(target) and abs((target[j] - play).total_seconds()) <= tolerance_seconds:
            j += 1
        else:
            missing.append(play)
    return tuple(missing)


def missing_plays(
    source: Watched,
    source_support: HistorySupport,
    target: Watched | None,
    target_support: HistorySupport,
) -> tuple[datetime, ...] | None:
    """The plays to write to the target, `()` for one undated play, or None for nothing.

    `target` is None when the target has no history for the item at all.
    """
    last = source.last_watched_at
    if target is None:
        if target_support.multiple_plays and source_support.multiple_plays and source.plays:
            return source.plays
        return (last,) if last else ()
    if not target_support.multiple_plays:
        return None  # watched is watched: a watched state never needs a second play
    if source_support.multiple_plays:
        if source.plays == target.plays:
            return None
        tolerance = max(source_support.precision, target_support.precision).total_seconds()
        return unmatched_plays(source.plays, target.plays, tolerance) or None
    # The source keeps a watched state: a new play shows as a count above what the target holds.
    if source.play_count <= target.play_count:
        return None
    if last is None:
        return ()
    tolerance = max(source_support.precision, target_support.precision).total_seconds()
    if any(abs((play - last).total_seconds()) <= tolerance for play in target.plays):
        return None
    return (last,)
