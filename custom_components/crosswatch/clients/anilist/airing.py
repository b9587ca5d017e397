"""AniList's airing schedules of the user's followed anime, typed.

Two reads, both paged (`Page(perPage)` is at most 50 since 2026): the media ids of the user's
CURRENT and PLANNING entries, then the airing schedules of those media within a window. AniList
numbers episodes per media (each season is its own media), so an airing has no season.

A page without its list is unreadable (raised); an airing without its time, episode or media
title is skipped (counted).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import CrossWatchInvalidResponseError
from .models import as_int, as_object


@dataclass(frozen=True, slots=True)
class Airing:
    """One episode of a followed anime airing."""

    schedule_id: int
    media_id: int
    episode: int
    airing_at: datetime  # aware, UTC
    title: str
    duration_minutes: int | None
    site_url: str | None


@dataclass(frozen=True, slots=True)
class FollowedPage:
    """One page of the user's followed media ids."""

    media_ids: tuple[int, ...]
    has_next: bool


@dataclass(frozen=True, slots=True)
class AiringPage:
    """One page of airing schedules: those it could read, how many it could not, and if more."""

    airings: tuple[Airing, ...]
    unreadable: int
    has_next: bool


def _rows(data: Mapping[str, Any], name: str) -> tuple[list[Any], bool]:
    page = as_object(data.get("Page"))
    rows = page.get(name)
    if not isinstance(rows, list):
        raise CrossWatchInvalidResponseError(f"AniList sent a page without its {name}")
    return rows, as_object(page.get("pageInfo")).get("hasNextPage") is True


def parse_followed_page(data: Mapping[str, Any]) -> FollowedPage:
    """A page of `mediaList` entries: their media ids."""
    rows, has_next = _rows(data, "mediaList")
    ids = [media_id for row in rows if (media_id := as_int(as_object(row).get("mediaId")))]
    return FollowedPage(tuple(ids), has_next)


def parse_airing_page(data: Mapping[str, Any]) -> AiringPage:
    """A page of `airingSchedules`."""
    rows, has_next = _rows(data, "airingSchedules")
    airings = [airing for row in rows if (airing := _airing(row)) is not None]
    return AiringPage(tuple(airings), len(rows) - len(airings), has_next)


def _airing(raw: Any) -> Airing | None:
    row = as_object(raw)
    media = as_object(row.get("media"))
    schedule_id, at, episode = (
        as_int(row.get("id")),
        as_int(row.get("airingAt")),
        as_int(row.get("episode")),
    )
    media_id = as_int(media.get("id"))
    title = as_object(media.get("title")).get("userPreferred")
    if schedule_id is None or at is None or episode is None or media_id is None:
        return None
    if not isinstance(title, str) or not title:
        return None
    duration = as_int(media.get("duration"))
    url = media.get("siteUrl")
    return Airing(
        schedule_id,
        media_id,
        episode,
        datetime.fromtimestamp(at, UTC),
        title,
        duration if duration is not None and duration > 0 else None,
        url if isinstance(url, str) and url.startswith("https://") else None,
    )
