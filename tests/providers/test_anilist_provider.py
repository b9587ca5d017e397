"""The AniList engine adapter: reads, writes and their safety rules, against the simulator."""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.crosswatch.clients.anilist.client import (
    AniListClient,
    GraphQLError,
    tokens_from_pin,
)
from custom_components.crosswatch.clients.anilist.models import Lookup
from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.engine.payloads import Feature, Listed, Payload, Rated, Watched
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.provider import (
    AuthError,
    PackedRead,
    ProviderError,
    RateLimitError,
    WriteOutcome,
    WriteRequest,
)
from custom_components.crosswatch.engine.ratings import RatingScale, quantize
from custom_components.crosswatch.providers.anilist_provider import (
    BATCH_SIZE,
    AniListProvider,
)
from tests.reads import read_whole, same_snapshots
from tests.simulators.anilist import (
    ALICE_ID,
    ALICE_TOKEN,
    Fault,
    Sim,
    SimUser,
    start_sim,
)

type Serve = Callable[[web.Application], Awaitable[str]]

# Loopback only: the simulator runs in this process.
pytestmark = pytest.mark.usefixtures("socket_enabled")

DAY = 24 * 3600


@pytest.fixture
async def sim(serve: Serve, session: aiohttp.ClientSession) -> AsyncIterator[Sim]:
    """The simulator seeded with alice's list; afterwards, every client document must be valid."""
    running = await start_sim(serve, session)
    yield running
    running.check_client_documents()


