"""Plex's replies as typed, immutable records, parsed once where they arrive.

The client and the plex.tv steps hand their callers these records, never JSON, so nothing past
the client reads a reply's raw shape.

Parsing is strict about the shape of a reply and lenient about the fields of a record. A list
reply that is not one (no `MediaContainer`, a list that is null or not a list, a list left out
by a container that does not say it is empty, records that are not objects, fewer records than
the container says it holds) raises `CrossWatchInvalidResponseError`: read as empty, it would
make every record look removed. A field of a record that is missing or of the wrong type reads
as None, and the caller decides what a record without it is worth (an item without its ratingKey
cannot be written, so the adapter counts it unreadable).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ..errors import CrossWatchInvalidResponseError

# The guids of the external databases, beside Plex's own plex:// (and the legacy agents').
EXTERNAL_SCHEMES = ("imdb://", "tmdb://", "tvdb://")

# -- library sections and their items -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """A library section: its key, type ('movie', 'show', ...) and title."""

    key: str
    type: str
    title: str


@dataclass(frozen=True, slots=True)
class Metadata:
    """One `Metadata` record: a library item, a watchlist title or a metadata match.

    `guids` holds the record's own `guid` (plex://..., or a legacy agent's) first, then its
    `Guid` list (imdb://, tmdb://, tvdb://); None when `Guid` is neither a list nor absent, so
    the record's ids cannot be known. The dates are Plex's epoch seconds as aware datetimes.
    """

    rating_key: str | None
    type: str | None
    title: str | None
    year: int | None
    guids: tuple[str, ...] | None
    # An episode's show (grandparent) and its position (parent index = season).
    grandparent_rating_key: str | None = None
    grandparent_guid: str | None = None
    grandparent_title: str | None = None
    parent_index: int | None = None
    index: int | None = None
    # The account's state of the item on the server.
    view_count: int | None = None
    last_viewed_at: datetime | None = None
    user_rating: float | str | None = None  # as sent: 0-10 in half steps, a number or its text
    last_rated_at: datetime | None = None
    # When the title went on the Discover watchlist.
    watchlisted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetadataPage:
    """One page of a paged list: its records, the offset it says it starts at, and the total.

    `total` is the container's `totalSize`, else the `X-Plex-Container-Total-Size` header;
    None when neither says.
    """

    items: tuple[Metadata, ...]
    offset: int | None
    total: int | None


def parse_sections(body: object) -> tuple[Section, ...]:
    """The sections of a `/library/sections/all` reply (a directory without a key is skipped)."""
    return tuple(
        Section(
            str(directory["key"]),
            str(directory.get("type") or ""),
            str(directory.get("title") or ""),
        )
        for directory in _records(_container(body), "Directory")
        if directory.get("key") is not None
    )


def parse_first_characters(body: object) -> tuple[int, ...]:
    """The size of each first-character group of a `firstCharacters` reply."""
    sizes: list[int] = []
    for group in _records(_container(body), "Directory"):
        size = _integer(group.get("size"))
        if size is None:
            raise CrossWatchInvalidResponseError(
                "Plex sent a first-character group without its size"
            )
        sizes.append(size)
    return tuple(sizes)


def parse_page(body: object, headers: Mapping[str, str]) -> MetadataPage:
    """One page of a paged `Metadata` list (a section's items, the watchlist)."""
    box = _container(body)
    items = tuple(parse_metadata(row) for row in _metadata_records(box))
    total = _integer(box.get("totalSize"))
    if total is None:
        named = (v for k, v in headers.items() if k.lower() == "x-plex-container-total-size")
        total = _integer(next(named, None))
    return MetadataPage(items, _integer(box.get("offset")), total)


def parse_matches(body: object) -> tuple[Metadata, ...]:
    """The records of a metadata `matches` reply."""
    return tuple(parse_metadata(row) for row in _metadata_records(_container(body)))


def parse_search(body: object) -> tuple[Metadata, ...]:
    """The titles of a Discover search reply, in its order (best first), each listed once.

    Discover groups its hits by provider (`SearchResults`, each with its `SearchResult` list);
    a server search lists them as `SearchResult` directly. Each hit holds its record under
    `Metadata` (or `Video`, as Discover may answer: see `_metadata_records`).
    """
    box = _container(body)
    groups = box.get("SearchResults")
    if groups is None:
        groups = [box]
    if not isinstance(groups, list):
        raise CrossWatchInvalidResponseError("Plex sent search results that are not a list")
    found: dict[str, Metadata] = {}
    for group in groups:
        hits = group.get("SearchResult") if isinstance(group, dict) else None
        if hits is None:
            continue  # a provider without hits
        if not isinstance(hits, list):
            raise CrossWatchInvalidResponseError("Plex sent search hits that are not a list")
        for hit in hits:
            record = None
            if isinstance(hit, dict):
                record = hit.get("Metadata", hit.get("Video"))
            if not isinstance(record, dict):
                continue  # a person, a collection: no title to list
            row = parse_metadata(record)
            if row.rating_key is not None:
                found.setdefault(row.rating_key, row)
    return tuple(found.values())


def parse_item(body: object) -> Metadata | None:
    """The record of a per-item metadata reply (`/library/metadata/{ratingKey}`); None if empty."""
    rows = _metadata_records(_container(body))
    return parse_metadata(rows[0]) if rows else None


def external_guids(guids: tuple[str, ...] | None) -> tuple[str, ...]:
    """The imdb://, tmdb:// and tvdb:// guids among `guids`."""
    return tuple(guid for guid in guids or () if guid.startswith(EXTERNAL_SCHEMES))


def parse_metadata(row: Mapping[str, object]) -> Metadata:
    """One `Metadata` record; never raises (a field of the wrong type reads as None)."""
    return Metadata(
        rating_key=_key(row, "ratingKey"),
        type=_text(row.get("type")),
        title=_text(row.get("title")),
        year=_number(row.get("year")),
        guids=_guids(row),
        grandparent_rating_key=_key(row, "grandparentRatingKey"),
        grandparent_guid=_text(row.get("grandparentGuid")),
        grandparent_title=_text(row.get("grandparentTitle")),
        parent_index=_number(row.get("parentIndex")),
        index=_number(row.get("index")),
        view_count=_number(row.get("viewCount")),
        last_viewed_at=_time(row.get("lastViewedAt")),
        user_rating=_rating(row.get("userRating")),
        last_rated_at=_time(row.get("lastRatedAt")),
        watchlisted_at=_time(row.get("watchlistedAt")),
    )


# -- plex.tv: the account and its servers --------------------------------------------------------


class TalliedState(StrEnum):
    """A state of the account's on a library item that the server can count and date."""

    WATCHED = "watched"  # viewCount above 0, dated by lastViewedAt
    RATED = "rated"  # a userRating above 0, dated by lastRatedAt


@dataclass(frozen=True, slots=True)
class Tally:
    """How many library items of one type hold a state, and the latest date one of them got it.

    Every play and every rating dates its item, and only an unplay or an unrating lowers the
    count, so while a tally stands no item of the type gained, changed or lost that state.
    """

    count: int
    latest: datetime | None


@dataclass(frozen=True, slots=True)
class PlexAccount:
    """The signed-in plex.tv account: `uuid` is what keys it, `username` what names it."""

    id: int
    uuid: str
    username: str


@dataclass(frozen=True, slots=True)
class PlexConnection:
    """One way to reach a server."""

    uri: str
    local: bool
    relay: bool


@dataclass(frozen=True, slots=True)
class PlexServer:
    """A server the account can use, with the token for it and the ways to reach it."""

    name: str
    machine_identifier: str
    access_token: str
    owned: bool
    connections: tuple[PlexConnection, ...]

    def urls(self) -> list[str]:
        """Connection URIs, best first: local, then remote, then Plex's slow relay."""
        ranked = sorted(self.connections, key=lambda c: (c.relay, not c.local))
        return [connection.uri for connection in ranked]


def parse_account(body: object) -> PlexAccount:
    """The account of a `/api/v2/user` reply."""
    data = json_object(body, "account")
    account_id, uuid = data.get("id"), data.get("uuid")
    name = data.get("username") or data.get("title")
    if not isinstance(account_id, int) or not isinstance(uuid, str) or not uuid:
        raise CrossWatchInvalidResponseError("plex.tv sent an account without its id or uuid")
    return PlexAccount(account_id, uuid, str(name) if name else uuid)


def parse_servers(body: object) -> list[PlexServer]:
    """The servers of a `/api/v2/resources` reply, owned ones first (other resources skipped)."""
    if not isinstance(body, list):
        raise CrossWatchInvalidResponseError("plex.tv sent resources that are not a list")
    servers = [
        server
        for resource in body
        if isinstance(resource, dict) and (server := _server(resource)) is not None
    ]
    return sorted(servers, key=lambda s: (not s.owned, s.name.casefold()))


def parse_identity(body: object) -> str:
    """The machine identifier of a server's `/identity` reply."""
    data = json_object(body, "identity")
    box = data.get("MediaContainer")
    machine = box.get("machineIdentifier") if isinstance(box, dict) else None
    if not isinstance(machine, str) or not machine:
        raise CrossWatchInvalidResponseError("the Plex server did not say which server it is")
    return machine


def _server(resource: Mapping[str, object]) -> PlexServer | None:
    provides = str(resource.get("provides") or "").split(",")
    token, machine = resource.get("accessToken"), resource.get("clientIdentifier")
    if "server" not in provides or not isinstance(token, str) or not isinstance(machine, str):
        return None
    listed = resource.get("connections")
    connections = tuple(
        PlexConnection(uri, bool(c.get("local")), bool(c.get("relay")))
        for c in (listed if isinstance(listed, list) else ())
        if isinstance(c, dict) and isinstance(uri := c.get("uri"), str)
    )
    return PlexServer(
        str(resource.get("name") or machine), machine, token, bool(resource.get("owned")),
        connections,
    )  # fmt: skip


# -- the shapes of a reply -----------------------------------------------------------------------


def json_object(body: object, what: str) -> dict[str, object]:
    """`body` as a JSON object; an invalid response if it is anything else."""
    if not isinstance(body, dict):
        raise CrossWatchInvalidResponseError(f"Plex sent a {what} that is not an object")
    return body


def _container(body: object) -> dict[str, object]:
    """The `MediaContainer` of a reply; an invalid response without one."""
    box = body.get("MediaContainer") if isinstance(body, dict) else None
    if not isinstance(box, dict):
        raise CrossWatchInvalidResponseError("Plex sent a reply without its MediaContainer")
    return box


def _metadata_records(box: Mapping[str, object]) -> list[dict[str, object]]:
    """The records of a metadata list, under `Metadata` or, as Discover may answer, `Video`.

    Discover sometimes lists its records under `MediaContainer.Video` (seerr-team/seerr#2948;
    ../shared/research/provider-facts-2026.md, Plex). A container holding both is not a reply
    we know, and neither key is dropped silently: the count check of `_records` still applies.
    """
    if "Metadata" not in box and "Video" in box:
        return _records(box, "Video")
    if "Metadata" in box and "Video" in box:
        raise CrossWatchInvalidResponseError("Plex sent records under both Metadata and Video")
    return _records(box, "Metadata")


def _records(box: Mapping[str, object], key: str) -> list[dict[str, object]]:
    """The records a container lists under `key`; an invalid response unless a list.

    Plex leaves the list out of an empty container, which then says `size` 0: only that makes
    a missing list an empty one. A container saying nothing, or a list that is null, is not a
    list reply, and reading it as empty would make every record look removed.
    """
    size = _integer(box.get("size"))
    if key not in box:
        if size == 0:
            return []
        raise CrossWatchInvalidResponseError(f"Plex sent a reply without its {key} (size {size})")
    rows = box[key]
    if not isinstance(rows, list):
        raise CrossWatchInvalidResponseError(f"Plex sent {key} that is not a list")
    found: list[dict[str, object]] = [row for row in rows if isinstance(row, dict)]
    if len(found) != len(rows):
        raise CrossWatchInvalidResponseError(
            f"Plex sent {key} with {len(rows) - len(found)} non-records"
        )
    if size is not None and size != len(found):
        raise CrossWatchInvalidResponseError(
            f"Plex sent {len(found)} {key} records in a container of {size}"
        )
    return found


def _integer(value: object) -> int | None:
    """A count or offset: an integer, or the digits of one (Plex's headers are text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# -- the fields of a record ----------------------------------------------------------------------


def _key(row: Mapping[str, object], name: str) -> str | None:
    """A ratingKey: Plex sends text; a number is read as its digits, anything else as None."""
    value = row.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rating(value: object) -> float | str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return value


def _time(value: object) -> datetime | None:
    """A Plex epoch timestamp (seconds) as an aware datetime; None unless a positive number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except OverflowError, OSError, ValueError:  # beyond any calendar, or not a number (NaN)
        return None


def _guids(row: Mapping[str, object]) -> tuple[str, ...] | None:
    own = row.get("guid")
    guids = [own] if isinstance(own, str) else []
    listed = row.get("Guid")
    if isinstance(listed, list):
        guids.extend(
            guid_id
            for guid in listed
            if isinstance(guid, dict) and isinstance(guid_id := guid.get("id"), str)
        )
    elif listed and not isinstance(listed, str | dict):
        return None  # a number where the list belongs: the record's ids are unknown
    return tuple(guids)
