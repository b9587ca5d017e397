"""AniList's replies as typed, immutable values, parsed once at the edge.

The client turns each GraphQL `data` object into these; nothing past it sees raw JSON. A reply
that lacks what a model needs raises `CrossWatchInvalidResponseError`, never an empty value.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from ..errors import CrossWatchAuthenticationError, CrossWatchInvalidResponseError

PLANNING: Final = "PLANNING"
COMPLETED: Final = "COMPLETED"
CURRENT: Final = "CURRENT"
REPEATING: Final = "REPEATING"


def counts_as_watched(status: str, progress: int) -> bool:
    """Whether an entry is history: completed, being rewatched, or started with progress."""
    return status in (COMPLETED, REPEATING) or (status == CURRENT and progress > 0)


class ScoreFormat(StrEnum):
    """How an AniList user scores (`mediaListOptions.scoreFormat`)."""

    POINT_100 = "POINT_100"
    POINT_10_DECIMAL = "POINT_10_DECIMAL"
    POINT_10 = "POINT_10"
    POINT_5 = "POINT_5"  # stars
    POINT_3 = "POINT_3"  # smileys


@dataclass(frozen=True, slots=True)
class Viewer:
    """The account a token belongs to, and how it scores."""

    id: int
    name: str
    score_format: ScoreFormat


@dataclass(frozen=True, slots=True)
class GraphQLProblem:
    """One entry of a GraphQL `errors` list."""

    message: str
    status: int | None
    validation: bool  # AniList's per-argument validation failure (e.g. an unknown media id)


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of the user's anime list, as far as syncing needs it."""

    id: int
    media_id: int
    status: str
    score: float  # in the user's score format; 0 means unrated
    progress: int
    repeat: int
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: date | None
    id_mal: int | None
    title: str | None
    year: int | None
    format: str | None

    @property
    def in_history(self) -> bool:
        """Whether the entry counts as watched."""
        return counts_as_watched(self.status, self.progress)


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """The viewer's entry for one media as a write finds it."""

    id: int
    status: str
    progress: int
    repeat: int
    score_raw: float  # on the 100-point scale
    completed_at: date | None

    @property
    def in_history(self) -> bool:
        """Whether the entry counts as watched."""
        return counts_as_watched(self.status, self.progress)


@dataclass(frozen=True, slots=True)
class LiveMedia:
    """One media a batch writes to: its episode count and the viewer's entry, if any."""

    id: int
    episodes: int | None
    entry: LiveEntry | None