class Clock:
    """Monotonic time for the read reuse window, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider_for(
    sim: Sim, client: AniListClient | None = None, clock: Clock | None = None, **options: Any
) -> AniListProvider:
    options.setdefault("user_id", ALICE_ID)
    options.setdefault("user_name", "alice")
    return AniListProvider(client or sim.client(), clock=clock or Clock(), **options)


def anime(anilist: int | None = None, **ids: Any) -> MediaItem:
    return MediaItem.create(
        MediaType.ANIME, title=f"anime {anilist}", ids={"anilist": anilist, **ids}
    )


def user(sim: Sim) -> SimUser:
    return sim.state.users[ALICE_ID]


async def write(
    provider: AniListProvider, feature: Feature, action: Action, *requests: WriteRequest
) -> list[tuple[WriteOutcome, str | None]]:
    results = await provider.write(feature, action, list(requests))
    assert [r.item for r in results] == [r.item for r in requests]
    return [(r.outcome, r.reason) for r in results]


CONFIRMED = (WriteOutcome.CONFIRMED, None)


# --- what the provider is ------------------------------------------------------------------


async def test_capabilities_are_a_watched_state_with_day_precision_and_small_batches(
    sim: Sim,
) -> None:
    provider = provider_for(sim, score_format="POINT_5")
    capabilities = provider.capabilities
    assert capabilities.features == frozenset(Feature)
    assert not capabilities.history.multiple_plays
    assert capabilities.history.sets_watched_at
    assert capabilities.history.precision == timedelta(days=1)
    assert capabilities.confirms_per_item
    assert capabilities.batch_size == BATCH_SIZE <= 50
    assert capabilities.rating_scale is RatingScale.ANILIST_POINT_5
    assert (provider.key, provider.name) == (f"anilist:{ALICE_ID}", "AniList (alice)")


async def test_health_adopts_the_current_score_format_and_name(sim: Sim) -> None:
    provider = provider_for(sim, user_name="old name", score_format="POINT_5")
    await provider.health()
    assert provider.capabilities.rating_scale is RatingScale.ANILIST_POINT_10_DECIMAL
    assert provider.name == "AniList (alice)"
    assert provider.requests_made == 1


async def test_health_asks_for_a_new_token_once_it_has_expired_without_asking_anilist(
    sim: Sim,
) -> None:
    client = sim.client()
    client.tokens = tokens_from_pin(ALICE_TOKEN).__class__(ALICE_TOKEN, expires_at=1.0)
    with pytest.raises(AuthError, match="expired"):
        await provider_for(sim, client).health()
    assert sim.state.requests == 0


async def test_a_token_of_another_account_is_refused_before_anything_is_read_or_written(
    sim: Sim,
) -> None:
    sim.state.add_user(77, "mallory", "mallory-token")
    provider = provider_for(sim, sim.client("mallory-token"))
    with pytest.raises(AuthError, match="belongs to mallory"):
        await read_whole(provider, Feature.WATCHLIST, None)
    with pytest.raises(AuthError, match="belongs to mallory"):
        await provider.write(Feature.WATCHLIST, Action.ADD, [WriteRequest(anime(30), Listed())])
    assert sim.state.mutations == []


# --- reads ---------------------------------------------------------------------------------


async def test_the_watchlist_is_the_planning_entries_listed_when_created(sim: Sim) -> None:
    read = await read_whole(provider_for(sim), Feature.WATCHLIST, None)
    snapshot = read.snapshot
    assert snapshot.complete
    assert sorted(snapshot.entries) == ["anilist:5114"]
    entry = snapshot.entries["anilist:5114"]
    assert entry.payload == Listed(datetime.fromtimestamp(1_650_000_000, UTC))
    assert entry.item.title == "Hagane no Renkinjutsushi: FULLMETAL ALCHEMIST"
    assert entry.item.year == 2009
    assert "mal:5114" in entry.item.tokens


async def test_anilists_own_statistics_witness_a_watchlist_read(sim: Sim) -> None:
    provider = provider_for(sim)
    whole = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    provider.forget_reads(validated=True)
    sim.state.quirks.empty_collections = 1  # a list with no lists, that looks complete
    short = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot

    assert await provider.count_agrees(whole) is True
    assert short.complete
    assert len(short) == 0
    assert await provider.count_agrees(short) is False
    # Watched state and scores have no count of their own that maps onto what is synced.
    history = (await read_whole(provider, Feature.HISTORY, None)).snapshot
    assert await provider.count_agrees(history) is None


async def test_statistics_without_their_statuses_are_an_invalid_response(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    async def reply(request: web.Request) -> web.Response:
        data = {"User": {"statistics": {"anime": {"statuses": None}}}}
        return web.json_response({"data": data})

    app = web.Application()
    app.router.add_post("/", reply)
    client = AniListClient(session, tokens_from_pin("token"), base_url=await serve(app))
    with pytest.raises(CrossWatchInvalidResponseError, match="without statuses"):
        await client.status_counts(ALICE_ID)


async def test_history_is_completed_rewatching_and_started_entries_with_day_precision(
    sim: Sim,
) -> None:
    sim.state.add_entry(ALICE_ID, 30, "REPEATING", progress=3, repeat=2, updated_at=1_700_000_100)
    snapshot = (await read_whole(provider_for(sim), Feature.HISTORY, None)).snapshot
    assert snapshot.complete
    payloads = {key: entry.payload for key, entry in snapshot.entries.items()}
    # Dropped, paused and unstarted entries are not history; the manga is not anime at all.
    assert set(payloads) == {"anilist:1", "anilist:21519", "anilist:16498", "anilist:30"}
    # A completion day reads as its noon in UTC: within a day of that date in any time zone.
    assert payloads["anilist:1"] == Watched.from_state(2, datetime(2021, 3, 4, 12, tzinfo=UTC))
    assert payloads["anilist:21519"] == Watched.from_state(1, datetime(2020, 1, 2, 12, tzinfo=UTC))
    started = datetime.fromtimestamp(1_690_000_000, UTC)
    assert payloads["anilist:16498"] == Watched.from_state(1, started)
    rewatching = datetime.fromtimestamp(1_700_000_100, UTC)
    assert payloads["anilist:30"] == Watched.from_state(3, rewatching)


async def test_ratings_are_normalized_from_the_users_score_format(sim: Sim) -> None:
    snapshot = (await read_whole(provider_for(sim), Feature.RATINGS, None)).snapshot
    values = {key: entry.payload for key, entry in snapshot.entries.items()}
    assert values == {
        "anilist:1": Rated(9.0, datetime.fromtimestamp(1_615_000_000, UTC)),
        "anilist:21519": Rated(8.5, datetime.fromtimestamp(1_577_000_000, UTC)),
        "anilist:9253": Rated(6.0, datetime.fromtimestamp(1_680_000_000, UTC)),
    }


async def test_films_are_movies_and_series_are_anime(sim: Sim) -> None:
    snapshot = (await read_whole(provider_for(sim), Feature.HISTORY, None)).snapshot
    film = snapshot.entries["anilist:21519"].item
    assert film.type is MediaType.MOVIE
    assert (film.title, film.year) == ("Kimi no Na wa.", 2016)
    assert set(film.tokens) == {"anilist:21519", "mal:32281"}
    assert snapshot.entries["anilist:1"].item.type is MediaType.ANIME


async def test_one_read_of_the_list_serves_all_three_features(sim: Sim) -> None:
    provider = provider_for(sim)
    for feature in Feature:
        await read_whole(provider, feature, None)
    assert provider.requests_made == 3  # the list's mark, the viewer and one chunk


async def test_after_the_reuse_window_the_list_is_served_again_while_its_mark_stands(
    sim: Sim,
) -> None:
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    await read_whole(provider, Feature.WATCHLIST, None)
    clock.now += 61
    await read_whole(provider, Feature.WATCHLIST, None)
    assert provider.requests_made == 4  # mark, viewer and chunk; then the mark alone


async def test_a_forgotten_list_asks_for_its_mark_within_the_reuse_window(sim: Sim) -> None:
    provider = provider_for(sim, clock=Clock())
    await read_whole(provider, Feature.WATCHLIST, None)
    provider.forget_reads(Feature.HISTORY)  # one list serves every feature
    await read_whole(provider, Feature.WATCHLIST, None)
    assert provider.requests_made == 4


async def test_a_list_whose_mark_stands_is_served_again_with_one_request(sim: Sim) -> None:
    for media_id in range(100_000, 101_200):  # three chunks
        sim.state.add_media(media_id, f"Filler {media_id}", year=2000)
        sim.state.add_entry(ALICE_ID, media_id, "PLANNING")
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    first = await read_whole(provider, Feature.WATCHLIST, None)
    before = sim.state.requests
    clock.now += 3600

    again = await read_whole(provider, Feature.WATCHLIST, None)

    assert sim.state.requests - before == 1
    assert again.version == first.version


async def test_a_kept_list_served_again_hands_back_the_snapshot_built_for_it(sim: Sim) -> None:
    # At 100,000 entries building the snapshot again was most of a settled run's CPU.
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    first = {feature: await read_whole(provider, feature, None) for feature in Feature}
    clock.now += 3600

    again = {feature: await provider.read(feature, None) for feature in Feature}

    for feature in Feature:
        served = again[feature]
        assert isinstance(served, PackedRead)  # built once, handed back packed
        assert served.version == first[feature].version
        assert same_snapshots(served.unpacked().snapshot, first[feature].snapshot)


async def test_a_list_read_whole_again_builds_its_snapshot_anew(sim: Sim) -> None:
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    first = await read_whole(provider, Feature.WATCHLIST, None)
    sim.state.now += 60
    sim.state.add_entry(ALICE_ID, 30, "PLANNING")
    clock.now += 3600

    again = await read_whole(provider, Feature.WATCHLIST, None)

    assert again.snapshot is not first.snapshot
    assert "anilist:30" in again.snapshot.entries
    assert again.version != first.version


@pytest.mark.parametrize("edit", ["add", "remove", "move", "score"])
async def test_any_edit_of_the_list_changes_its_mark_and_the_list_is_read_again(
    sim: Sim, edit: str
) -> None:
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    await read_whole(provider, Feature.WATCHLIST, None)
    sim.state.now += 60
    planned = sim.state.entry_for(ALICE_ID, 5114)
    assert planned is not None
    match edit:
        case "add":
            sim.state.add_entry(ALICE_ID, 30, "PLANNING")
        case "remove":
            del sim.state.entries[planned.id]
        case "move":
            planned.status, planned.updated_at = "CURRENT", sim.state.now
        case _:
            planned.score_raw, planned.updated_at = 70, sim.state.now
    clock.now += 3600
    before = sim.state.requests

    watchlist = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot

    assert sim.state.requests - before == 3  # mark, viewer, one chunk: read whole again
    listed = {key for key in ("anilist:5114", "anilist:30") if key in watchlist.entries}
    assert (
        listed
        == {
            "add": {"anilist:5114", "anilist:30"},
            "remove": set(),
            "move": set(),
            "score": {"anilist:5114"},
        }[edit]
    )


async def test_a_kept_list_is_read_whole_again_after_a_day_or_when_the_engine_asks(
    sim: Sim,
) -> None:
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    await read_whole(provider, Feature.WATCHLIST, None)
    for ask in ("a day later", "a fresh read"):
        before = sim.state.requests
        if ask == "a day later":
            clock.now += 24 * 3600
        else:
            clock.now += 120
            provider.forget_reads(Feature.WATCHLIST, validated=True)
        await read_whole(provider, Feature.WATCHLIST, None)
        assert sim.state.requests - before == 3, ask  # mark, viewer, one chunk


async def test_a_list_mark_anilist_cannot_give_reads_the_list_and_keeps_nothing(
    sim: Sim,
) -> None:
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    sim.state.quirks.schedule(Fault.SERVER_ERROR, 4)  # the mark's request and its retries
    read = await read_whole(provider, Feature.WATCHLIST, None)
    assert read.snapshot.complete
    before = sim.state.requests
    clock.now += 3600
    await read_whole(provider, Feature.WATCHLIST, None)
    assert sim.state.requests - before == 3  # nothing was kept: read whole again


async def test_a_write_makes_the_next_read_a_fresh_one(sim: Sim) -> None:
    provider = provider_for(sim)
    await read_whole(provider, Feature.WATCHLIST, None)
    await write(provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(30), Listed()))
    snapshot = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    assert "anilist:30" in snapshot.entries


async def test_reads_give_no_checkpoint(sim: Sim) -> None:
    read = await read_whole(provider_for(sim), Feature.WATCHLIST, None)
    assert read.checkpoint is None


async def test_entries_on_custom_lists_are_read_once_even_when_hidden_from_status_lists(
    sim: Sim,
) -> None:
    sim.state.add_entry(ALICE_ID, 30, "PLANNING", custom_lists=("Mecha", "Classics"))
    sim.state.entry_for(ALICE_ID, 5114).custom_lists = ("Classics",)  # type: ignore[union-attr]
    sim.state.add_media(31, "Evangelion: Death (True)", year=1998, format="MOVIE", episodes=1)
    sim.state.add_entry(
        ALICE_ID, 31, "PLANNING", custom_lists=("Mecha",), hidden_from_status_lists=True
    )
    snapshot = (await read_whole(provider_for(sim), Feature.WATCHLIST, None)).snapshot
    assert sorted(snapshot.entries) == ["anilist:30", "anilist:31", "anilist:5114"]
    assert snapshot.completeness.seen_total == 3


async def test_a_list_longer_than_a_chunk_is_read_chunk_by_chunk(sim: Sim) -> None:
    for media_id in range(100_000, 101_100):
        sim.state.add_media(media_id, f"Filler {media_id}", year=2000)
        sim.state.add_entry(ALICE_ID, media_id, "PLANNING")
    provider = provider_for(sim)
    snapshot = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    assert snapshot.complete
    assert len(snapshot) == 1101
    chunks = [r.body["variables"]["chunk"] for r in sim.recorded if "chunk" in r.body["variables"]]
    assert chunks == [1, 2, 3]


async def test_a_chunk_failing_after_the_first_makes_the_read_partial_not_short(
    sim: Sim,
) -> None:
    for media_id in range(100_000, 100_600):
        sim.state.add_media(media_id, f"Filler {media_id}", year=2000)
        sim.state.add_entry(ALICE_ID, media_id, "PLANNING")
    sim.state.quirks.schedule(Fault.SERVER_ERROR, 4, after=3)  # mark, viewer, chunk 1 pass
    provider = provider_for(sim)
    snapshot = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    assert not snapshot.complete
    assert "chunk 2" in snapshot.completeness.describe()
    assert 0 < len(snapshot) < 601
    # A partial read is never reused: the next feature asks again.
    await read_whole(provider, Feature.HISTORY, None)
    assert sim.state.requests == 3 + 4 + 4


async def test_a_first_chunk_that_fails_raises_instead_of_giving_an_empty_list(
    sim: Sim,
) -> None:
    sim.state.quirks.schedule(Fault.SERVER_ERROR, 4, after=1)
    with pytest.raises(ProviderError):
        await read_whole(provider_for(sim), Feature.WATCHLIST, None)


async def test_an_expired_token_between_chunks_is_an_auth_error_not_a_partial_read(
    sim: Sim,
) -> None:
    for media_id in range(100_000, 100_600):
        sim.state.add_media(media_id, f"Filler {media_id}", year=2000)
        sim.state.add_entry(ALICE_ID, media_id, "PLANNING")
    sim.state.quirks.token_expires_after = 2
    with pytest.raises(AuthError):
        await read_whole(provider_for(sim), Feature.WATCHLIST, None)


async def test_an_empty_200_on_the_list_raises(sim: Sim) -> None:
    sim.state.quirks.schedule(Fault.EMPTY_200, after=1)
    with pytest.raises(ProviderError, match="empty reply"):
        await read_whole(provider_for(sim), Feature.WATCHLIST, None)


async def test_an_empty_collection_is_reported_as_read_for_the_drop_guard_to_judge(
    sim: Sim,
) -> None:
    sim.state.quirks.empty_collections = 1
    read = await read_whole(provider_for(sim), Feature.WATCHLIST, None)
    assert len(read.snapshot) == 0


async def test_unreadable_entries_and_scores_make_the_read_partial(
    serve: Serve, session: aiohttp.ClientSession, sim: Sim
) -> None:
    async def handle(request: web.Request) -> web.Response:
        query = (await request.json())["query"]
        if "MediaListCollection" in query:
            entries = [
                {"id": 1, "mediaId": 1, "status": "COMPLETED", "score": 7.5},
                {"id": 2, "mediaId": 2, "status": "COMPLETED", "score": 8},
                {"mediaId": 3},
            ]
            return web.json_response(
                {
                    "data": {
                        "MediaListCollection": {
                            "lists": [{"entries": entries}],
                            "hasNextChunk": False,
                        }
                    }
                }
            )
        viewer = {"id": ALICE_ID, "name": "alice", "mediaListOptions": {"scoreFormat": "POINT_10"}}
        return web.json_response({"data": {"Viewer": viewer}})

    app = web.Application()
    app.router.add_post("/", handle)
    url = await serve(app)
    client = AniListClient(session, tokens_from_pin("t"), base_url=url)
    provider = provider_for(sim, client)
    ratings = (await read_whole(provider, Feature.RATINGS, None)).snapshot
    assert list(ratings.entries) == ["anilist:2"]
    assert ratings.completeness.describe() == (
        "partial: 1 list entries could not be read; 1 scores are not values of POINT_10"
    )
    history = (await read_whole(provider, Feature.HISTORY, None)).snapshot
    assert not history.complete
    assert len(history) == 2


# --- watchlist writes ----------------------------------------------------------------------


async def test_a_watchlist_add_creates_a_planning_entry(sim: Sim) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(30), Listed())
    ) == [CONFIRMED]
    entry = sim.state.entry_for(ALICE_ID, 30)
    assert entry is not None
    assert entry.status == "PLANNING"


async def test_a_watchlist_add_of_a_planned_title_needs_no_mutation(sim: Sim) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.UPDATE, WriteRequest(anime(5114), Listed())
    ) == [CONFIRMED]
    assert sim.state.mutations == []


@pytest.mark.parametrize(
    ("media", "status"), [(1, "completed"), (16498, "current"), (9253, "dropped")]
)
async def test_a_watchlist_add_never_downgrades_an_entry_already_on_the_list(
    sim: Sim, media: int, status: str
) -> None:
    before = sim.state.entry_for(ALICE_ID, media)
    snapshot = (before.status, before.progress, before.score_raw)  # type: ignore[union-attr]
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(media), Listed())
    ) == [(WriteOutcome.REJECTED, f"on_list_as_{status}")]
    after = sim.state.entry_for(ALICE_ID, media)
    assert (after.status, after.progress, after.score_raw) == snapshot  # type: ignore[union-attr]
    assert sim.state.mutations == []


async def test_a_watchlist_removal_deletes_a_planning_entry(sim: Sim) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.REMOVE, WriteRequest(anime(5114), None)
    ) == [CONFIRMED]
    assert sim.state.entry_for(ALICE_ID, 5114) is None
    assert sim.state.mutations == ["DeleteMediaListEntry"]


async def test_a_watchlist_removal_keeps_an_entry_that_has_moved_on_from_planning(
    sim: Sim,
) -> None:
    provider = provider_for(sim)
    requests = [WriteRequest(anime(1), None), WriteRequest(anime(30), None)]
    assert await write(provider, Feature.WATCHLIST, Action.REMOVE, *requests) == [
        CONFIRMED,
        CONFIRMED,
    ]
    assert sim.state.entry_for(ALICE_ID, 1) is not None
    assert sim.state.mutations == []


async def test_an_entry_deleted_meanwhile_is_not_found(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sim.client()
    real_lookup = client.lookup

    async def lookup_then_user_deletes(media_ids: Sequence[int]) -> Lookup:
        found = await real_lookup(media_ids)
        sim.state.entries.pop(sim.state.entry_for(ALICE_ID, 5114).id)  # type: ignore[union-attr]
        return found

    monkeypatch.setattr(client, "lookup", lookup_then_user_deletes)
    provider = provider_for(sim, client)
    assert await write(
        provider, Feature.WATCHLIST, Action.REMOVE, WriteRequest(anime(5114), None)
    ) == [(WriteOutcome.REJECTED, "not_found")]


async def test_a_delete_anilist_does_not_confirm_is_rejected(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sim.client()

    async def refuse(_entry_id: int) -> bool:
        return False

    monkeypatch.setattr(client, "delete_entry", refuse)
    assert await write(
        provider_for(sim, client), Feature.WATCHLIST, Action.REMOVE, WriteRequest(anime(5114), None)
    ) == [(WriteOutcome.REJECTED, "not_deleted")]


async def test_a_write_visible_only_after_some_reads_is_confirmed_and_shows_up_later(
    sim: Sim,
) -> None:
    sim.state.quirks.visibility_lag = 3  # reads of the list's mark count too
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(30), Listed())
    ) == [CONFIRMED]
    seen = []
    for _ in range(3):
        clock.now += 120
        seen.append(
            "anilist:30" in (await read_whole(provider, Feature.WATCHLIST, None)).snapshot.entries
        )
    assert seen == [False, False, True]


async def test_a_deletion_visible_only_after_some_reads_keeps_showing_the_entry(
    sim: Sim,
) -> None:
    sim.state.quirks.visibility_lag = 2  # the first read's mark, then its list
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    await write(provider, Feature.WATCHLIST, Action.REMOVE, WriteRequest(anime(5114), None))
    first = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    clock.now += 120
    second = (await read_whole(provider, Feature.WATCHLIST, None)).snapshot
    assert ("anilist:5114" in first.entries, "anilist:5114" in second.entries) == (True, False)


# --- history writes ------------------------------------------------------------------------


async def test_a_history_add_completes_the_entry_with_every_episode_and_the_day(
    sim: Sim,
) -> None:
    watched = Watched.from_state(1, datetime(2024, 5, 6, 23, 30, tzinfo=UTC))
    provider = provider_for(sim)
    assert await write(provider, Feature.HISTORY, Action.ADD, WriteRequest(anime(30), watched)) == [
        CONFIRMED
    ]
    entry = sim.state.entry_for(ALICE_ID, 30)
    assert entry is not None
    assert (entry.status, entry.progress, entry.repeat) == ("COMPLETED", 26, 0)
    assert entry.completed_at == (2024, 5, 6)


async def test_a_history_add_of_a_planned_title_completes_it_and_counts_rewatches(
    sim: Sim,
) -> None:
    watched = Watched.from_plays(
        [datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 2, 1, tzinfo=UTC)]
    )
    provider = provider_for(sim)
    assert await write(
        provider, Feature.HISTORY, Action.ADD, WriteRequest(anime(5114), watched)
    ) == [CONFIRMED]
    entry = sim.state.entry_for(ALICE_ID, 5114)
    assert entry is not None
    assert (entry.status, entry.progress, entry.repeat) == ("COMPLETED", 64, 1)
    assert entry.completed_at == (2023, 2, 1)


async def test_a_history_add_without_a_known_episode_count_leaves_progress_alone(
    sim: Sim,
) -> None:
    provider = provider_for(sim)
    await write(
        provider, Feature.HISTORY, Action.ADD, WriteRequest(anime(21), Watched.from_state(1, None))
    )
    entry = sim.state.entry_for(ALICE_ID, 21)
    assert entry is not None
    assert (entry.status, entry.progress, entry.completed_at) == ("COMPLETED", 500, None)


async def test_a_history_update_never_lowers_rewatches_nor_moves_the_completion_back(
    sim: Sim,
) -> None:
    older = Watched.from_state(1, datetime(2019, 1, 1, tzinfo=UTC))
    provider = provider_for(sim)
    assert await write(provider, Feature.HISTORY, Action.UPDATE, WriteRequest(anime(1), older)) == [
        CONFIRMED
    ]
    assert sim.state.mutations == []
    entry = sim.state.entry_for(ALICE_ID, 1)
    assert entry is not None
    assert (entry.repeat, entry.completed_at) == (1, (2021, 3, 4))


async def test_a_later_watch_of_a_completed_title_moves_its_date_and_rewatches_forward(
    sim: Sim,
) -> None:
    newer = Watched.from_state(4, datetime(2025, 7, 8, tzinfo=UTC))
    provider = provider_for(sim)
    assert await write(provider, Feature.HISTORY, Action.UPDATE, WriteRequest(anime(1), newer)) == [
        CONFIRMED
    ]
    entry = sim.state.entry_for(ALICE_ID, 1)
    assert entry is not None
    assert (entry.status, entry.repeat, entry.completed_at, entry.score_raw) == (
        "COMPLETED", 3, (2025, 7, 8), 90
    )  # fmt: skip


async def test_a_history_removal_is_refused_and_the_entry_stays_as_it_was(sim: Sim) -> None:
    # Unwatching would mean deleting the entry (its score too) or making it PLANNING, which
    # would put it on the watchlist: neither is what the user asked for.
    provider = provider_for(sim)
    results = await provider.write(Feature.HISTORY, Action.REMOVE, [WriteRequest(anime(1), None)])
    assert [(r.outcome, r.reason) for r in results] == [
        (WriteOutcome.REJECTED, "anilist_keeps_history")
    ]
    entry = sim.state.entry_for(ALICE_ID, 1)
    assert entry is not None
    assert (entry.status, entry.score_raw, entry.repeat) == ("COMPLETED", 90, 1)
    assert sim.state.mutations == []


async def test_a_history_removal_of_something_not_watched_changes_nothing(sim: Sim) -> None:
    provider = provider_for(sim)
    requests = [WriteRequest(anime(id_), None) for id_ in (5114, 20958, 9253, 30)]
    assert await write(provider, Feature.HISTORY, Action.REMOVE, *requests) == [CONFIRMED] * 4
    assert sim.state.mutations == []


async def test_two_requests_for_one_anime_in_a_batch_write_it_once(sim: Sim) -> None:
    watched = Watched.from_state(1, datetime(2024, 5, 6, tzinfo=UTC))
    provider = provider_for(sim)
    requests = [WriteRequest(anime(30), watched), WriteRequest(anime(30, mal=30), watched)]
    assert await write(provider, Feature.HISTORY, Action.ADD, *requests) == [CONFIRMED, CONFIRMED]
    assert sim.state.mutations == ["SaveMediaListEntry"]


# --- rating writes -------------------------------------------------------------------------

ROUND_TRIPS = [
    ("POINT_100", [1.0, 7.3, 8.5, 10.0]),
    ("POINT_10_DECIMAL", [1.0, 7.3, 9.9, 10.0]),
    ("POINT_10", [1.0, 7.3, 7.5, 10.0]),
    ("POINT_5", [1.0, 5.5, 7.3, 10.0]),
    ("POINT_3", [1.0, 5.0, 6.0, 9.5]),
]


@pytest.mark.parametrize(("score_format", "values"), ROUND_TRIPS)
async def test_each_score_format_round_trips_at_its_own_precision(
    sim: Sim, score_format: str, values: list[float]
) -> None:
    user(sim).score_format = score_format
    scale = RatingScale.for_anilist(score_format)
    clock = Clock()
    provider = provider_for(sim, clock=clock)
    for value in values:
        result = await write(
            provider, Feature.RATINGS, Action.UPDATE, WriteRequest(anime(5114), Rated(value))
        )
        assert result == [CONFIRMED]
        clock.now += 120
        snapshot = (await read_whole(provider, Feature.RATINGS, None)).snapshot
        assert snapshot.entries["anilist:5114"].payload.value == quantize(scale, value)  # type: ignore[union-attr]
    assert provider.capabilities.rating_scale is scale


async def test_a_rating_is_written_as_a_raw_score_out_of_100(sim: Sim) -> None:
    user(sim).score_format = "POINT_10"
    provider = provider_for(sim)
    await write(provider, Feature.RATINGS, Action.ADD, WriteRequest(anime(5114), Rated(7.3)))
    variables = sim.recorded[-1].body["variables"]
    assert variables == {"mediaId": 5114, "scoreRaw": 70, "format": "POINT_10"}
    assert sim.state.entry_for(ALICE_ID, 5114).score_raw == 70  # type: ignore[union-attr]


async def test_a_rating_for_a_title_not_on_the_list_creates_no_entry(sim: Sim) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.RATINGS, Action.ADD, WriteRequest(anime(30), Rated(8.0))
    ) == [(WriteOutcome.REJECTED, "not_on_list")]
    assert sim.state.entry_for(ALICE_ID, 30) is None


async def test_a_rating_removal_sets_the_score_to_zero_and_keeps_the_entry(sim: Sim) -> None:
    provider = provider_for(sim)
    requests = [WriteRequest(anime(1), None), WriteRequest(anime(5114), None)]
    assert await write(provider, Feature.RATINGS, Action.REMOVE, *requests) == [
        CONFIRMED,
        CONFIRMED,
    ]
    entry = sim.state.entry_for(ALICE_ID, 1)
    assert entry is not None
    assert (entry.status, entry.score_raw) == ("COMPLETED", 0)
    assert sim.state.mutations == ["SaveMediaListEntry"]  # 5114 had no score to remove


# --- what cannot be written ----------------------------------------------------------------


async def test_items_without_an_anilist_id_are_rejected_without_a_request(sim: Sim) -> None:
    from_trakt = MediaItem.create(MediaType.ANIME, title="Cowboy Bebop", ids={"tvdb": 76885})
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(from_trakt, Listed())
    ) == [(WriteOutcome.REJECTED, "no_anilist_id")]
    assert sim.state.requests == 0


async def test_an_unknown_anime_is_not_found_for_adds_and_already_gone_for_removals(
    sim: Sim,
) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(424242), Listed())
    ) == [(WriteOutcome.REJECTED, "not_found")]
    assert await write(
        provider, Feature.WATCHLIST, Action.REMOVE, WriteRequest(anime(424242), None)
    ) == [CONFIRMED]
    assert await write(
        provider, Feature.WATCHLIST, Action.ADD, WriteRequest(anime(30002), Listed())
    ) == [
        (WriteOutcome.REJECTED, "not_found")  # a manga is not on the anime list
    ]


async def test_an_anime_removed_from_the_catalogue_meanwhile_is_rejected_as_invalid(
    sim: Sim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = sim.client()
    real_lookup = client.lookup

    async def lookup_then_catalogue_drops(media_ids: Sequence[int]) -> Lookup:
        found = await real_lookup(media_ids)
        del sim.state.media[30]
        return found

    monkeypatch.setattr(client, "lookup", lookup_then_catalogue_drops)
    ((outcome, reason),) = await write(
        provider_for(sim, client), Feature.WATCHLIST, Action.ADD, WriteRequest(anime(30), Listed())
    )
    assert outcome is WriteOutcome.REJECTED
    assert reason is not None
    assert reason.startswith("invalid:")
    assert "media id is invalid" in reason


async def test_conflicts_and_mismatched_payloads_are_rejected(sim: Sim) -> None:
    provider = provider_for(sim)
    assert await write(
        provider, Feature.RATINGS, Action.CONFLICT, WriteRequest(anime(1), Rated(5))
    ) == [(WriteOutcome.REJECTED, "conflicts_are_not_written")]
    assert await write(
        provider, Feature.HISTORY, Action.ADD, WriteRequest(anime(30), Rated(5))
    ) == [(WriteOutcome.REJECTED, "not_a_watched_state")]
    assert await write(provider, Feature.RATINGS, Action.ADD, WriteRequest(anime(1), Listed())) == [
        (WriteOutcome.REJECTED, "not_a_rating")
    ]
    assert sim.state.mutations == []


async def test_a_reply_that_does_not_show_the_write_is_unknown_not_confirmed(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sim.client()

    async def say_nothing(*_args: object) -> None:
        return None

    monkeypatch.setattr(client, "save_entry", say_nothing)
    provider = provider_for(sim, client)
    cases: list[tuple[Feature, Action, Payload]] = [
        (Feature.WATCHLIST, Action.ADD, Listed()),
        (Feature.HISTORY, Action.ADD, Watched.from_state(1, None)),
        (Feature.RATINGS, Action.ADD, Rated(5)),
    ]
    for feature, action, payload in cases:
        media = 30 if feature is Feature.WATCHLIST else 5114
        assert await write(provider, feature, action, WriteRequest(anime(media), payload)) == [
            (WriteOutcome.UNKNOWN, None)
        ]


async def test_a_rate_limit_mid_batch_stops_the_batch(sim: Sim) -> None:
    for media_id in (31, 32):
        sim.state.add_media(media_id, f"Evangelion film {media_id}", format="MOVIE")
    sim.state.quirks.schedule(Fault.RATE_LIMITED, after=2)  # the lookup and one add pass
    sim.state.quirks.retry_after = 300
    provider = provider_for(sim)
    requests = [WriteRequest(anime(id_), Listed()) for id_ in (30, 31, 32)]
    with pytest.raises(RateLimitError) as caught:
        await provider.write(Feature.WATCHLIST, Action.ADD, requests)
    assert caught.value.retry_after == 300
    # What landed before the limit is safe to write again: the add is idempotent.
    assert sim.state.entry_for(ALICE_ID, 30) is not None
    sim.state.quirks.retry_after = 2
    results = await provider.write(Feature.WATCHLIST, Action.ADD, requests)
    assert [r.outcome for r in results] == [WriteOutcome.CONFIRMED] * 3


async def test_other_graphql_errors_mid_batch_are_raised(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sim.client()

    async def broken(*_args: object) -> None:
        raise GraphQLError([], 500)

    monkeypatch.setattr(client, "save_entry", broken)
    with pytest.raises(ProviderError) as caught:
        await provider_for(sim, client).write(
            Feature.WATCHLIST, Action.ADD, [WriteRequest(anime(30), Listed())]
        )
    assert isinstance(caught.value.__cause__, GraphQLError)  # the engine's error, from AniList's
