"""Write-through shadows: how a destination without stable external ids stops re-adding.

Jellyfin and Emby items often lack ProviderIds. After a confirmed write to such an item, the
engine records a shadow: the destination's local token (its item id) stands for the source's
strong tokens. Later snapshots of the destination are the live items merged with the shadows:

- live wins when it carries real ids: the shadow has done its job and expires;
- the shadow supplies the tokens when live lacks them, so the item matches strongly;
- a shadow whose item is absent from `expire_after` complete snapshots expires too.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .items import MediaItem
from .payloads import Entry
from .snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Shadow:
    """A destination item known by its local id, standing for a source item's strong tokens."""

    local_token: str
    tokens: tuple[str, ...]
    absent_runs: int = 0


@dataclass(frozen=True, slots=True)
class ShadowedView:
    """A destination snapshot with its shadows applied, and what became of each shadow."""

    snapshot: Snapshot
    used: tuple[Shadow, ...] = ()
    expired: tuple[Shadow, ...] = ()  # live shows real ids, or absent too long
    absent: tuple[Shadow, ...] = ()  # not seen in this complete snapshot: one more absent run


def shadow_for(stored_as: MediaItem, source: MediaItem) -> Shadow | None:
    """The shadow to record after writing `source` to the destination item `stored_as`."""
    if stored_as.tokens or not stored_as.local_tokens or not source.tokens:
        return None  # the destination knows real ids, or we know nothing worth lending it
    return Shadow(stored_as.local_tokens[0], source.tokens)


def apply_shadows(
    snapshot: Snapshot, shadows: Iterable[Shadow], *, expire_after: int = 3
) -> ShadowedView:
    """Lend shadowed tokens to live items that lack external ids."""
    entries: list[Entry] = list(snapshot.entries.values())
    position = {
        token: index for index, entry in enumerate(entries) for token in entry.item.local_tokens
    }
    used: list[Shadow] = []
    expired: list[Shadow] = []
    absent: list[Shadow] = []
    for shadow in shadows:
        index = position.get(shadow.local_token)
        if index is None:
            if snapshot.complete:
                (expired if shadow.absent_runs + 1 >= expire_after else absent).append(shadow)
            continue
        live = entries[index]
        if live.item.tokens:
            expired.append(shadow)
            continue
        lent = MediaItem.from_tokens(
            live.item.type,
            title=live.item.title,
            year=live.item.year,
            season=live.item.season,
            episode=live.item.episode,
            tokens=shadow.tokens,
            local_tokens=live.item.local_tokens,
        )
        entries[index] = Entry(lent, live.payload)
        used.append(shadow)
    if not used:
        return ShadowedView(snapshot, (), tuple(expired), tuple(absent))
    rebuilt = Snapshot.build(
        snapshot.provider,
        snapshot.feature,
        entries,
        snapshot.completeness,
        semantics=snapshot.semantics,
        removed=snapshot.removed,
    )
    return ShadowedView(rebuilt, tuple(used), tuple(expired), tuple(absent))
