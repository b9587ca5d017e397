"""Trakt's calendar of the user's shows (`/calendars/my/shows/{start_date}/{days}`), typed.

Trakt serves at most `MAX_DAYS` days a request, dates in UTC. The `my` calendar holds the
episodes of every show the user watched, collected or watchlisted (and single watchlisted
episodes), less the shows hidden from the calendar. With `extended=full` an episode carries its
runtime in minutes.

A reply that is not a list is unreadable (raised); a record without an airing time, a show title
or an episode number cannot be placed on a calendar and is skipped (and counted).
"""

from dataclasses import dataclass
from datetime import datetime

from ..errors import CrossWatchInvalidResponseError
from .models import json_object, parse_time, whole

MAX_DAYS = 33  # the most days Trakt serves in one calendar request


@dataclass(frozen=True, slots=True)
class CalendarEpisode:
    """One episode airing, as the user's calendar lists it."""

    first_aired: datetime  # aware, UTC
    show_title: str
    show_year: int | None
    show_slug: str | None
    season: int
    number: int
    title: str | None
    runtime_minutes: int | None
    trakt_id: int | None  # the episode's


@dataclass(frozen=True, slots=True)
class CalendarReply:
    """What a calendar request gave: the episodes it could read, and how many it could not."""

    episodes: tuple[CalendarEpisode, ...]
    unreadable: int


def parse_calendar(raw: object) -> CalendarReply:
    """A `/calendars/my/shows` reply; anything but a list is no calendar at all."""
    if not isinstance(raw, list):
        raise CrossWatchInvalidResponseError("Trakt sent a calendar that is not a list")
    episodes = [episode for record in raw if (episode := _episode(record)) is not None]
    return CalendarReply(tuple(episodes), len(raw) - len(episodes))


def _episode(raw: object) -> CalendarEpisode | None:
    record = json_object(raw)
    episode, show = json_object(record.get("episode")), json_object(record.get("show"))
    aired = parse_time(record.get("first_aired"))
    title = show.get("title")
    season, number = whole(episode.get("season")), whole(episode.get("number"))
    if aired is None or not isinstance(title, str) or season is None or number is None:
        return None
    episode_title = episode.get("title")
    slug = json_object(show.get("ids")).get("slug")
    runtime = whole(episode.get("runtime"))
    return CalendarEpisode(
        first_aired=aired,
        show_title=title,
        show_year=whole(show.get("year")),
        show_slug=slug if isinstance(slug, str) and slug else None,
        season=season,
        number=number,
        title=episode_title if isinstance(episode_title, str) and episode_title else None,
        runtime_minutes=runtime if runtime is not None and runtime > 0 else None,
        trakt_id=whole(json_object(episode.get("ids")).get("trakt")),
    )
