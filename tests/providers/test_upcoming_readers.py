"""The upcoming-episode readers and the calendar replies they read, client by client.

The readers run through the accounts' own clients, so the calendar keeps to each service's
limits as a sync does; the replies' parsers skip what cannot be placed on a calendar and refuse
what is no calendar at all.
"""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest

from custom_components.crosswatch.clients.anilist.airing import parse_airing_page
from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.simkl.calendar import (
    DEFAULT_CALENDAR_URL,
    calendar_url_for,
    parse_calendar_file,
)
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.calendar import parse_calendar
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.upcoming import (
    DEFAULT_RUNTIME,
    AniListUpcoming,
    TraktUpcoming,
    Upcoming,
    UpcomingEpisode,
    in_order,
)
from tests.simulators import anilist as anilist_sim, trakt as trakt_sim
from tests.simulators.anilist import Sim, start_sim
from tests.simulators.openapi import RECORDED
from tests.simulators.serving import Serve

pytestmark = pytest.mark.usefixtures("socket_enabled")

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=32))


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> AsyncIterator[Sim]:
    running = await start_sim(serve, session)
    anilist_sim.seed_airing(running.state, NOW)
    yield running
    running.check_client_documents()


async def test_anilist_waits_out_a_429_and_reads_on(sim: Sim) -> None:
    sim.state.quirks.retry_after = 7
    sim.state.quirks.schedule(anilist_sim.Fault.RATE_LIMITED)
    reader = AniListUpcoming(sim.client(), anilist_sim.ALICE_ID)

    episodes = await reader.read(*WINDOW)

    assert [e.summary for e in episodes] == [
        "Sousou no Frieren 2nd Season E05",
        "Kaijuu 8-gou 3rd Season E01",
        "Sousou no Frieren 2nd Season E06",
    ]
    assert 7 in sim.time.slept  # AniList's Retry-After, waited before asking again


async def test_anilist_reads_are_paced_at_thirty_requests_a_minute(sim: Sim) -> None:
    reader = AniListUpcoming(sim.client(), anilist_sim.ALICE_ID)

    for _ in range(16):  # two requests each: more than a minute's worth
        await reader.read(*WINDOW)

    assert sim.state.refused == 0  # never over AniList's limit
    assert sum(sim.time.slept) > 0  # the client waited for its minute instead


async def test_anilist_without_followed_anime_asks_for_no_airings(sim: Sim) -> None:
    reader = AniListUpcoming(sim.client(), 424242)  # a user with no list

    assert await reader.read(*WINDOW) == ()


def test_an_anilist_airing_without_what_places_it_is_skipped_and_counted() -> None:
    page = parse_airing_page(
        {
            "Page": {
                "airingSchedules": [
                    {"id": 1, "airingAt": 1_796_700_000, "episode": 3, "media": {"id": 9}},
                    {"id": 2, "episode": 3, "media": {"id": 9, "title": {"userPreferred": "X"}}},
                    {
                        "id": 3,
                        "airingAt": 1_796_700_000,
                        "episode": 4,
                        "media": {"id": 9, "title": {"userPreferred": "X"}, "duration": 0},
                    },
                ],
                "pageInfo": {"hasNextPage": False},
            }
        }
    )

    assert page.unreadable == 2
    assert page.airings[0].duration_minutes is None
    assert page.airings[0].site_url is None
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_airing_page({"Page": {"airingSchedules": None}})


def test_a_trakt_calendar_that_is_no_list_is_refused_and_an_unplaceable_record_skipped() -> None:
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_calendar({"error": "temporarily unavailable"})
    reply = parse_calendar(
        [
            {"first_aired": "2026-12-08T02:00:00.000Z", "show": {"title": "A"}, "episode": {}},
            {"first_aired": "soon", "show": {"title": "A"}, "episode": {"season": 1, "number": 2}},
            {
                "first_aired": "2026-12-08T02:00:00.000Z",
                "show": {"title": "A", "ids": {}},
                "episode": {"season": 1, "number": 3, "runtime": 0, "title": ""},
            },
        ]
    )
    assert reply.unreadable == 2
    (only,) = reply.episodes
    assert (only.show_slug, only.title, only.runtime_minutes, only.trakt_id) == (
        None,
        None,
        None,
        None,
    )


