"""The upcoming episodes of an account's shows: one value type, and one reader per tracker.

Pure Python (no Home Assistant): the calendar's coordinator (`upcoming_coordinator.py`) decides
when to read and keeps what was read; this module only asks a tracker's client what airs in a
window and turns its typed reply into `UpcomingEpisode`s, and (de)serializes them for the cache.

An episode with an airing time starts then and lasts its runtime (or `DEFAULT_RUNTIME` when the
service gives none); an episode the service dates without a time is an all-day event.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Protocol

from .clients.anilist.client import AniListClient
from .clients.simkl.client import SimklApi
from .clients.trakt import TraktClient
from .clients.trakt.calendar import MAX_DAYS as TRAKT_MAX_DAYS

DEFAULT_RUNTIME: Final = timedelta(minutes=30)
STORED_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class UpcomingEpisode:
    """One episode airing: when, of which show, and which one."""

    uid: str  # stable across reads: the service and its id for the episode
    show: str
    season: int | None  # None where the service numbers episodes per title (AniList)
    number: int
    title: str | None
    start: datetime | date  # an aware datetime, or a date for an all-day airing
    end: datetime | date
    url: str | None = None

    @property
    def code(self) -> str:
        """S02E05, or E05 without a season."""
        season = f"S{self.season:02d}" if self.season is not None else ""
        return f"{season}E{self.number:02d}"

    @property
    def summary(self) -> str:
        """The show and episode, and the episode's title when it has one."""
        head = f"{self.show} {self.code}"
        return f"{head} · {self.title}" if self.title else head

    @property
    def description(self) -> str:
        """The show, the season and episode in words, and where to find it."""
        which = f"Episode {self.number}"
        if self.season is not None:
            which = f"Season {self.season}, episode {self.number}"
        lines = [f"{self.show}: {which}" + (f" ({self.title})" if self.title else "")]
        if self.url:
            lines.append(self.url)
        return "\n".join(lines)

    @property
    def starts_at(self) -> datetime:
        """When it starts, as an instant (an all-day airing: its date's start in UTC)."""
        return _instant(self.start)

    def as_stored(self) -> dict[str, str | int | None]:
        """The episode as the cache keeps it (JSON)."""
        return {
            "uid": self.uid,
            "show": self.show,
            "season": self.season,
            "number": self.number,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": not isinstance(self.start, datetime),
            "url": self.url,
        }

    @classmethod
    def from_stored(cls, raw: Mapping[str, object]) -> UpcomingEpisode:
        """An episode the cache kept; raises ValueError (or KeyError) for one it cannot read."""
        parse = date.fromisoformat if raw["all_day"] else datetime.fromisoformat
        season, title, url = raw.get("season"), raw.get("title"), raw.get("url")
        start, end = parse(str(raw["start"])), parse(str(raw["end"]))
        if isinstance(start, datetime) and start.tzinfo is None:
            raise ValueError("a cached airing time without its time zone")
        return cls(
            uid=str(raw["uid"]),
            show=str(raw["show"]),
            season=season if isinstance(season, int) else None,
            number=int(str(raw["number"])),
            title=title if isinstance(title, str) else None,
            start=start,
            end=end,
            url=url if isinstance(url, str) else None,
        )


