"""MDBList writes: the objects a batch of requests becomes, and what the reply says of each.

MDBList answers counts per bucket and `not_found`, either the unmatched items or only how many
(`shared/specs/mdblist/README.md` §4.6). A request is rejected when the reply names it as not
found, or when every item of its bucket was not found; confirmed when the bucket's counts
account for every item sent and none was missing; otherwise its outcome is unknown and the
engine verifies it by a fresh read.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from ...clients.mdblist.models import (
    ID_KEYS,
    Ids,
    NotFound,
    SyncEpisode,
    SyncObject,
    SyncSeason,
    WriteReply,
)
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Rated, Watched
from ...engine.provider import WriteOutcome, WriteRequest, WriteResult
from ...engine.ratings import RatingScale, from_normalized

WATCHLIST_IDS: Final = ("imdb", "tmdb")


def _ids(item: MediaItem, keys: tuple[str, ...] = ID_KEYS, *, show: bool = False) -> Ids:
    source = item.show_ids() if show else item.ids()
    return {k: source[k] for k in keys if k in source}


def rejected(request: WriteRequest, reason: str) -> WriteResult:
    """A request refused before (or instead of) sending it."""
    return WriteResult(request.item, WriteOutcome.REJECTED, reason)


@dataclass(slots=True)
class Batch:
    """What one write sends, and which requests each sent object carries."""

    sections: dict[str, list[SyncObject]] = field(default_factory=dict)
    flat: dict[str, list[Ids]] = field(default_factory=dict)
    # request index -> (the bucket MDBList counts it in, the ids a not_found entry would name)
    sent: dict[int, tuple[str, Ids]] = field(default_factory=dict)
    results: dict[int, WriteResult] = field(default_factory=dict)


def watchlist_batch(requests: Sequence[WriteRequest]) -> Batch:
    """Watchlist adds or removals: flat objects of a movie's or show's IMDb/TMDb ids (§7.1)."""
    batch = Batch()
    for number, request in enumerate(requests):
        item = request.item
        if item.type not in (MediaType.MOVIE, MediaType.SHOW):
            batch.results[number] = rejected(request, "mdblist_watchlist_holds_titles_only")
            continue
        ids = _ids(item, WATCHLIST_IDS)
        if not ids:
            batch.results[number] = rejected(request, "mdblist_watchlist_needs_imdb_or_tmdb")
            continue
        section = "movies" if item.type is MediaType.MOVIE else "shows"
        batch.flat.setdefault(section, []).append(ids)
        batch.sent[number] = (section, ids)
    return batch


def history_batch(requests: Sequence[WriteRequest], removal: bool) -> Batch:
    """Watched movies and episodes; episodes fold under their show's ids by season."""
    batch = Batch()
    shows: dict[tuple[tuple[str, str], ...], SyncObject] = {}
    for number, request in enumerate(requests):
        item, payload = request.item, request.payload
        when: datetime | None = None
        if not removal and isinstance(payload, Watched):
            when = payload.last_watched_at
        if item.type is MediaType.MOVIE:
            ids = _ids(item)
            if not ids:
                batch.results[number] = rejected(request, "no_usable_ids")
                continue
            batch.sections.setdefault("movies", []).append(SyncObject(ids, watched_at=when))
            batch.sent[number] = ("movies", ids)
            continue
        if item.type is not MediaType.EPISODE or item.season is None or item.episode is None:
            batch.results[number] = rejected(request, "mdblist_history_takes_movies_and_episodes")
            continue
        show_ids = _ids(item, show=True)
        if not show_ids:
            batch.results[number] = rejected(request, "no_usable_ids")
            continue
        key = tuple(sorted(show_ids.items()))
        episode = SyncEpisode(item.episode, when)
        shows[key] = _with_episode(shows.get(key, SyncObject(show_ids)), item.season, episode)
        batch.sent[number] = ("episodes", show_ids)
    if shows:
        batch.sections["shows"] = list(shows.values())
    return batch


def _with_episode(show: SyncObject, season: int, episode: SyncEpisode) -> SyncObject:
    seasons = list(show.seasons)
    at = next((i for i, s in enumerate(seasons) if s.number == season), None)
    if at is None:
        seasons.append(SyncSeason(season, (episode,)))
    else:
        seasons[at] = replace(seasons[at], episodes=(*seasons[at].episodes, episode))
    return replace(show, seasons=tuple(seasons))


def ratings_batch(requests: Sequence[WriteRequest], removal: bool) -> Batch:
    """Ratings of movies and shows, 1-10."""
    batch = Batch()
    for number, request in enumerate(requests):
        item, payload = request.item, request.payload
        if item.type not in (MediaType.MOVIE, MediaType.SHOW):
            batch.results[number] = rejected(request, "mdblist_ratings_take_titles_only")
            continue
        ids = _ids(item)
        if not ids:
            batch.results[number] = rejected(request, "no_usable_ids")
            continue
        obj = SyncObject(ids)
        if not removal:
            if not isinstance(payload, Rated):
                batch.results[number] = rejected(request, "no_rating_given")
                continue
            rating = int(from_normalized(RatingScale.INTEGER_1_10, payload.value))
            if not 1 <= rating <= 10:
                batch.results[number] = rejected(request, "rating_out_of_range")
                continue
            obj = replace(obj, rating=rating, rated_at=payload.rated_at)
        section = "movies" if item.type is MediaType.MOVIE else "shows"
        batch.sections.setdefault(section, []).append(obj)
        batch.sent[number] = (section, ids)
    return batch


def _named(missing: NotFound, ids: Ids) -> bool:
    mine = {(k, v.casefold()) for k, v in ids.items()}
    return any(mine & {(k, v.casefold()) for k, v in named.items()} for named in missing.items)


def outcomes(
    batch: Batch, requests: Sequence[WriteRequest], reply: WriteReply
) -> list[WriteResult]:
    """One result per request, in order, from what the reply says of each bucket."""
    results = dict(batch.results)
    per_bucket: dict[str, list[int]] = {}
    for number, (bucket, _) in batch.sent.items():
        per_bucket.setdefault(bucket, []).append(number)
    for bucket, numbers in per_bucket.items():
        missing = reply.not_found.get(bucket, NotFound())
        shows_missing = reply.not_found.get("shows", NotFound())
        done = reply.done.get(bucket, 0)
        unnamed: list[int] = []
        for number in numbers:
            ids = batch.sent[number][1]
            # An episode of a show MDBList does not know is listed with the show.
            itemized = missing.itemized and bucket != "episodes"
            named = (itemized and _named(missing, ids)) or (
                bucket == "episodes" and shows_missing.itemized and _named(shows_missing, ids)
            )
            if named:
                results[number] = rejected(requests[number], "not_found")
            else:
                unnamed.append(number)
        found = len(unnamed) if missing.itemized and bucket != "episodes" else None
        if found is None:  # only a count of what was not found: per item only at the extremes
            found = len(unnamed) - missing.count
        for number in unnamed:
            item = requests[number].item
            if found == len(unnamed) and done == len(unnamed):
                results[number] = WriteResult(item, WriteOutcome.CONFIRMED)
            elif found <= 0:
                results[number] = rejected(requests[number], "not_found")
            else:
                results[number] = WriteResult(item, WriteOutcome.UNKNOWN)
    return [results[number] for number in range(len(requests))]
