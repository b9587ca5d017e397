"""What the MediaBrowser client returns: typed, immutable, parsed once from the server's JSON.

The servers' replies are loosely typed (any field may be missing, null, or of another type
than its description says), so every parser here is lenient where the adapter was lenient and
strict where it refused: a field of the wrong type reads as absent, while a reply missing what a
call cannot do without (a page's `Items`, a login's token) raises
`CrossWatchInvalidResponseError`. Nothing past this module sees the JSON.

`UserData` keeps one thing beyond the values: which state fields the server's object carried
(null included). Emby's UserData update replaces the whole user data, so what it is sent must be
exactly the fields the item has, neither more nor fewer (see `UserData.wire`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from ..errors import CrossWatchInvalidResponseError
from ..http import JsonValue

# The fields of a UserItemDataDto that hold the user's state, as opposed to what the server
# computes (PlayedPercentage, UnplayedItemCount) or names (Key, ItemId, ServerId).
RATING: Final = "Rating"
PLAYED: Final = "Played"
PLAY_COUNT: Final = "PlayCount"
LAST_PLAYED_DATE: Final = "LastPlayedDate"
IS_FAVORITE: Final = "IsFavorite"
PLAYBACK_POSITION_TICKS: Final = "PlaybackPositionTicks"
USER_STATE_FIELDS: Final = (
    RATING,
    PLAYED,
    PLAY_COUNT,
    LAST_PLAYED_DATE,
    IS_FAVORITE,
    PLAYBACK_POSITION_TICKS,
)


def parse_date(value: str | None) -> datetime | None:
    """A server date ("2024-05-01T20:00:00.0000000Z", seven fractional digits) as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    head, dot, fraction = text.partition(".")
    if dot:
        # .NET writes ticks (7 digits); Python reads at most microseconds.
        digits = "".join(c for c in fraction if c.isdigit())
        text = f"{head}.{digits[:6]}{fraction[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class UserData:
    """The user's state on one item (the state fields of a `UserItemDataDto`).

    A value is None when the server sent null, nothing, or something of another type. `present`
    names the state fields the server's object carried, null included: the difference matters
    only to Emby's whole-user-data update, which must send back what the item has.
    """

    rating: float | None = None
    played: bool | None = None
    play_count: int | None = None
    # The server's own text, so that a write sending it back sends it unchanged.
    last_played_date: str | None = None
    is_favorite: bool | None = None
    playback_position_ticks: int | None = None
    present: frozenset[str] = field(default=frozenset())

    @property
    def last_played(self) -> datetime | None:
        """When the item was last played, as aware UTC (None when unknown or unreadable)."""
        return parse_date(self.last_played_date)

    def overlaid(self, newer: UserData) -> UserData:
        """This user data with every field `newer` carries taken from `newer` instead."""

        def pick(name: str) -> UserData:
            return newer if name in newer.present else self

        return UserData(
            rating=pick(RATING).rating,
            played=pick(PLAYED).played,
            play_count=pick(PLAY_COUNT).play_count,
            last_played_date=pick(LAST_PLAYED_DATE).last_played_date,
            is_favorite=pick(IS_FAVORITE).is_favorite,
            playback_position_ticks=pick(PLAYBACK_POSITION_TICKS).playback_position_ticks,
            present=self.present | newer.present,
        )

    def as_whole(self) -> UserData:
        """This user data read as the whole of it: a state field it lacks, the item lacks.

        A write's answer is the item's whole user data, so a state field missing from it is one
        the item does not hold (null), except the playback position, which is left as it was.
        """
        missing = frozenset({PLAYBACK_POSITION_TICKS}) - self.present
        return replace(self, present=frozenset(USER_STATE_FIELDS) - missing)

    def wire(self) -> dict[str, JsonValue]:
        """The state fields this user data carries, in USER_STATE_FIELDS order, for a body."""
        values: dict[str, JsonValue] = {
            RATING: self.rating,
            PLAYED: self.played,
            PLAY_COUNT: self.play_count,
            LAST_PLAYED_DATE: self.last_played_date,
            IS_FAVORITE: self.is_favorite,
            PLAYBACK_POSITION_TICKS: self.playback_position_ticks,
        }
        return {name: values[name] for name in USER_STATE_FIELDS if name in self.present}


@dataclass(frozen=True, slots=True)
class Item:
    """One `BaseItemDto` as far as syncing needs it; a field of the wrong type reads as None."""

    id: str | None
    type: str | None  # "Movie", "Series", "Episode", ...
    name: str | None = None
    production_year: int | None = None
    # Every usable id (text or whole number, as text), in the server's key casing.
    provider_ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    series_id: str | None = None
    series_name: str | None = None
    season_number: int | None = None  # ParentIndexNumber
    episode_number: int | None = None  # IndexNumber
    user_data: UserData | None = None  # None when the item carried no UserData object


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a `QueryResult<BaseItemDto>`."""

    items: tuple[Item, ...]
    total: int | None  # TotalRecordCount, when the server sent one
    served_at: datetime | None = None  # the reply's Date header: the server's own clock


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What `/System/Info/Public` says about a server, without logging in."""

    id: str
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login leaves us: the access token and whose it is. Never the password."""

    access_token: str
    user_id: str
    user_name: str


@dataclass(frozen=True, slots=True)
class QuickConnectResult:
    """Where a Jellyfin Quick Connect request stands: its code, its secret, and whether approved."""

    code: str
    secret: str
    authenticated: bool


def text(value: JsonValue, what: str) -> str:
    """A non-empty string the reply must hold."""
    if not isinstance(value, str) or not value:
        raise CrossWatchInvalidResponseError(f"the server's reply has no {what}")
    return value


def json_object(value: JsonValue, what: str) -> Mapping[str, JsonValue]:
    """A JSON object the reply must be (or hold)."""
    if not isinstance(value, dict):
        raise CrossWatchInvalidResponseError(f"the server sent no {what} object")
    return value


def whole_number(value: JsonValue) -> int | None:
    """A JSON integer (a bool is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: JsonValue) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond any double: no rating of ours
        return None


