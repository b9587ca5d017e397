"""SIMKL's calendar data files, typed.

SIMKL publishes what airs as static JSON files on its data host (`data.simkl.in/calendar/`):
`tv.json` and `anime.json` hold the episodes airing from the previous day through the next 33
days, regenerated every 6 hours and cached on a CDN for 5. They need no key or token, and
their URLs ignore query strings, which SIMKL asks apps not to add. SIMKL's blueprint describes
the files but not their fields; what is read here (title, date, ids.simkl_id, episode.season,
episode.episode, url) is what the files carry, and ids.simkl is read as well.

A file that is not a list is unreadable (raised); an entry without a SIMKL id, a title, an
episode number or a date it can read cannot be matched or placed, and is skipped (counted).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from ..errors import CrossWatchInvalidResponseError
from ..http import JsonValue

DEFAULT_CALENDAR_URL: Final = "https://data.simkl.in/calendar"
API_URL: Final = "https://api.simkl.com"
CALENDAR_FILES: Final = {"shows": "tv.json", "anime": "anime.json"}


def calendar_url_for(base_url: str, calendar_url: str | None = None) -> str:
    """Where the calendar files are: SIMKL's data host for SIMKL's own API.

    A base URL other than SIMKL's is a test server (or a proxy) that serves the files too, under
    `/calendar`, as it would serve SIMKL's data host; `calendar_url` names another place.
    """
    if calendar_url:
        return calendar_url.rstrip("/")
    if base_url.rstrip("/") == API_URL:
        return DEFAULT_CALENDAR_URL
    return f"{base_url.rstrip('/')}/calendar"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One episode airing, as a calendar file lists it."""

    simkl_id: int  # the show's
    title: str
    airs: datetime | date  # an aware datetime, or a date when the file gives no time
    season: int | None  # anime entries number episodes without seasons
    episode: int
    url: str | None


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """What a calendar file gave: the entries it could read, and how many it could not."""

    entries: tuple[CalendarEntry, ...]
    unreadable: int


def parse_calendar_file(body: JsonValue, name: str) -> CalendarFile:
    """One calendar file; anything but a list is no calendar at all."""
    if not isinstance(body, list):
        raise CrossWatchInvalidResponseError(f"SIMKL's calendar {name} is not a list")
    entries = [entry for raw in body if (entry := _entry(raw)) is not None]
    return CalendarFile(tuple(entries), len(body) - len(entries))


def _number(value: JsonValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None


def _airs(value: JsonValue) -> datetime | date | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry(raw: JsonValue) -> CalendarEntry | None:
    if not isinstance(raw, dict):
        return None
    ids, episode = raw.get("ids"), raw.get("episode")
    if not isinstance(ids, dict) or not isinstance(episode, dict):
        return None
    simkl_id = _number(ids.get("simkl_id", ids.get("simkl")))
    title, airs, number = raw.get("title"), _airs(raw.get("date")), _number(episode.get("episode"))
    if simkl_id is None or not isinstance(title, str) or not title or airs is None:
        return None
    if number is None:
        return None
    url = episode.get("url") or raw.get("url")
    return CalendarEntry(
        simkl_id,
        title,
        airs,
        _number(episode.get("season")),
        number,
        url if isinstance(url, str) and url.startswith("https://") else None,
    )
