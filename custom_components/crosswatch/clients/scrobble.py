"""What a live scrobble sends to Trakt or SIMKL, and what they answer, as typed values.

Both services take the same shape at `/scrobble/start`, `/scrobble/pause` and `/scrobble/stop`:
the progress in percent and what plays, a movie by its ids, or an episode by its show's ids
and its numbering (by its own ids where the show's are not known). Both answer with the action
they took (`start`, `pause`, or `scrobble` when a stop at 80 % or more recorded a play), and
both refuse a second stop of an item they have just recorded with a 409 that dates the play
they kept (`watched_at`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .errors import CrossWatchClientError
from .http import JsonValue, Response


class ScrobbleVerb(StrEnum):
    """The three calls of a scrobble: where a play starts, pauses and stops."""

    START = "start"
    PAUSE = "pause"
    STOP = "stop"


class ScrobbleKind(StrEnum):
    """What plays, as the body names it."""

    MOVIE = "movie"
    EPISODE = "episode"  # by the episode's own ids
    SHOW_EPISODE = "show_episode"  # by its show's ids, season and number


@dataclass(frozen=True, slots=True)
class ScrobbleBody:
    """One scrobble call's body: what plays, by which ids, and how far it got (0-100)."""

    kind: ScrobbleKind
    ids: Mapping[str, int | str]
    progress: float
    season: int | None = None
    number: int | None = None
    title: str | None = None  # a movie's, sent beside its ids where known
    year: int | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """The body as both services read it."""
        ids: dict[str, JsonValue] = dict(self.ids)
        body: dict[str, JsonValue] = {"progress": round(max(0.0, min(self.progress, 100.0)), 2)}
        match self.kind:
            case ScrobbleKind.MOVIE:
                movie: dict[str, JsonValue] = {"ids": ids}
                if self.title is not None:
                    movie["title"] = self.title
                if self.year is not None:
                    movie["year"] = self.year
                body["movie"] = movie
            case ScrobbleKind.EPISODE:
                body["episode"] = {"ids": ids}
            case ScrobbleKind.SHOW_EPISODE:
                body["show"] = {"ids": ids}
                body["episode"] = {"season": self.season, "number": self.number}
        return body


@dataclass(frozen=True, slots=True)
class ScrobbleReply:
    """What the service said of one call.

    `action` is what it did (`start`, `pause`, `scrobble`); a `duplicate` stop was refused
    (409) because the service recorded the play already, at `watched_at` when it says.
    """

    action: str | None
    progress: float | None = None
    play_id: int | None = None
    duplicate: bool = False
    watched_at: datetime | None = None

    @property
    def recorded_play(self) -> bool:
        """Whether the service holds a play of the item from this stop (now or just before)."""
        return self.action == "scrobble" or self.duplicate


def parse_scrobble_reply(body: JsonValue, *, status: int) -> ScrobbleReply:
    """A 201's or a 409's body; what cannot be read in it is left unsaid, never raised."""
    fields = body if isinstance(body, dict) else {}
    if status == 409:
        return ScrobbleReply(None, duplicate=True, watched_at=_moment(fields.get("watched_at")))
    action = fields.get("action")
    progress = fields.get("progress")
    play_id = fields.get("id")
    return ScrobbleReply(
        action if isinstance(action, str) else None,
        float(progress) if isinstance(progress, int | float) else None,
        play_id if isinstance(play_id, int) and not isinstance(play_id, bool) else None,
    )


def scrobble_reply(reply: Response) -> ScrobbleReply:
    """What a scrobble call's reply says (a body that is no JSON says nothing, never raises)."""
    try:
        payload = reply.json()
    except CrossWatchClientError:
        payload = None
    return parse_scrobble_reply(payload, status=reply.status)


def _moment(value: JsonValue) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