def _provider_id(value: JsonValue) -> str | None:
    """An id as text; whole numbers (which some servers send) become their digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else None


def parse_user_data(raw: Mapping[str, JsonValue]) -> UserData:
    """The state fields of a `UserItemDataDto` object."""
    return UserData(
        rating=_number(raw.get(RATING)),
        played=_flag(raw.get(PLAYED)),
        play_count=whole_number(raw.get(PLAY_COUNT)),
        last_played_date=_optional_text(raw.get(LAST_PLAYED_DATE)),
        is_favorite=_flag(raw.get(IS_FAVORITE)),
        playback_position_ticks=whole_number(raw.get(PLAYBACK_POSITION_TICKS)),
        present=frozenset(name for name in USER_STATE_FIELDS if name in raw),
    )


def parse_item(raw: Mapping[str, JsonValue]) -> Item:
    """One `BaseItemDto` object; anything unusable in it reads as absent."""
    ids = raw.get("ProviderIds")
    data = raw.get("UserData")
    return Item(
        id=_optional_text(raw.get("Id")),
        type=_optional_text(raw.get("Type")),
        name=_optional_text(raw.get("Name")),
        production_year=whole_number(raw.get("ProductionYear")),
        provider_ids=MappingProxyType(
            {
                key: value
                for key, found in (ids.items() if isinstance(ids, dict) else ())
                if (value := _provider_id(found)) is not None
            }
        ),
        series_id=_optional_text(raw.get("SeriesId")),
        series_name=_optional_text(raw.get("SeriesName")),
        season_number=whole_number(raw.get("ParentIndexNumber")),
        episode_number=whole_number(raw.get("IndexNumber")),
        user_data=parse_user_data(data) if isinstance(data, dict) else None,
    )


def parse_page(raw: JsonValue, service: str) -> ItemPage:
    """A `QueryResult<BaseItemDto>`: it must hold an `Items` list; rows not objects are dropped."""
    body = json_object(raw, "items")
    rows = body.get("Items")
    if not isinstance(rows, list):
        raise CrossWatchInvalidResponseError(f"{service} sent a page without Items")
    return ItemPage(
        tuple(parse_item(row) for row in rows if isinstance(row, dict)),
        whole_number(body.get("TotalRecordCount")),
    )


def parse_server_info(raw: JsonValue) -> ServerInfo:
    """`/System/Info/Public`: the id is required, the name and version are not."""
    body = json_object(raw, "server info")
    return ServerInfo(
        id=text(body.get("Id"), "server id"),
        name=str(body.get("ServerName") or body.get("Id")),
        version=str(body.get("Version") or ""),
    )


def credentials_from(reply: JsonValue) -> Credentials:
    """The token and user of an `AuthenticationResult`; everything else is dropped."""
    body = json_object(reply, "authentication result")
    user = json_object(body.get("User"), "user")
    return Credentials(
        access_token=text(body.get("AccessToken"), "access token"),
        user_id=text(user.get("Id"), "user id"),
        user_name=str(user.get("Name") or user.get("Id")),
    )


def parse_counts(raw: JsonValue, types: Sequence[str], service: str) -> int:
    """The sum of an `ItemCounts` reply's `<Type>Count` for `types`; each must be there."""
    body = json_object(raw, "counts")
    counted = 0
    for kind in types:
        value = whole_number(body.get(f"{kind}Count"))
        if value is None:
            raise CrossWatchInvalidResponseError(f"{service} sent counts without {kind}Count")
        counted += value
    return counted


def parse_quick_connect(raw: JsonValue) -> QuickConnectResult:
    """A `QuickConnectResult`: the code and secret are required."""
    if not isinstance(raw, dict):
        raise CrossWatchInvalidResponseError("Jellyfin sent no Quick Connect result")
    code, secret = raw.get("Code"), raw.get("Secret")
    if not isinstance(code, str) or not isinstance(secret, str) or not secret:
        raise CrossWatchInvalidResponseError(
            "Jellyfin's Quick Connect result has no code or secret"
        )
    return QuickConnectResult(code, secret, raw.get("Authenticated") is True)


def user_data_reply(raw: JsonValue) -> UserData | None:
    """The user data a write answered with; None unless it is a UserItemDataDto with `Played`."""
    if not isinstance(raw, dict) or not isinstance(raw.get(PLAYED), bool):
        return None
    return parse_user_data(raw)