async def test_trakt_serves_at_most_33_days_a_request(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    sim = trakt_sim.TraktSim()
    app = trakt_sim.make_app(sim)
    time = sim.client_time()
    client = TraktClient(
        session,
        TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(sim.issue_tokens()),
        saver,
        base_url=await serve(app),
        sleep=time.sleep,
        clock=time.clock,
    )

    with pytest.raises(ValueError, match="1 to 33"):
        await client.my_calendar(date(2026, 12, 6), 34)
    assert (await client.my_calendar(date(2026, 12, 6), 33)).episodes == ()
    calendar_reads = [r.path for r in app[RECORDED] if r.path.startswith("/calendars/")]
    assert calendar_reads == ["/calendars/my/shows/2026-12-06/33"]


async def saver(_: Tokens) -> None:
    """Tokens are not renewed in these tests."""


async def test_a_trakt_episode_without_ids_or_slug_still_gets_a_stable_uid() -> None:
    class Client:
        async def my_calendar(self, start: date, days: int) -> object:
            assert (start, days) == (date(2026, 12, 6), 33)
            return parse_calendar(
                [
                    {
                        "first_aired": "2026-12-08T02:00:00.000Z",
                        "show": {"title": "A Show"},
                        "episode": {"season": 1, "number": 3},
                    }
                ]
            )

    reader = TraktUpcoming(Client())  # type: ignore[arg-type]
    (episode,) = await reader.read(*WINDOW)

    assert episode.uid == "trakt:A Show:1:3"
    assert episode.url is None
    assert episode.end == episode.start + DEFAULT_RUNTIME
    assert episode.summary == "A Show S01E03"
    assert episode.description == "A Show: Season 1, episode 3"


def test_simkl_calendar_entries_are_read_as_the_files_carry_them() -> None:
    with pytest.raises(CrossWatchInvalidResponseError):
        parse_calendar_file({"tv": []}, "tv.json")
    found = parse_calendar_file(
        [
            {
                "title": "Shogun",
                "date": "2026-12-09",
                "ids": {"simkl": "201"},
                "episode": {"season": 2, "episode": 3},
                "url": "http://simkl.com/tv/201",
            },
            {
                "title": "Naive",
                "date": "2026-12-09T01:00:00",
                "ids": {"simkl_id": 5},
                "episode": {"episode": 1},
            },
            {"title": "No id", "date": "2026-12-09", "ids": {}, "episode": {"episode": 1}},
            {"title": "No episode", "date": "2026-12-09", "ids": {"simkl_id": 5}, "episode": {}},
            {
                "title": "Bad date",
                "date": "next week",
                "ids": {"simkl_id": 5},
                "episode": {"episode": 1},
            },
            {"title": "No date", "ids": {"simkl_id": 5}, "episode": {"episode": True}},
            {
                "title": "Bool id",
                "date": "2026-12-09",
                "ids": {"simkl_id": True},
                "episode": {"episode": 1},
            },
            "not an entry",
            {"title": "No ids", "date": "2026-12-09"},
        ],
        "tv.json",
    )

    assert found.unreadable == 7
    first, naive = found.entries
    assert (first.simkl_id, first.airs, first.season, first.url) == (
        201,
        date(2026, 12, 9),
        2,
        None,
    )
    assert naive.airs == datetime(2026, 12, 9, 1, tzinfo=UTC)  # no offset: UTC
    assert naive.season is None


def test_a_kept_read_comes_back_as_it_was_kept() -> None:
    timed = UpcomingEpisode(
        "trakt:1", "A", 1, 2, "T", NOW, NOW + timedelta(minutes=30), "https://trakt.tv/x"
    )
    all_day = UpcomingEpisode(
        "simkl:1:0:3", "B", None, 3, None, date(2026, 12, 9), date(2026, 12, 10)
    )
    read = Upcoming(NOW, *WINDOW, in_order([all_day, timed, timed]))

    assert Upcoming.from_stored(read.as_stored()) == read
    assert read.episodes == (timed, all_day)
    assert all_day.summary == "B E03"
    assert all_day.description == "B: Episode 3"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"episodes": {}}, TypeError),
        ({"fetched_at": "2026-12-07T12:00:00"}, ValueError),
        ({"episodes": [{"uid": "x"}]}, KeyError),
    ],
)
def test_a_kept_read_that_cannot_be_read_is_refused(
    change: dict[str, object], error: type[Exception]
) -> None:
    stored = Upcoming(NOW, *WINDOW, ()).as_stored() | change

    with pytest.raises(error):
        Upcoming.from_stored(stored)


def test_a_kept_airing_time_without_its_zone_is_refused() -> None:
    episode = UpcomingEpisode("a", "A", 1, 1, None, NOW, NOW).as_stored()

    with pytest.raises(ValueError, match="time zone"):
        UpcomingEpisode.from_stored(episode | {"start": "2026-12-07T12:00:00"})


def test_simkl_s_own_api_reads_the_calendar_files_from_simkl_s_data_host() -> None:
    assert calendar_url_for("https://api.simkl.com/") == DEFAULT_CALENDAR_URL
    assert calendar_url_for("http://127.0.0.1:8080") == "http://127.0.0.1:8080/calendar"
    assert calendar_url_for("https://api.simkl.com", "http://cdn.test/c/") == "http://cdn.test/c"