@dataclass(frozen=True, slots=True)
class ListMark:
    """What says whether a user's anime list changed: its last edit and its status counts.

    Every save dates its entry (`updatedAt`), a new entry included; a deletion leaves no date,
    but takes one off its status's count. A list whose mark stands has neither.
    """

    latest: tuple[int, int] | None  # (entry id, updatedAt) of the entry edited last; None: empty
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The viewer and the live state of the media a batch writes to."""

    viewer: Viewer
    media: Mapping[int, LiveMedia]


@dataclass(frozen=True, slots=True)
class SavedEntry:
    """What SaveMediaListEntry says it stored."""

    id: int
    status: str
    score: float  # in the score format the mutation asked for
    progress: int
    repeat: int

    @property
    def in_history(self) -> bool:
        """Whether the stored entry counts as watched."""
        return counts_as_watched(self.status, self.progress)


@dataclass(frozen=True, slots=True)
class EntryChange:
    """What one SaveMediaListEntry sets on the viewer's entry for a media; None keeps a field.

    `score` is in the score format the save names (POINT_3's smileys, say); `score_raw` is on
    AniList's 100-point scale.
    """

    media_id: int
    status: str | None = None
    progress: int | None = None
    repeat: int | None = None
    score: float | None = None
    score_raw: int | None = None
    completed_at: date | None = None

    def variables(self, score_format: ScoreFormat | None = None) -> dict[str, object]:
        """SAVE_MUTATION's variables: only the fields set, and the reply's score format."""
        fields: dict[str, object] = {
            "status": self.status,
            "progress": self.progress,
            "repeat": self.repeat,
            "score": self.score,
            "scoreRaw": self.score_raw,
        }
        variables: dict[str, object] = {
            "mediaId": self.media_id,
            **{name: value for name, value in fields.items() if value is not None},
        }
        if self.completed_at is not None:
            day = self.completed_at
            variables["completedAt"] = {"year": day.year, "month": day.month, "day": day.day}
        if score_format is not None:
            variables["format"] = score_format.value
        return variables


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the list collection."""

    entries: tuple[ListEntry, ...]
    malformed: int  # entries that could not be read
    has_next: bool


def parse_viewer(raw: object) -> Viewer:
    """The signed-in user; a missing viewer means the token names nobody."""
    if not isinstance(raw, dict):
        raise CrossWatchAuthenticationError("AniList does not know whose token this is")
    user_id, name = as_int(raw.get("id")), raw.get("name")
    options = raw.get("mediaListOptions")
    score_format = options.get("scoreFormat") if isinstance(options, dict) else None
    if user_id is None or not isinstance(name, str):
        raise CrossWatchInvalidResponseError("AniList sent a viewer without id or name")
    known = str(score_format or ScoreFormat.POINT_100.value)
    try:
        scale = ScoreFormat(known)
    except ValueError as err:
        raise CrossWatchInvalidResponseError(
            f"AniList uses a score format we do not know: unknown AniList score format: {known!r}"
        ) from err
    return Viewer(user_id, name, scale)


@dataclass(frozen=True, slots=True)
class FoundMedia:
    """One anime a title search found."""

    id: int
    id_mal: int | None
    title: str | None
    year: int | None
    format: str | None


def parse_found_media(raw: Mapping[str, Any]) -> FoundMedia | None:
    """A media of a search page; None without its id."""
    media_id = as_int(raw.get("id"))
    if media_id is None:
        return None
    media_format = raw.get("format")
    return FoundMedia(
        media_id,
        as_int(raw.get("idMal")),
        _title(as_object(raw.get("title"))),
        as_int(as_object(raw.get("startDate")).get("year")),
        media_format if isinstance(media_format, str) else None,
    )


def _title(title: Mapping[str, Any]) -> str | None:
    """The romaji title, else the English one (as the list shows them)."""
    return next(
        (
            t
            for t in (title.get("romaji"), title.get("english"))
            if isinstance(t, str) and t.strip()
        ),
        None,
    )


def parse_list_entry(raw: Mapping[str, Any] | None) -> ListEntry | None:
    """One list entry, or None when it lacks its ids or status (counted as malformed)."""
    if raw is None:
        return None
    entry_id, media_id = as_int(raw.get("id")), as_int(raw.get("mediaId"))
    status = raw.get("status")
    if entry_id is None or media_id is None or not isinstance(status, str):
        return None
    media = as_object(raw.get("media"))
    title, start = as_object(media.get("title")), as_object(media.get("startDate"))
    name = _title(title)
    media_format = media.get("format")
    return ListEntry(
        id=entry_id,
        media_id=media_id,
        status=status,
        score=as_number(raw.get("score")),
        progress=as_int(raw.get("progress")) or 0,
        repeat=max(0, as_int(raw.get("repeat")) or 0),
        created_at=as_timestamp(raw.get("createdAt")),
        updated_at=as_timestamp(raw.get("updatedAt")),
        completed_at=as_fuzzy_date(raw.get("completedAt")),
        id_mal=as_int(media.get("idMal")),
        title=name,
        year=as_int(start.get("year")),
        format=media_format if isinstance(media_format, str) else None,
    )


def parse_live_media(raw: Mapping[str, Any]) -> LiveMedia | None:
    """A media with the viewer's entry on it, as a lookup answers; None without an id."""
    media_id = as_int(raw.get("id"))
    if media_id is None:
        return None
    entry = raw.get("mediaListEntry")
    live: LiveEntry | None = None
    if isinstance(entry, dict):
        entry_id, status = as_int(entry.get("id")), entry.get("status")
        if entry_id is not None and isinstance(status, str):
            live = LiveEntry(
                entry_id,
                status,
                as_int(entry.get("progress")) or 0,
                as_int(entry.get("repeat")) or 0,
                as_number(entry.get("score")),
                as_fuzzy_date(entry.get("completedAt")),
            )
    return LiveMedia(media_id, as_int(raw.get("episodes")), live)


def as_objects(raw: object) -> list[dict[str, Any]]:
    """The objects of a JSON list."""
    return [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []


def as_records(raw: object) -> list[dict[str, Any] | None]:
    """Every element of a JSON list; anything but an object as None, to be counted."""
    if not isinstance(raw, list):
        return []
    return [item if isinstance(item, dict) else None for item in raw]


def as_object(raw: object) -> Mapping[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return raw if isinstance(raw, dict) else {}


def as_int(raw: object) -> int | None:
    """A whole number from an int, a whole float or a numeric string (never a bool); else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None


def as_number(raw: object) -> float:
    """A number (not a bool), or 0."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return 0.0
    return float(raw)


def as_timestamp(raw: object) -> datetime | None:
    """A Unix timestamp in seconds as a UTC datetime; None for a missing or zero one."""
    seconds = as_int(raw)
    if seconds is None or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def as_fuzzy_date(raw: object) -> date | None:
    """A FuzzyDate as a date; None unless year, month and day are all known and valid."""
    if not isinstance(raw, dict):
        return None
    year, month, day = as_int(raw.get("year")), as_int(raw.get("month")), as_int(raw.get("day"))
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