def _instant(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """What one read found: the window it covered and the episodes airing in it, in order."""

    fetched_at: datetime
    window_start: datetime
    window_end: datetime
    episodes: tuple[UpcomingEpisode, ...]

    def as_stored(self) -> dict[str, object]:
        """The read as the cache keeps it (JSON)."""
        return {
            "fetched_at": self.fetched_at.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "episodes": [episode.as_stored() for episode in self.episodes],
        }

    @classmethod
    def from_stored(cls, raw: Mapping[str, object]) -> Upcoming:
        """A read the cache kept; raises ValueError, KeyError or TypeError for one it cannot."""
        episodes = raw["episodes"]
        if not isinstance(episodes, list):
            raise TypeError("cached episodes are not a list")
        moments = [
            datetime.fromisoformat(str(raw[key]))
            for key in ("fetched_at", "window_start", "window_end")
        ]
        if any(moment.tzinfo is None for moment in moments):
            raise ValueError("a cached time without its time zone")
        fetched_at, start, end = moments
        kept = in_order(UpcomingEpisode.from_stored(episode) for episode in episodes)
        return cls(fetched_at, start, end, kept)


def in_order(episodes: Iterable[UpcomingEpisode]) -> tuple[UpcomingEpisode, ...]:
    """Episodes by start, then show and number; one per uid."""
    unique = {episode.uid: episode for episode in episodes}
    return tuple(
        sorted(unique.values(), key=lambda e: (e.starts_at, e.show, e.season or 0, e.number))
    )


class UpcomingReader(Protocol):
    """Asks one tracker what airs for the account's shows in a window."""

    async def read(self, start: datetime, end: datetime) -> tuple[UpcomingEpisode, ...]:
        """The episodes of the user's shows airing from `start` (UTC midnight) to `end`."""


class TraktUpcoming:
    """Trakt: the user's own calendar, one request for up to 33 days."""

    def __init__(self, client: TraktClient) -> None:
        """Read through the account's client (its pacing, tokens and quota)."""
        self._client = client

    async def read(self, start: datetime, end: datetime) -> tuple[UpcomingEpisode, ...]:
        """`/calendars/my/shows` from `start`'s date for the window's days (at most 33)."""
        days = min(TRAKT_MAX_DAYS, max(1, (end - start).days))
        reply = await self._client.my_calendar(start.astimezone(UTC).date(), days)
        episodes = []
        for aired in reply.episodes:
            runtime = timedelta(minutes=aired.runtime_minutes) if aired.runtime_minutes else None
            slug = aired.show_slug
            episode_id = (
                aired.trakt_id
                if aired.trakt_id is not None
                else (f"{slug or aired.show_title}:{aired.season}:{aired.number}")
            )
            episodes.append(
                UpcomingEpisode(
                    uid=f"trakt:{episode_id}",
                    show=aired.show_title,
                    season=aired.season,
                    number=aired.number,
                    title=aired.title,
                    start=aired.first_aired,
                    end=aired.first_aired + (runtime or DEFAULT_RUNTIME),
                    url=(
                        f"https://trakt.tv/shows/{slug}/seasons/{aired.season}"
                        f"/episodes/{aired.number}"
                        if slug
                        else None
                    ),
                )
            )
        return in_order(episodes)


# The lists whose shows SIMKL's calendar shows: what the user watches or plans to watch.
SIMKL_FOLLOWED: Final = frozenset({"watching", "plantowatch"})


class SimklUpcoming:
    """SIMKL: its public calendar files, matched by SIMKL id with the user's followed shows.

    Per read: one list request per bucket (shows, anime), and the calendar file of each bucket
    the user follows a title in (files SIMKL regenerates every six hours, as often as we read).
    """

    def __init__(self, api: SimklApi) -> None:
        """Read through the account's client (its pacing and token)."""
        self._api = api
        # What each bucket's followed titles were, and the activity stamps they were read at.
        self._followed: dict[str, tuple[Mapping[str, str | None], frozenset[int]]] = {}

    async def read(self, start: datetime, end: datetime) -> tuple[UpcomingEpisode, ...]:
        """The followed titles' episodes airing between `start` and `end`."""
        activities = await self._api.activities()
        episodes: list[UpcomingEpisode] = []
        for bucket in ("shows", "anime"):
            followed = await self._followed_in(bucket, activities.buckets.get(bucket))
            if not followed:
                continue
            calendar = await self._api.calendar(bucket)
            for entry in calendar.entries:
                if entry.simkl_id not in followed:
                    continue
                all_day = not isinstance(entry.airs, datetime)
                starts = _instant(entry.airs)
                if not start <= starts < end:
                    continue
                episodes.append(
                    UpcomingEpisode(
                        uid=f"simkl:{entry.simkl_id}:{entry.season or 0}:{entry.episode}",
                        show=entry.title,
                        season=entry.season,
                        number=entry.episode,
                        title=None,  # the files name the show, not the episode
                        start=entry.airs,
                        end=entry.airs + (timedelta(days=1) if all_day else DEFAULT_RUNTIME),
                        url=entry.url,
                    )
                )
        return in_order(episodes)

    async def _followed_in(
        self, bucket: str, stamps: Mapping[str, str | None] | None
    ) -> frozenset[int]:
        """The bucket's followed titles; its list is read again only when its activity moved.

        SIMKL asks apps not to pull `/sync/all-items` without a reason: `/sync/activities`
        says whether the lists changed since the last read.
        """
        kept = self._followed.get(bucket)
        if kept is not None and stamps is not None and kept[0] == stamps:
            return kept[1]
        statuses = await self._api.listed_statuses(bucket)
        followed = frozenset(
            simkl for simkl, status in statuses.items() if status in SIMKL_FOLLOWED
        )
        if stamps is not None:
            self._followed[bucket] = (stamps, followed)
        return followed


class AniListUpcoming:
    """AniList: the airing schedules of the user's CURRENT and PLANNING anime.

    Per read: a page of the user's followed media per 50 of them, then a page of airings per 50
    media (more pages where a window holds more than 50 airings), all paced by the client at
    AniList's 30 requests a minute.
    """

    def __init__(self, client: AniListClient, user_id: int) -> None:
        """Read through the account's client (its pacing and token) for `user_id`."""
        self._client = client
        self._user_id = user_id

    async def read(self, start: datetime, end: datetime) -> tuple[UpcomingEpisode, ...]:
        """The followed anime's episodes airing between `start` and `end`."""
        followed = await self._client.followed_media(self._user_id)
        if not followed:
            return ()
        airings = await self._client.airing(followed, start, end)
        return in_order(
            UpcomingEpisode(
                uid=f"anilist:{airing.schedule_id}",
                show=airing.title,
                season=None,
                number=airing.episode,
                title=None,
                start=airing.airing_at,
                end=airing.airing_at
                + (
                    timedelta(minutes=airing.duration_minutes)
                    if airing.duration_minutes
                    else DEFAULT_RUNTIME
                ),
                url=airing.site_url,
            )
            for airing in airings
        )
