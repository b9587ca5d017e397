"""SIMKL sync writes: the objects a batch of requests becomes, and what SIMKL's reply says of each.

Requests become standard media objects matched by ids only (never by title alone: a wrong match
writes to someone else's item). Episodes and seasons of one show fold into one show object, as
SIMKL expects. Only the watchlist's adds echo each item; other replies give counts, so their
outcomes stay unknown and the engine verifies them by a fresh read.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
import json

from ...clients.scrobble import ScrobbleBody, ScrobbleKind
from ...clients.simkl.models import Echo, SyncEpisode, SyncObject, SyncSeason, WriteReply
from ...engine.items import MediaItem, MediaType
from ...engine.payloads import Listed, Rated, Watched
from ...engine.provider import WriteOutcome, WriteRequest, WriteResult
from ...engine.ratings import RatingScale, from_normalized
from .parse import SHARED_IDS, WATCHLIST_STATUS


@dataclass(slots=True)
class Sent:
    """One object of a write body and the requests it carries (more fold into it)."""

    section: str  # "movies" or "shows"
    body: SyncObject
    indexes: list[int]


def _wire_ids(ids: Mapping[str, str]) -> dict[str, str | int]:
    wire: dict[str, str | int] = {}
    for key in SHARED_IDS:
        value = ids.get(key)
        if value is not None:
            wire[key] = value if key == "imdb" or not value.isdigit() else int(value)
    return wire


def _title_object(item: MediaItem) -> tuple[str, SyncObject] | str:
    """The standard media object for a title (or an episode's or season's show)."""
    numbered = item.type in (MediaType.EPISODE, MediaType.SEASON)
    ids = _wire_ids(item.show_ids() if numbered else item.ids())
    if not ids:
        # SIMKL would match by title alone, and a wrong match here writes to someone else's item.
        return "no_usable_ids"
    body = SyncObject(ids, title=item.title, year=item.year)
    return ("movies" if item.type is MediaType.MOVIE else "shows"), body


def plain_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    """The object of a watchlist removal: titles only, SIMKL lists no episodes."""
    del removal
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_lists_hold_titles_only"
    return _title_object(request.item)


def listed_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    """The object of a watchlist add, dated when the request says when it was listed."""
    built = plain_object(request, removal)
    if isinstance(built, str):
        return built
    section, body = built
    listed_at = request.payload.listed_at if isinstance(request.payload, Listed) else None
    return section, replace(body, to=WATCHLIST_STATUS, added_at=listed_at)


def history_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    """The object of a history write: a title, or its show with the season or episode."""
    item, payload = request.item, request.payload
    built = _title_object(item)
    if isinstance(built, str):
        return built
    section, body = built
    when = payload.last_watched_at if isinstance(payload, Watched) else None
    stamp = when if when and not removal else None
    if item.type is MediaType.EPISODE:
        episode = SyncEpisode(item.episode, stamp)
        return section, replace(body, seasons=(SyncSeason(item.season, (episode,)),))
    if item.type is MediaType.SEASON:
        return section, replace(body, seasons=(SyncSeason(item.season, watched_at=stamp),))
    return section, replace(body, watched_at=stamp)


def scrobble_body(item: MediaItem, progress: float) -> ScrobbleBody | str:
    """A scrobble of a movie, or of an episode by its show's ids and numbering; else why not."""
    if item.type is MediaType.MOVIE:
        ids = _wire_ids(item.ids())
        if not ids:
            return "no_usable_ids"
        return ScrobbleBody(ScrobbleKind.MOVIE, ids, progress, title=item.title, year=item.year)
    if item.type is not MediaType.EPISODE or item.season is None or item.episode is None:
        return "only_movies_and_episodes_play"
    ids = _wire_ids(item.show_ids())
    if not ids:
        return "no_usable_ids"
    return ScrobbleBody(ScrobbleKind.SHOW_EPISODE, ids, progress, item.season, item.episode)


def rating_object(request: WriteRequest, removal: bool) -> tuple[str, SyncObject] | str:
    """The object of a rating write: titles only, SIMKL rates no episodes or seasons."""
    if request.item.type in (MediaType.EPISODE, MediaType.SEASON):
        return "simkl_rates_titles_only"
    built = _title_object(request.item)
    if isinstance(built, str) or removal:
        return built
    section, body = built
    if not isinstance(request.payload, Rated):
        return "no_rating_given"
    rating = int(from_normalized(RatingScale.INTEGER_1_10, request.payload.value))
    return section, replace(body, rating=rating, rated_at=request.payload.rated_at)


def fingerprint(body: SyncObject) -> str:
    """What objects of one title share: their ids."""
    return json.dumps(dict(body.ids), sort_keys=True)


def absorb(target: SyncObject, extra: SyncObject) -> SyncObject:
    """Fold another episode or season of the same show into one show object."""
    seasons = list(target.seasons or ())
    for season in extra.seasons or ():
        at = next((i for i, s in enumerate(seasons) if s.number == season.number), None)
        known = None if at is None else seasons[at].episodes
        if at is None or known is None or season.episodes is None:
            seasons.append(season)
        else:
            seasons[at] = replace(seasons[at], episodes=(*known, *season.episodes))
    return replace(target, seasons=tuple(seasons))


def _pairs(ids: Mapping[str, object]) -> frozenset[tuple[str, str]]:
    return frozenset((str(k), str(v).casefold()) for k, v in ids.items() if v is not None)


def _matches(echo: Echo, sent: Sent) -> bool:
    mine, theirs = _pairs(sent.body.ids), _pairs(echo.ids)
    return bool(mine and theirs) and (theirs <= mine or mine <= theirs)


def outcome(reply: WriteReply, sent: Sent) -> tuple[WriteOutcome, str | None]:
    """What a reply says about one sent object: not_found, echoed, or only counted."""
    if any(_matches(echo, sent) for echo in reply.not_found.get(sent.section, ())):
        return WriteOutcome.REJECTED, "not_found"
    confirmed = (*reply.added.get(sent.section, ()), *reply.statuses)
    if any(_matches(echo, sent) for echo in confirmed):
        return WriteOutcome.CONFIRMED, None
    return WriteOutcome.UNKNOWN, None


def rejected(request: WriteRequest, reason: str) -> WriteResult:
    """A request refused before (or instead of) sending it."""
    return WriteResult(request.item, WriteOutcome.REJECTED, reason)
