"""The demo's simulated viewer: alice goes on watching things on Plex while the demo runs.

Without it the demo's world is still once the first syncs have run, and "Sync now" has nothing
to show. With it, every few minutes one more play lands on Plex, the way a person watching in the
living room would leave one, and the next sync of Plex → Trakt history (and Plex → Jellyfin
history, where Jellyfin has the title) carries it over.

What she watches next is what a person would: the next episode of a show she has started, else
the next film she has not seen, else a show she has not started. Once she has seen everything
on the server she stops.
"""

from dataclasses import dataclass

from tests.simulators.plex import Item, PlexSim


@dataclass(frozen=True)
class Play:
    """One play that landed on Plex."""

    rating_key: str
    label: str  # "Dune (2021)" or "Severance S01E04"
    viewed_at: int  # Plex's clock, epoch seconds


def next_to_watch(plex: PlexSim) -> Item | None:
    """What a person would watch next; None once everything has been seen.

    The next episode of a show she has started, else the next film she has not seen, else the
    first episode of a show she has not started; each in library order.
    """
    episodes = sorted(
        (i for i in plex.items.values() if i.kind == "episode"),
        key=lambda e: (int(e.show_key or 0), e.season or 0, e.episode or 0),
    )
    started = {e.show_key for e in episodes if e.view_count}
    unseen = [e for e in episodes if not e.view_count]
    films = sorted(
        (i for i in plex.items.values() if i.kind == "movie" and not i.view_count),
        key=lambda f: int(f.rating_key),
    )
    continuing = [e for e in unseen if e.show_key in started]
    return next(iter(continuing or films or unseen), None)


def watch_next(plex: PlexSim) -> Play | None:
    """Play the next title to its end now, as Plex records a finished play; None when none is left.

    The play is recorded at once (it is the person's, not a write of ours, so none of the
    simulator's write quirks apply).
    """
    item = next_to_watch(plex)
    if item is None:
        return None
    item.view_count += 1
    item.last_viewed_at = plex.now
    plex.plays.append((item.rating_key, plex.now))
    return Play(item.rating_key, label(plex, item), plex.now)


def label(plex: PlexSim, item: Item) -> str:
    """How a person names the item."""
    if item.kind == "episode":
        show = plex.items[item.show_key or ""]
        return f"{show.title} S{item.season or 0:02d}E{item.episode or 0:02d}"
    return f"{item.title} ({item.year})" if item.year else item.title
