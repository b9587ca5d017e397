"""End to end through the engine: Plex → Jellyfin and Plex → Trakt, on the simulators.

The real clients talk to the real simulators over loopback HTTP; the pipeline reads, plans,
guards, writes, verifies and persists as it does in Home Assistant.

Plex → Jellyfin history (one-way): Jellyfin holds the same films and shows as Plex, but as a
library matched by file name often does. 40 % of its items carry no ProviderIds at all, the
rest carry them in whatever casing (`Imdb`, `imdb`, `IMDB`, `iMDB`), and a few films have a
release year one off from Plex's. Every play on Plex reaches Jellyfin once; from then on the
engine's write-through shadows recognise the id-less items, so no run adds anything again (the
"re-add forever" loop), and neither does a Jellyfin rescan that hands out new item ids.

Plex → Trakt watchlist and history (one-way): Plex's Discover watchlist and its watched library
items reach Trakt, each play exactly once, and later runs plan nothing.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.crosswatch.clients.http import RetryPolicy
from custom_components.crosswatch.clients.tokens import Tokens
from custom_components.crosswatch.clients.trakt.auth import TraktApp
from custom_components.crosswatch.clients.trakt.client import TraktClient
from custom_components.crosswatch.engine.memo import SnapshotMemo
from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.pipeline import PairSpec, Pipeline, RunResult, RunStatus
from custom_components.crosswatch.engine.plan import Action, PairSide, Plan, Reason
from custom_components.crosswatch.engine.planner import SyncMode
from custom_components.crosswatch.engine.provider import Provider
from custom_components.crosswatch.engine.records import Scope
from custom_components.crosswatch.engine.store import StateStore
from custom_components.crosswatch.providers.plex import PlexProvider
from custom_components.crosswatch.providers.trakt import TraktProvider
from tests.simulators import trakt as trakt_sim
from tests.simulators.mediabrowser import Flavour, MediaBrowserQuirks
from tests.simulators.openapi import RECORDED
from tests.simulators.plex import EPOCH, PlexSim

from .conftest import Serve
from .test_mediabrowser_support import Rig, make_rig
from .test_plex_support import World, start_world

W, H = Feature.WATCHLIST, Feature.HISTORY

# The film catalogue both servers share: (title, year, imdb, tmdb).
FILMS = (
    ("The Matrix", 1999, "tt0133093", 603),
    ("Heat", 1995, "tt0113277", 949),
    ("Inception", 2010, "tt1375666", 27205),
    ("Alien", 1979, "tt0078748", 348),
    ("Arrival", 2016, "tt2543164", 329865),
    ("Parasite", 2019, "tt6751668", 496243),
    ("Whiplash", 2014, "tt2582802", 244786),
    ("Amélie", 2001, "tt0211915", 194),
    ("Spirited Away", 2001, "tt0245429", 129),
    ("Oldboy", 2003, "tt0364569", 670),
    ("Blade Runner", 1982, "tt0083658", 78),
    ("Se7en", 1995, "tt0114369", 807),
    ("Memento", 2000, "tt0209144", 77),
    ("Zodiac", 2007, "tt0443706", 1949),
    ("Drive", 2011, "tt0780504", 64690),
    ("Her", 2013, "tt1798709", 152601),
    ("Moon", 2009, "tt1182345", 17431),
    ("Sicario", 2015, "tt3397884", 273481),
    ("Prisoners", 2013, "tt1392214", 146233),
    ("Interstellar", 2014, "tt0816692", 157336),
    ("Gravity", 2013, "tt1454468", 49047),
    ("Up", 2009, "tt1049413", 14160),
    ("Coco", 2017, "tt2380307", 354912),
    ("Roma", 2018, "tt6155172", 426426),
    ("Dune", 2021, "tt1160419", 438631),
)
# Shows: (title, year, imdb, tmdb, tvdb, episodes as (season, episode, episode tvdb id)).
SHOWS = (
    ("Dark", 2017, "tt5753856", 70523, 334824,
     ((1, 1, 6321901), (1, 2, 6321902), (1, 3, 6321903), (2, 1, 7000001), (2, 2, 7000002))),
    ("Severance", 2022, "tt11280740", 95396, 371980,
     ((1, 1, 8000001), (1, 2, 8000002), (1, 3, 8000003))),
)  # fmt: skip
# Jellyfin matched these by file name only: no ProviderIds on the item (episodes included).
ID_LESS_ON_JELLYFIN = frozenset(
    {"Heat", "Alien", "Whiplash", "Amélie", "Blade Runner", "Memento", "Drive", "Moon",
     "Interstellar", "Coco", "Severance"}
)  # fmt: skip
# Jellyfin's metadata gives these films another release year. They carry ProviderIds: an id-less
# film a year off cannot be matched at all, by design (no guessing beyond exact title and year).
JELLYFIN_YEAR = {"Parasite": 2020, "Oldboy": 2004, "Dune": 2022}
# What the user watched on Plex, with how often: films by title, episodes as "Dark 1x2".
WATCHED_ON_PLEX = {
    "The Matrix": 2, "Heat": 1, "Inception": 1, "Alien": 1, "Arrival": 1, "Parasite": 1,
    "Whiplash": 1, "Amélie": 1, "Blade Runner": 1, "Memento": 1, "Drive": 1, "Oldboy": 1,
    "Interstellar": 1, "Coco": 1, "Dune": 1,
    "Dark 1x1": 1, "Dark 1x2": 1, "Dark 1x3": 1, "Dark 2x1": 1,
    "Severance 1x1": 1, "Severance 1x2": 1,
}  # fmt: skip
# Heat was watched on Jellyfin too, on another evening.
HEAT_ON_JELLYFIN = datetime(2023, 6, 1, 20, 0, tzinfo=UTC)
# Written to an id-less Jellyfin item: each gets a shadow. Heat is already played there.
SHOW_TITLES = frozenset(title for title, *_ in SHOWS)


def title_of(name: str) -> str:
    """The film or show a name in `WATCHED_ON_PLEX` belongs to."""
    show = name.rpartition(" ")[0]
    return show if show in SHOW_TITLES else name


SHADOWED = frozenset(n for n in WATCHED_ON_PLEX if title_of(n) in ID_LESS_ON_JELLYFIN) - {"Heat"}


def viewed_at(name: str) -> int:
    """When the user last watched `name` on Plex (Plex's epoch seconds, not on the minute)."""
    return EPOCH - (list(WATCHED_ON_PLEX).index(name) + 1) * 86_400 + 1_234


def moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def seed_plex(sim: PlexSim) -> None:
    """The Plex library: every film and both shows, watched as `WATCHED_ON_PLEX` says."""
    sim.add_section("1", "movie", "Movies")
    sim.add_section("2", "show", "TV Shows")

    def watched(name: str) -> dict[str, int]:
        count = WATCHED_ON_PLEX.get(name, 0)
        return {"view_count": count, "last_viewed_at": viewed_at(name)} if count else {}

    for title, year, imdb, tmdb in FILMS:
        sim.add_movie("1", title, year, imdb=imdb, tmdb=tmdb, **watched(title))
    for title, year, imdb, tmdb, tvdb, episodes in SHOWS:
        show = sim.add_show("2", title, year, imdb=imdb, tmdb=tmdb, tvdb=tvdb)
        for season, number, episode_tvdb in episodes:
            sim.add_episode(
                show, season, number, tvdb=episode_tvdb, **watched(f"{title} {season}x{number}")
            )


def seed_jellyfin(rig: Rig) -> None:
    """The Jellyfin library: the same titles, some without ProviderIds, some a year off."""
    state = rig.state
    for title, year, imdb, tmdb in FILMS:
        ids = {} if title in ID_LESS_ON_JELLYFIN else {"Imdb": imdb, "Tmdb": str(tmdb)}
        item_id = state.add_movie(title, JELLYFIN_YEAR.get(title, year), **ids)
        if title == "Heat":
            state.watch(rig.user, item_id, HEAT_ON_JELLYFIN)
    for title, year, imdb, tmdb, tvdb, episodes in SHOWS:
        id_less = title in ID_LESS_ON_JELLYFIN
        series_ids = {} if id_less else {"Imdb": imdb, "Tmdb": str(tmdb), "Tvdb": str(tvdb)}
        series = state.add_series(title, year, **series_ids)
        for season, number, episode_tvdb in episodes:
            state.add_episode(
                series, season, number, **({} if id_less else {"Tvdb": str(episode_tvdb)})
            )


def plex_watched(sim: PlexSim) -> dict[str, tuple[int, datetime]]:
    """Every watched item of the Plex library by name: view count and last viewed."""
    found = {}
    for item in sim.items.values():
        if not item.view_count or item.last_viewed_at is None:
            continue
        name = item.title
        if item.kind == "episode":
            name = f"{sim.items[item.show_key or ''].title} {item.season}x{item.episode}"
        found[name] = (item.view_count, moment(item.last_viewed_at))
    return found


def jellyfin_played(rig: Rig) -> dict[str, tuple[int, datetime | None]]:
    """Every played item of the Jellyfin user by name: play count and last played."""
    found = {}
    for (user, item_id), data in rig.state.data.items():
        if user != rig.user.id or not data.played:
            continue
        item = rig.state.items[item_id]
        name = item.name
        if item.type == "Episode":
            name = f"{rig.state.items[item.series_id or ''].name} {item.season}x{item.episode}"
        found[name] = (data.play_count, data.last_played)
    return found


def jellyfin_plays_sent(rig: Rig) -> int:
    """How many mark-played requests the Jellyfin server has received."""
    return sum(
        1
        for request in rig.app[RECORDED]
        if request.method == "POST" and request.path.startswith("/UserPlayedItems/")
    )


def note_counts(plan: Plan) -> dict[str, int]:
    return dict(Counter(note.reason.value for note in plan.notes))


def ops(plan: Plan, action: Action) -> list[str]:
    return sorted(op.item.label() for op in plan.operations if op.action is action)


def make_pipeline(store: StateStore, clock: list[datetime]) -> Pipeline:
    return Pipeline(
        store,
        run_blocking=asyncio.to_thread,
        memo=SnapshotMemo(timedelta(0)),
        clock=lambda: clock[0],
    )


async def start_plex(serve: Serve, session: aiohttp.ClientSession) -> tuple[World, PlexProvider]:
    sim = PlexSim()
    seed_plex(sim)
    world = await start_world(serve, session, sim)
    plex = world.provider(library_ttl=0)
    await plex.health()
    return world, plex


# -- Plex → Jellyfin ----------------------------------------------------------------------------


@dataclass
class PlexJellyfin:
    plex_world: World
    plex: PlexProvider
    jellyfin: Rig
    pipeline: Pipeline
    store: StateStore
    clock: list[datetime]

    async def run(self, spec: PairSpec) -> RunResult:
        self.clock[0] += timedelta(hours=1)
        return await self.pipeline.run(spec, self.plex, self.jellyfin.provider)

    def shadows(self, spec: PairSpec) -> set[str]:
        """The Jellyfin item ids the engine's shadows stand for."""
        return {
            shadow.local_token.removeprefix("jellyfin:")
            for shadow in self.store.shadows(Scope(spec.pair, H, PairSide.B.value))
        }

    def jellyfin_ids(self, names: frozenset[str]) -> set[str]:
        """The current Jellyfin item ids of films and episodes named as in `WATCHED_ON_PLEX`."""
        state = self.jellyfin.state
        found = set()
        for item in state.items.values():
            name = item.name
            if item.type == "Episode":
                name = f"{state.items[item.series_id or ''].name} {item.season}x{item.episode}"
            if name in names:
                found.add(item.id)
        return found


@pytest.fixture
async def plex_jellyfin(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[PlexJellyfin]:
    world, plex = await start_plex(serve, session)
    jellyfin = await make_rig(
        serve, session, Flavour.JELLYFIN, quirks=MediaBrowserQuirks(varied_casing=True),
        page_size=7, seeded=False,
    )  # fmt: skip
    seed_jellyfin(jellyfin)
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        yield PlexJellyfin(world, plex, jellyfin, make_pipeline(store, clock), store, clock)


PLEX_JELLYFIN = PairSpec("plex-jellyfin", SyncMode.ADD_ONLY, frozenset({H}))


def expected_on_jellyfin() -> dict[str, tuple[int, datetime | None]]:
    """Every Plex play once, dated as on Plex; Heat as Jellyfin already had it."""
    expected: dict[str, tuple[int, datetime | None]] = {
        name: (1, moment(viewed_at(name))) for name in WATCHED_ON_PLEX
    }
    return expected | {"Heat": (1, HEAT_ON_JELLYFIN)}


async def test_plex_plays_reach_jellyfin_once_and_later_runs_add_nothing(
    plex_jellyfin: PlexJellyfin,
) -> None:
    p, j = plex_jellyfin, plex_jellyfin.jellyfin
    id_less = [item for item in j.state.items.values() if not item.provider_ids]
    assert len(id_less) / len(j.state.items) == pytest.approx(0.4)
    plex_before = plex_watched(p.plex_world.sim)

    first = await p.run(PLEX_JELLYFIN)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert len(ops(first.plan, Action.ADD)) == len(WATCHED_ON_PLEX) - 1, first.plan.to_json()
    assert first.plan.counts() == {"b": {"add": 20}, "history": {"add": 20}}
    # Heat was played on both already; Jellyfin's copy has no ids, so it matched by title.
    assert note_counts(first.plan) == {Reason.WEAK_MATCH.value: 1}
    assert first.features[H].applied == 20
    assert first.features[H].unresolved == 0
    assert jellyfin_played(j) == expected_on_jellyfin()
    assert jellyfin_plays_sent(j) == 20
    # Each id-less Jellyfin item written to now stands for Plex's ids.
    assert p.shadows(PLEX_JELLYFIN) == p.jellyfin_ids(SHADOWED)

    for _ in range(2):
        again = await p.run(PLEX_JELLYFIN)
        assert again.status is RunStatus.SUCCESS, again.errors
        assert ops(again.plan, Action.ADD) == [], again.plan.to_json()
        assert again.plan.is_empty
        # The shadowed items match strongly: only Heat, never written to, is still a weak match.
        assert note_counts(again.plan) == {Reason.WEAK_MATCH.value: 1}, again.plan.to_json()
        assert again.features[H].applied == 0
        assert again.features[H].phantoms == 0
    assert jellyfin_played(j) == expected_on_jellyfin()  # every play exactly once
    assert jellyfin_plays_sent(j) == 20
    assert len(p.shadows(PLEX_JELLYFIN)) == len(SHADOWED)
    assert plex_watched(p.plex_world.sim) == plex_before  # one-way: Plex untouched


@pytest.mark.parametrize("mode", [SyncMode.ADD_ONLY, SyncMode.TWO_WAY])
async def test_a_jellyfin_rescan_between_runs_neither_re_adds_nor_removes_anything(
    plex_jellyfin: PlexJellyfin, mode: SyncMode
) -> None:
    p, j = plex_jellyfin, plex_jellyfin.jellyfin
    spec = PairSpec(f"plex-jellyfin-{mode}", mode, frozenset({H}))
    plex_before = plex_watched(p.plex_world.sim)
    await p.run(spec)
    settled = await p.run(spec)
    assert settled.plan.is_empty, settled.plan.to_json()
    sent = jellyfin_plays_sent(j)

    j.state.rescan()  # every Jellyfin item id changes: no shadow names a library item any more

    assert len(p.shadows(spec)) == len(SHADOWED)
    assert not p.shadows(spec) & set(j.state.items)
    for _ in range(3):
        after = await p.run(spec)
        assert after.status is RunStatus.SUCCESS, after.errors
        assert ops(after.plan, Action.ADD) == [], after.plan.to_json()
        assert ops(after.plan, Action.REMOVE) == [], after.plan.to_json()
        assert after.plan.is_empty
        # The id-less items are recognised by exact title and year again, and the plan says so.
        assert {
            (note.reason, note.item.title in ID_LESS_ON_JELLYFIN) for note in after.plan.notes
        } == {(Reason.WEAK_MATCH, True)}
    assert jellyfin_played(j) == expected_on_jellyfin()
    assert jellyfin_plays_sent(j) == sent
    assert plex_watched(p.plex_world.sim) == plex_before
    assert [path for path, _ in p.plex_world.sim.writes] == []


# -- Plex → Trakt ----------------------------------------------------------------------------


async def _no_save(tokens: Tokens) -> None:
    return None


@dataclass
class PlexTrakt:
    plex_world: World
    plex: PlexProvider
    trakt_sim: trakt_sim.TraktSim
    trakt: TraktProvider
    pipeline: Pipeline
    clock: list[datetime]

    async def run(self, spec: PairSpec, a: Provider, b: Provider) -> RunResult:
        self.clock[0] += timedelta(hours=1)
        return await self.pipeline.run(spec, a, b)


# Trakt ids: films by catalogue position from 1; shows 100 and 101, episodes show * 100 + n.
TRAKT_FILM = {title: n for n, (title, *_) in enumerate(FILMS, start=1)}
TRAKT_SHOW = {"Dark": 100, "Severance": 101}
# In Plex's online catalogue only (Discover), not in the library: (title, year, imdb, tmdb).
DISCOVER_ONLY = (
    ("Oppenheimer", 2023, "tt15398776", 872585),
    ("Past Lives", 2023, "tt13238346", 666277),
)
SHOGUN = ("Shōgun", 2024, "tt2788316", 126308, 392573)


def trakt_episode(show: str, season: int, number: int) -> int:
    return TRAKT_SHOW[show] * 100 + season * 10 + number


@pytest.fixture
async def plex_trakt(
    serve: Serve, session: aiohttp.ClientSession, tmp_path: Path
) -> AsyncIterator[PlexTrakt]:
    world, plex = await start_plex(serve, session)
    tsim = trakt_sim.TraktSim(watchlist_limit=1000)
    for title, year, imdb, tmdb in FILMS:
        tsim.add_movie(TRAKT_FILM[title], title, year, imdb=imdb, tmdb=tmdb)
    for n, (title, year, imdb, tmdb) in enumerate(DISCOVER_ONLY, start=50):
        tsim.add_movie(n, title, year, imdb=imdb, tmdb=tmdb)
        world.sim.add_title("movie", title, year, imdb=imdb, tmdb=tmdb)
    for title, year, imdb, tmdb, tvdb, episodes in SHOWS:
        tsim.add_show(TRAKT_SHOW[title], title, year, imdb=imdb, tmdb=tmdb, tvdb=tvdb)
        for season, number, episode_tvdb in episodes:
            tsim.add_episode(
                TRAKT_SHOW[title], season, number, trakt_episode(title, season, number),
                tvdb=episode_tvdb,
            )  # fmt: skip
    title, year, imdb, tmdb, tvdb = SHOGUN
    tsim.add_show(102, title, year, imdb=imdb, tmdb=tmdb, tvdb=tvdb)
    world.sim.add_title("show", title, year, imdb=imdb, tmdb=tmdb, tvdb=tvdb)
    time = tsim.client_time()
    client = TraktClient(
        session,
        TraktApp(trakt_sim.CLIENT_ID, trakt_sim.CLIENT_SECRET),
        Tokens.from_oauth_reply(tsim.issue_tokens()),
        _no_save,
        base_url=await serve(trakt_sim.make_app(tsim)),
        retry=RetryPolicy(backoff=0),
        sleep=time.sleep,
        clock=time.clock,
    )
    clock = [datetime(2026, 11, 1, tzinfo=UTC)]
    with StateStore(tmp_path / "state.db") as store:
        yield PlexTrakt(
            world, plex, tsim, TraktProvider(client, slug=tsim.slug),
            make_pipeline(store, clock), clock,
        )  # fmt: skip


def watchlist_plex(sim: PlexSim, *titles: str) -> None:
    """The user adds titles (library or Discover) to the Plex watchlist."""
    by_title = {entry.title: entry.plex for entry in sim.catalogue.values()}
    for title in titles:
        sim.watchlist[by_title[title]] = sim.tick()


async def test_plex_watchlist_and_plays_reach_trakt_once_and_later_runs_plan_nothing(
    plex_trakt: PlexTrakt,
) -> None:
    s = plex_trakt
    # Unwatched library films, Discover-only titles and a Discover-only show.
    watchlist_plex(s.plex_world.sim, "Roma", "Zodiac", "Oppenheimer", "Past Lives", "Shōgun")
    spec = PairSpec("plex-trakt", SyncMode.ADD_ONLY, frozenset({W, H}))

    first = await s.run(spec, s.plex, s.trakt)

    assert first.status is RunStatus.SUCCESS, first.errors
    assert first.features[W].applied == 5, first.plan.to_json()
    assert first.features[H].applied == len(WATCHED_ON_PLEX), first.plan.to_json()
    assert {tuple(row["ref"]) for row in s.trakt_sim.watchlist} == {
        ("movie", TRAKT_FILM["Roma"]), ("movie", TRAKT_FILM["Zodiac"]),
        ("movie", 50), ("movie", 51), ("show", 102),
    }  # fmt: skip
    expected_plays = {}
    for name in WATCHED_ON_PLEX:
        title, _, numbering = name.rpartition(" ")
        if title in TRAKT_SHOW:
            season, number = (int(part) for part in numbering.split("x"))
            ref = ("episode", trakt_episode(title, season, number))
        else:
            ref = ("movie", TRAKT_FILM[name])
        expected_plays[ref] = trakt_sim.stamp(moment(viewed_at(name)))
    # Plex keeps a watched state: The Matrix, watched twice, is one play at its last date.
    plays = Counter(tuple(row["ref"]) for row in s.trakt_sim.history)
    assert plays == Counter(dict.fromkeys(expected_plays, 1))
    assert {tuple(row["ref"]): row["watched_at"] for row in s.trakt_sim.history} == expected_plays

    for _ in range(2):
        again = await s.run(spec, s.plex, s.trakt)
        assert again.status is RunStatus.SUCCESS, again.errors
        assert again.plan.is_empty, again.plan.to_json()
        assert again.features[W].applied == again.features[H].applied == 0
    # No play was ever sent twice.
    assert Counter(tuple(row["ref"]) for row in s.trakt_sim.history) == plays
    assert len(s.trakt_sim.watchlist) == 5
