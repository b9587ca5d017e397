"""The simulators `script/bench_loop.py` syncs against, served from a child process of their own.

    python script/bench_loop_serve.py trakt-simkl 10000

Seeds the project's simulators (tests/simulators/) for one pair kind with N titles per side,
serves them on 127.0.0.1 ports of their own, prints one JSON line (the base URLs and what the
parent needs to sign in), and serves until its standard input closes. The simulators build
and serialise replies of up to 100,000 rows; in a process of their own that CPU time is not
counted as a stall of the loop the benchmark measures.

Every pair kind starts from one library (`library`): about 99 % of the titles are on both
sides of the pair and 0.5 % on each side only, so a first run has something to write. Of the
shared titles, 94 % carry both an IMDb and a TMDb id, 3 % one of them and 3 % none (matched by
title and year), roughly like real libraries. The titles on one side only all carry both ids,
so that the other side's catalogue finds them when they are added there. What the sides hold:

- trakt-simkl: Trakt's watchlist and SIMKL's plan-to-watch list, two-way; a first run adds
  both ways.
- plex-trakt: a Plex movie section holds every title, and side A's are watched once (Plex
  keeps a watched state); side B's are plays in Trakt's history, at the same minute where both
  have one. One-way (add only): the first run adds the plays Plex alone has; the plays Trakt
  alone has stay as they are, and the titles they are of sit unwatched in the Plex library.
- trakt-jellyfin: Trakt's watchlist, mirrored onto Jellyfin's favourites (its watchlist).
  Jellyfin's library holds every title, and its favourites are the shared titles only. A
  mirror removes the target's own favourites only once it has a baseline of the source, from
  its second run on: favourites of Jellyfin's own would make the no-change run write, and
  leave the pair short of settling within the bench's four runs (engine/settle.py). So the
  first run adds the 0.5 % on Trakt only, and nothing is left to remove. Jellyfin's clock runs
  3,600 times faster than the real one (`SERVER_HOURS_PER_SECOND`): the bench's runs follow
  each other within seconds, and a second stands for the hour Home Assistant waits between two
  scheduled runs, so the dates Jellyfin saves our writes at lie as far before the next run's
  question (`MinDateLastSavedForUser`) as they would at home. The hello line names
  `new_play`, a film nobody has played, for the bench's `one_new_play` run.
- anilist-simkl: anime, AniList's PLANNING entries and SIMKL's plan-to-watch anime, two-way.
  Every title carries its AniList id (which SIMKL must know for the pair to work) and 97 % a
  MyAnimeList id, as AniList leaves `idMal` out for some.
- household (script/bench_household.py; N is the number of films): one Plex server, one Trakt
  and one SIMKL account for three pairs at once. Not the shared library above: see
  `HouseholdPlay` and `serve_household`.

Rate limits are kept as the simulators document them, and waits they cause are reported by
the parent, not hidden. Trakt: 1,000 GETs per 5 minutes, 1 write a second. Real Trakt caps a
watchlist at 250 titles (free) or 5,000 (VIP) in 2026 (shared/research/provider-facts-2026.md);
the simulator is given a cap above the bench's sizes, since what is measured is our event
loop, not Trakt's plan. AniList: 30 requests a minute, one chunk of 500 entries per request,
so a read of 10,000 entries takes 20 requests and one of 100,000 takes 200, and every write
is a request of its own. Plex, Jellyfin and SIMKL simulate none.

The simulators look titles up and render list rows by walking everything they hold, which is
right for the few dozen titles of a test and hopeless for 100,000 (a 100k Trakt watchlist read
page by page would render 40 million rows; a 100k Plex section 50 million; Jellyfin sorts its
whole library for every page; AniList sorts the whole list again for every entry it renders).
The subclasses and middlewares here index the lookups and reuse rendered rows or chosen items
while what they come from is unchanged; what they answer is what the simulators answer, and
whatever is out of the ordinary (a quirk switched on, a write not yet visible) goes to the
simulator's own code.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import json
from pathlib import Path
import re
import sys
import time
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from bench import engine_without_home_assistant

# The AniList simulator imports the client's pacing: not the integration's Home Assistant glue.
engine_without_home_assistant()

from tests.simulators import (  # noqa: E402
    anilist as anilist_sim,
    mediabrowser as mb_sim,
    plex as plex_sim,
    simkl as simkl_sim,
    trakt as trakt_sim,
)
from tests.simulators.serving import serving  # noqa: E402

type Json = Any
type Stop = Callable[[], asyncio.Future[bytes]]
LISTED = datetime(2025, 6, 1, tzinfo=UTC)  # when the user listed the seeded titles
WATCHED = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)  # when the user watched the first title
EPISODES = 12  # episodes of every seeded anime


# -- the library --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Title:
    """One title of the generated library and on which side of the pair it is."""

    n: int
    imdb: str | None
    tmdb: int | None
    on_a: bool  # on side A, the first side the pair kind names (Trakt in trakt-simkl)
    on_b: bool

    @property
    def name(self) -> str:
        return f"Bench Film {self.n}"

    @property
    def anime_name(self) -> str:
        return f"Bench Anime {self.n}"

    @property
    def year(self) -> int:
        return 1950 + self.n % 75

    @property
    def watched_at(self) -> datetime:
        """When the user watched it, where the library stands for plays: a minute apart."""
        return WATCHED + timedelta(minutes=self.n)

    @property
    def anilist(self) -> int:
        """Its AniList id, where the library stands for anime."""
        return 100_000 + self.n

    @property
    def mal(self) -> int | None:
        """Its MyAnimeList id; AniList knows none for about 3 % of anime."""
        return None if self.n % 100 >= 97 else 200_000 + self.n


def library(size: int) -> list[Title]:
    """N titles on each side: shared ones first, then 0.5 % on side A only, 0.5 % on B only."""
    only = max(1, size // 200)
    shared = size - only
    titles = []
    for n in range(shared + 2 * only):
        share = n % 100
        imdb: str | None = f"tt{2_000_000 + n}"
        tmdb: int | None = 500_000 + n
        if n < shared and share >= 94:
            # One id only (the two sides agree on it), or none: matched by title and year.
            imdb, tmdb = (
                (imdb, None) if share < 96 else (None, tmdb) if share < 97 else (None, None)
            )
        titles.append(Title(n, imdb, tmdb, n < shared + only, n < shared or n >= shared + only))
    return titles


def sides(titles: list[Title]) -> tuple[list[Title], list[Title]]:
    """The titles on side A, and those on side B."""
    return [title for title in titles if title.on_a], [title for title in titles if title.on_b]


# -- Trakt --------------------------------------------------------------------------------------


class IndexedTraktSim(trakt_sim.TraktSim):
    """TraktSim whose movie lookups go through indexes (the movies are not changed once seeded)."""

    def __init__(self, *, watchlist_limit: int) -> None:
        super().__init__(watchlist_limit=watchlist_limit)
        self._index: dict[tuple[str, Json], trakt_sim.Movie] | None = None

    def find(self, kind: str, ids: Json) -> Json:
        """Trakt's match order (trakt, imdb, tmdb, tvdb, slug), by index for movies."""
        if kind != "movie" or not isinstance(ids, dict):
            return super().find(kind, ids)
        if self._index is None:
            index: dict[tuple[str, Json], trakt_sim.Movie] = {}
            for movie in self.movies.values():
                for name, value in movie.ids().items():
                    index.setdefault((name, value), movie)  # the first one, as the walk finds
            self._index = index
        for name in ("trakt", "imdb", "tmdb", "tvdb", "slug"):
            wanted = ids.get(name)
            if wanted is not None and (found := self._index.get((name, wanted))) is not None:
                return found
        return None


class CachedRowsApi(trakt_sim._Api):  # noqa: SLF001 - the simulator's handlers, reused as they are
    """The simulator's handlers, rendering a list once per state rather than once per page.

    Every change of a list moves the simulator's clock (`_moved` ticks it), so rows kept for
    the clock's time are the rows the simulator would render again. Lag quirks (which make
    rows depend on the read) are never switched on here.
    """

    def __init__(self, sim: trakt_sim.TraktSim) -> None:
        super().__init__(sim)
        self._kept: dict[tuple[str, str | None], tuple[datetime, list[Json]]] = {}

    def _rows(self, feature: str, kind: str | None, *, first_page: bool) -> list[Json]:
        clock = self.sim._clock  # noqa: SLF001 - moves on every change of a list
        kept = self._kept.get((feature, kind))
        if kept is not None and kept[0] == clock:
            return kept[1]
        rows = super()._rows(feature, kind, first_page=first_page)
        self._kept[(feature, kind)] = (clock, rows)
        return rows


def trakt_app(sim: trakt_sim.TraktSim) -> web.Application:
    """Serve the simulator as `trakt_sim.make_app` does, with `CachedRowsApi`'s handlers."""
    app = trakt_sim._recording_app(sim)  # noqa: SLF001
    api = CachedRowsApi(sim)
    trakt_sim._oauth_routes(app, api)  # noqa: SLF001
    trakt_sim._api_routes(app, api)  # noqa: SLF001
    return app


def seed_trakt(
    titles: list[Title], *, listed: Sequence[Title] = (), played: Sequence[Title] = ()
) -> IndexedTraktSim:
    """Every title in Trakt's catalogue; those `listed` on the watchlist, `played` watched once."""
    sim = IndexedTraktSim(watchlist_limit=2 * len(titles))
    # The parent's client judges token expiry by the wall clock, as Home Assistant's does.
    sim.issued_at = time.time
    for title in titles:
        sim.add_movie(title.n + 1, title.name, title.year, imdb=title.imdb, tmdb=title.tmdb)
    for title in listed:
        sim.seed_watchlist("movie", title.n + 1, listed_at=LISTED)
    for title in played:
        sim.seed_play("movie", title.n + 1, title.watched_at)
    return sim


def trakt_hello(sim: trakt_sim.TraktSim) -> Json:
    """What the parent signs in to Trakt with."""
    return {"client_id": trakt_sim.CLIENT_ID, "client_secret": trakt_sim.CLIENT_SECRET,
            "tokens": sim.issue_tokens(), "slug": sim.slug}  # fmt: skip


# -- SIMKL --------------------------------------------------------------------------------------


class IndexedSimklState(simkl_sim.SimklState):
    """SimklState whose title lookups go through an index (the catalogue is not changed)."""

    def __init__(self) -> None:
        super().__init__()
        self._index: dict[tuple[str, str], list[tuple[int, simkl_sim.Title]]] | None = None

    def resolve(self, section: str, obj: Json) -> simkl_sim.Title | None:
        """The first catalogue title any of the object's ids names, as the walk finds it."""
        ids = obj.get("ids") if isinstance(obj, dict) else None
        if not isinstance(ids, dict):
            return None
        if self._index is None:
            index: dict[tuple[str, str], list[tuple[int, simkl_sim.Title]]] = {}
            for position, title in enumerate(self.catalog.values()):
                for key, value in {"simkl": str(title.simkl), **title.ids}.items():
                    index.setdefault((key, str(value)), []).append((position, title))
            self._index = index
        kinds = ("movies", "anime") if section == "movies" else ("shows", "anime")
        movies = section == "movies"
        found = [
            (position, title)
            for key, value in ids.items()
            for position, title in self._index.get((key, str(value)), [])
            if title.kind in kinds
            and (title.kind != "anime" or movies == (title.anime_type == "movie"))
        ]
        return min(found, key=lambda pair: pair[0])[1] if found else None


def simkl_film(state: simkl_sim.SimklState, title: Title) -> int:
    """Put a film in SIMKL's catalogue; its SIMKL id."""
    simkl = 1_000_000 + title.n
    ids = {"imdb": title.imdb, "tmdb": None if title.tmdb is None else str(title.tmdb)}
    # add_title takes ids as keywords, which a mapping of them cannot be typed as.
    state.add_title("movies", simkl, title.name, title.year).ids.update(
        {key: value for key, value in ids.items() if value is not None}
    )
    return simkl


def simkl_anime(state: simkl_sim.SimklState, title: Title) -> int:
    """Put an anime series in SIMKL's catalogue, known by its AniList id; its SIMKL id."""
    simkl = 3_000_000 + title.n
    ids = {"anilist": str(title.anilist), "mal": None if title.mal is None else str(title.mal)}
    state.add_title(
        "anime", simkl, title.anime_name, title.year, anime_type="tv", episodes=EPISODES
    ).ids.update({key: value for key, value in ids.items() if value is not None})
    return simkl


def seed_simkl(
    titles: list[Title],
    listed: Sequence[Title],
    add: Callable[[simkl_sim.SimklState, Title], int] = simkl_film,
) -> IndexedSimklState:
    """Every title in SIMKL's catalogue (`add` puts one there); those `listed` plan to watch."""
    state = IndexedSimklState()
    # Each listing moves the simulator's clock a second: start it early enough that it ends
    # near the wall clock, which the parent's provider dates its reads by.
    state.now = datetime.now(UTC) - timedelta(seconds=len(listed) + 60)
    simkl_ids = {title.n: add(state, title) for title in titles}
    for title in listed:
        state.user_lists(simkl_ids[title.n], "plantowatch")
    return state


def simkl_hello(state: simkl_sim.SimklState) -> Json:
    """What the parent signs in to SIMKL with."""
    return {"client_id": simkl_sim.CLIENT_ID, "token": simkl_sim.TOKEN,
            "account_id": str(state.account_id), "account_name": state.name}  # fmt: skip


async def follow_wall_clock(state: simkl_sim.SimklState) -> None:
    """Keep SIMKL's clock from falling behind the wall clock (it moves only on changes)."""
    while True:
        state.now = max(state.now, datetime.now(UTC))
        await asyncio.sleep(1)


# -- Plex ---------------------------------------------------------------------------------------

SECTION_ITEMS = re.compile(r"/library/sections/([^/]+)/all")


def kept_section_rows(sim: plex_sim.PlexSim) -> Middleware:
    """Answer a section's item list from rows rendered once per library state, not per page.

    The server's handler renders every item of the library for each page it serves. Here a
    section's rows are rendered as it would render them and kept until a write reaches the
    server (a scrobble, unscrobble or rating: every request but a GET); the page is then cut
    and sent by the simulator's own `_page`. An unknown section, a token the server refuses,
    a quirk switched on or a write still delayed goes to the simulator's handler.
    """
    kept: dict[tuple[str, int, bool], list[Json]] = {}
    tokens = (sim.server_token, sim.account_token)
    types = plex_sim._TYPES  # noqa: SLF001 - the server's item types, by name

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        found = SECTION_ITEMS.fullmatch(request.path)
        if (
            request.method != "GET"
            or found is None
            or found[1] not in sim.sections
            or sim.quirks != plex_sim.Quirks()
            or sim._pending  # noqa: SLF001 - writes the server has not applied yet
            or not plex_sim._authorized(sim, request, *tokens)  # noqa: SLF001
        ):
            response = await handler(request)
            if request.method != "GET":
                kept.clear()
            return response
        section = found[1]
        sim._list_read()  # noqa: SLF001 - counts the read, as the handler does
        wanted = request.query.get("type")
        default_kind = "movie" if sim.sections[section][0] == "movie" else "show"
        kind_id = int(wanted) if wanted else types[default_kind]
        include_guids = request.query.get("includeGuids") == "1"
        key = (section, kind_id, include_guids)
        if key not in kept:
            kept[key] = [
                sim.render(item, include_guids=include_guids)
                for item in sim.items.values()
                if item.section == section and types.get(item.kind) == kind_id
            ]
        extra: dict[str, Json] = {"librarySectionID": int(section), "allowSync": True,
                                  "identifier": plex_sim.LIBRARY}  # fmt: skip
        return await plex_sim._page(sim, request, kept[key], extra)  # noqa: SLF001

    return answer


def seed_plex(titles: list[Title], played: Collection[Title]) -> plex_sim.PlexSim:
    """One movie section holding every title; those `played` watched once, at their minute."""
    # Plex dates plays by its own clock: kept on the wall clock, as a server's and Home
    # Assistant's agree.
    sim = plex_sim.PlexSim(now=int(time.time()))
    sim.add_section("1", "movie", "Movies")
    watched = {title.n for title in played}
    for title in titles:
        when = int(title.watched_at.timestamp()) if title.n in watched else None
        item = sim.add_movie("1", title.name, title.year, imdb=title.imdb, tmdb=title.tmdb,
                             view_count=int(when is not None), last_viewed_at=when)  # fmt: skip
        if when is not None:
            sim.plays.append((item.rating_key, when))
    return sim


# -- Jellyfin -----------------------------------------------------------------------------------

# Hours of Jellyfin's clock per second of the real one (see the module's docstring).
SERVER_HOURS_PER_SECOND: Final = 1


class CountedMediaBrowserState(mb_sim.MediaBrowserState):
    """MediaBrowserState that counts the changes of its users' data (see `KeptItemLists`)."""

    def __init__(self, flavour: mb_sim.Flavour) -> None:
        super().__init__(flavour)
        self.changes = 0

    def user_data(self, user_id: str, item_id: str) -> mb_sim.UserData:
        """As the simulator's: every write and every seeding call reaches the data through here."""
        self.changes += 1
        return super().user_data(user_id, item_id)


class KeptItemLists:
    """Jellyfin's item lists, from items chosen once per library state instead of once per page.

    The simulator's handler sorts the whole library and looks at every item's user data for
    each page it serves. Here the sorted library is kept while its items are the same, and the
    items a query chooses while no user data changed; the page, its rows and its count are then
    made as the handler makes them. A quirk switched on, a write not yet visible, another user's
    list or any other request goes to the simulator's handler.
    """

    def __init__(self, state: CountedMediaBrowserState) -> None:
        self.state = state
        self.handlers = mb_sim._Handlers(state)  # noqa: SLF001 - to render rows as they do
        self._library: tuple[tuple[int, int], dict[str, int], list[mb_sim.Item]] | None = None
        self._chosen: dict[Json, list[mb_sim.Item]] = {}
        self._chosen_at: tuple[int, int, int, int] | None = None

    def middleware(self) -> Middleware:
        """The middleware that answers `GET /Items` where it can (after the token's check)."""

        @web.middleware
        async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
            state = self.state
            user_id = self.handlers._user_for(request) if mb_sim.USER in request else None  # noqa: SLF001
            if (
                request.method != "GET"
                or request.path != "/Items"
                or state.flavour is not mb_sim.Flavour.JELLYFIN
                or state.quirks != mb_sim.MediaBrowserQuirks()
                or state.pending
                or user_id is None
                # The question of what changed since a date is the simulator's to answer.
                or "mindatelastsavedforuser" in mb_sim._query(request)  # noqa: SLF001
            ):
                return await handler(request)
            return self._page(request, user_id)

        return answer

    def _page(self, request: web.Request, user_id: str) -> web.Response:
        state = self.state
        q = mb_sim._query(request)  # noqa: SLF001
        chosen = self._choose(user_id, q)
        start = int(q.get("startindex", "0"))
        fields = {f.lower() for f in q.get("fields", "").split(",") if f}
        page = chosen[start : start + int(q.get("limit", str(len(chosen))))]
        counting = q.get("enabletotalrecordcount", "true") != "false"
        state.counted_lists += counting
        ordinal = self._sorted()[1]
        body: dict[str, Json] = {
            "Items": [self.handlers._dto(item, user_id, fields, ordinal[item.id]) for item in page],  # noqa: SLF001
            "TotalRecordCount": len(chosen) if counting else 0,
            "StartIndex": start,
        }
        state._a_read_happened()  # noqa: SLF001 - counts the read, as the handler does
        # Dated as the handler dates it: a client keeps a read from the moment it began.
        return web.json_response(body, headers={"Date": format_datetime(state.now(), usegmt=True)})

    def _sorted(self) -> tuple[tuple[int, int], dict[str, int], list[mb_sim.Item]]:
        """The library in the handler's order, and each item's place in it."""
        items = self.state.items
        key = (id(items), len(items))
        if self._library is None or self._library[0] != key:
            ordered = sorted(items.values(), key=lambda i: (i.created, i.name, i.id))
            self._library = (key, {item.id: n for n, item in enumerate(ordered)}, ordered)
        return self._library

    def _choose(self, user_id: str, q: dict[str, str]) -> list[mb_sim.Item]:
        """The items the query asks for, in order, chosen as the handler chooses them."""
        state = self.state
        at = (state.changes, id(state.data), id(state.items), len(state.items))
        if at != self._chosen_at:
            self._chosen, self._chosen_at = {}, at
        types = set(filter(None, q.get("includeitemtypes", "").split(",")))
        filters = set(filter(None, q.get("filters", "").split(",")))
        ids = set(filter(None, q.get("ids", "").split(",")))
        recursive = q.get("recursive", "false").lower() == "true"
        key = (user_id, frozenset(types), frozenset(filters), frozenset(ids), recursive)
        if key in self._chosen:
            return self._chosen[key]
        chosen = [
            item
            for item in self._sorted()[2]
            if mb_sim.item_matches(
                item, state.visible(user_id, item.id),
                types=types, filters=filters, ids=ids, recursive=recursive,
            )
        ]  # fmt: skip
        self._chosen[key] = chosen
        return chosen


def jellyfin_app(state: CountedMediaBrowserState) -> web.Application:
    """The simulator's app, its item lists answered by `KeptItemLists` where they can be."""
    app = mb_sim.mediabrowser_app(state)
    app.middlewares.append(KeptItemLists(state).middleware())  # after the token's check
    return app


def seed_jellyfin(
    titles: list[Title], favourites: Collection[Title]
) -> tuple[CountedMediaBrowserState, mb_sim.User]:
    """A Jellyfin library holding every title, and its user, who favours `favourites`."""
    state = CountedMediaBrowserState(mb_sim.Flavour.JELLYFIN)
    started = time.monotonic()
    state.now = lambda: (
        mb_sim.START
        + timedelta(seconds=(time.monotonic() - started) * 3600 * SERVER_HOURS_PER_SECOND)
    )
    user = state.add_user("alice", "correct horse")
    favoured = {title.n for title in favourites}
    for title in titles:
        ids = {"Imdb": title.imdb, "Tmdb": None if title.tmdb is None else str(title.tmdb)}
        item = state.add_movie(
            title.name, title.year, **{key: value for key, value in ids.items() if value}
        )
        if title.n in favoured:
            state.favorite(user, item)
    return state, user


# -- AniList ------------------------------------------------------------------------------------


@dataclass
class KeptAniListState(anilist_sim.AniListState):
    """AniListState that sorts a user's list once per list state and finds entries by index.

    The simulator renders every entry with its user, and the user's entry count with it, so it
    sorts the whole list again for every entry of a chunk. The list changes only when an entry
    comes or goes (`entries`, `next_entry_id`) or a mutation changes one; both mutations count
    themselves in `mutations` before they change anything and look nothing up in the list in
    between, so a sort kept for those three counts is the sort the simulator would make again.
    A write still lagging (a quirk) goes to the simulator's own walk.
    """

    _shown: dict[int, tuple[tuple[int, int, int], list[anilist_sim.SimEntry]]] = field(
        default_factory=dict, repr=False
    )
    _by_media: tuple[tuple[int, int], dict[tuple[int, int], anilist_sim.SimEntry]] | None = field(
        default=None, repr=False
    )

    def shown_entries(self, user_id: int) -> list[anilist_sim.SimEntry]:
        """As the simulator's (its callers only read the list)."""
        if self.lagging:
            return super().shown_entries(user_id)
        at = (len(self.mutations), len(self.entries), self.next_entry_id)
        kept = self._shown.get(user_id)
        if kept is None or kept[0] != at:
            kept = self._shown[user_id] = (at, super().shown_entries(user_id))
        return kept[1]

    def entry_for(self, user_id: int, media_id: int) -> anilist_sim.SimEntry | None:
        """The first of the user's entries for a media, as the simulator's walk finds it."""
        members = (len(self.entries), self.next_entry_id)  # which entries there are
        if self._by_media is None or self._by_media[0] != members:
            index: dict[tuple[int, int], anilist_sim.SimEntry] = {}
            for entry in self.entries.values():
                index.setdefault((entry.user_id, entry.media_id), entry)
            self._by_media = (members, index)
        return self._by_media[1].get((user_id, media_id))


def seed_anilist(titles: list[Title], planned: Sequence[Title]) -> KeptAniListState:
    """Every title in AniList's catalogue; those `planned` on alice's list as PLANNING."""
    # AniList's Unix time: the client reads X-RateLimit-Reset against the wall clock.
    state = KeptAniListState(now=int(time.time()))
    for title in titles:
        state.add_media(title.anilist, title.anime_name, year=title.year, episodes=EPISODES,
                        id_mal=title.mal)  # fmt: skip
    alice = state.add_user(anilist_sim.ALICE_ID, "alice", anilist_sim.ALICE_TOKEN, "POINT_10")
    listed = int(LISTED.timestamp())
    for title in planned:
        state.add_entry(alice.id, title.anilist, "PLANNING", created_at=listed, updated_at=listed)
    return state


# -- the household (script/bench_household.py) --------------------------------------------------

# For N films: ten times as many episodes and, in Trakt's history, twelve plays per film (5,000
# films: 50,000 episodes in 500 shows, 60,000 plays, 2,000 ratings), as issue 16 sizes it.
EPISODES_PER_FILM = 10
PLAYS_PER_FILM = 12
SEASONS, EPISODES_PER_SEASON = 5, 20  # every show: 100 episodes
WATCHLIST, WATCHLIST_ONLY = 300, 5  # titles per side, and how many of them are on one side only
REWATCHED_BEFORE = timedelta(days=90)  # a title watched twice: its first play, before its last
RATED = datetime(2025, 4, 1, 21, 0, tzinfo=UTC)  # when the user rated the first rated title


def household_trakt_id(kind: str, n: int) -> int:
    """The Trakt id of the household's film, show or episode n (by Trakt's name of the kind)."""
    return {"movie": n + 1, "show": 3_000_000 + n, "episode": 5_000_000 + n}[kind]


def household_film(n: int) -> Title:
    """Film n: Plex's films first, then those of Trakt's plays of films the library lacks."""
    return Title(n, f"tt{4_000_000 + n}", 400_000 + n, on_a=True, on_b=True)


def watchlist_film(n: int) -> Title:
    """Watchlist title n: side A is Trakt's watchlist, side B SIMKL's plan-to-watch list.

    The first WATCHLIST - WATCHLIST_ONLY are on both, the next WATCHLIST_ONLY on Trakt's only,
    the last WATCHLIST_ONLY on SIMKL's only: a first run adds a handful each way.
    """
    shared = WATCHLIST - WATCHLIST_ONLY
    return Title(1_000_000 + n, f"tt{7_000_000 + n}", 700_000 + n,
                 on_a=n < WATCHLIST, on_b=n < shared or n >= WATCHLIST)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HouseholdShow:
    """Show n of the household's library (every one in Plex's TV section)."""

    n: int

    @property
    def name(self) -> str:
        return f"Bench Show {self.n}"

    @property
    def year(self) -> int:
        return 1990 + self.n % 35

    @property
    def ids(self) -> dict[str, Json]:
        return {"imdb": f"tt{6_000_000 + self.n}", "tmdb": 600_000 + self.n,
                "tvdb": 800_000 + self.n}  # fmt: skip

    @property
    def trakt(self) -> int:
        return household_trakt_id("show", self.n)


@dataclass(frozen=True, slots=True)
class HouseholdPlay:
    """A film or an episode of the household's Plex library, and the plays each side has of it.

    `i` is its place in the library (films first, then episodes), and what it holds follows from
    it, spread evenly: every 200th is unwatched (a few hundred in all), every 10th was watched
    twice (Plex counts two views and dates the last; Trakt keeps both plays), and Trakt lacks
    the plays of every 100th (1 %, which a first run adds). An episode is known by its number
    across the library, `episode`: its show, season and number follow from it.
    """

    i: int
    film: Title | None  # None: an episode
    episode: int = 0

    @property
    def plays(self) -> tuple[datetime, ...]:
        """Its plays, oldest first, a minute apart from the next title's."""
        if self.i % 200 == 199:
            return ()
        last = WATCHED + timedelta(minutes=self.i)
        return (last - REWATCHED_BEFORE, last) if self.i % 10 == 3 else (last,)

    @property
    def on_trakt(self) -> bool:
        """Whether Trakt's history holds its plays."""
        return self.i % 100 != 37

    @property
    def show(self) -> int:
        return self.episode // (SEASONS * EPISODES_PER_SEASON)

    @property
    def season(self) -> int:
        return self.episode % (SEASONS * EPISODES_PER_SEASON) // EPISODES_PER_SEASON + 1

    @property
    def number(self) -> int:
        return self.episode % EPISODES_PER_SEASON + 1

    @property
    def tvdb(self) -> int:
        """The episode's own TVDB id (Plex and Trakt both know it)."""
        return 9_000_000 + self.episode

    @property
    def trakt(self) -> int:
        """Its Trakt id."""
        if self.film is not None:
            return household_trakt_id("movie", self.film.n)
        return household_trakt_id("episode", self.episode)


@dataclass(frozen=True, slots=True)
class HouseholdRating:
    """One rating of the user's: the same 1-10 value on Plex and, unless not `on_trakt`, Trakt."""

    kind: str  # "movie", "show" or "episode", as Trakt names them
    n: int  # the film's, show's or episode's number
    value: int
    rated_at: datetime
    on_trakt: bool


@dataclass(frozen=True, slots=True)
class Household:
    """What one household holds on Plex, Trakt and SIMKL, for N films."""

    films: int

    @property
    def shows(self) -> list[HouseholdShow]:
        count = max(1, self.films * EPISODES_PER_FILM // (SEASONS * EPISODES_PER_SEASON))
        return [HouseholdShow(n) for n in range(count)]

    @property
    def episodes(self) -> int:
        return len(self.shows) * SEASONS * EPISODES_PER_SEASON

    def library(self) -> list[HouseholdPlay]:
        """Plex's library: the films, then every episode of every show."""
        films = [HouseholdPlay(n, household_film(n)) for n in range(self.films)]
        episodes = [HouseholdPlay(self.films + k, None, k) for k in range(self.episodes)]
        return films + episodes

    def films_elsewhere(self, library: list[HouseholdPlay]) -> list[Title]:
        """Films Trakt has a play of and the library lacks: what brings its history to size."""
        plays = sum(len(play.plays) for play in library if play.on_trakt)
        extra = max(0, PLAYS_PER_FILM * self.films - plays)
        return [household_film(self.films + n) for n in range(extra)]

    def ratings(self) -> list[HouseholdRating]:
        """Every 5th film, every show and every 100th episode; Trakt lacks every 100th rating."""
        rated = [
            *(("movie", n) for n in range(0, self.films, 5)),
            *(("show", show.n) for show in self.shows),
            *(("episode", k) for k in range(1, self.episodes, 100)),
        ]
        return [
            HouseholdRating(kind, n, 5 + j % 6, RATED + timedelta(minutes=j), j % 100 != 50)
            for j, (kind, n) in enumerate(rated)
        ]

    @property
    def watchlist(self) -> list[Title]:
        return [watchlist_film(n) for n in range(WATCHLIST + WATCHLIST_ONLY)]


class HouseholdTraktSim(IndexedTraktSim):
    """IndexedTraktSim whose shows, seasons and episodes are found by index too.

    The simulator finds an episode, and the show of each episode play it renders (`show_of`),
    by walking every episode of every show: a history of 55,000 episode plays over 50,000
    episodes takes over a billion steps to render. The catalogue is not changed once seeded;
    each index is built in the walk's order and keeps the first match, as the walk finds it.
    """

    def __init__(self) -> None:
        # A VIP account (own API apps need one in 2026): watchlists of 5,000, 20,000 ratings.
        super().__init__(watchlist_limit=5_000)
        self.vip = True
        self._by_id: dict[tuple[str, str, Json], Json] | None = None
        self._places: (
            dict[trakt_sim.Ref, tuple[trakt_sim.Show, trakt_sim.Season, trakt_sim.Episode | None]]
            | None
        ) = None

    def find(self, kind: str, ids: Json) -> Json:
        """Trakt's match order (trakt, imdb, tmdb, tvdb, slug); the walk's pool for the kind."""
        if kind == "movie" or not isinstance(ids, dict):
            return super().find(kind, ids)
        pool = kind if kind in ("show", "season") else "episode"  # the walk's `case _`
        if self._by_id is None:
            self._by_id = self._index_ids()
        for name in ("trakt", "imdb", "tmdb", "tvdb", "slug"):
            wanted = ids.get(name)
            if wanted is not None and (found := self._by_id.get((pool, name, wanted))) is not None:
                return found
        return None

    def _index_ids(self) -> dict[tuple[str, str, Json], Json]:
        index: dict[tuple[str, str, Json], Json] = {}

        def add(pool: str, thing: Json) -> None:
            for name, value in thing.ids().items():
                if value is not None:
                    index.setdefault((pool, name, value), thing)

        for show in self.shows.values():
            add("show", show)
        for show in self.shows.values():
            for season in show.seasons.values():
                add("season", season)
        for show in self.shows.values():
            for season in show.seasons.values():
                for episode in season.episodes.values():
                    add("episode", episode)
        return index

    def show_of(
        self, ref: trakt_sim.Ref
    ) -> tuple[trakt_sim.Show, trakt_sim.Season | None, trakt_sim.Episode | None]:
        """The show (and season, episode) a season or episode ref belongs to, by index."""
        if self._places is None:
            places: dict[
                trakt_sim.Ref, tuple[trakt_sim.Show, trakt_sim.Season, trakt_sim.Episode | None]
            ] = {}
            for show in self.shows.values():
                for season in show.seasons.values():
                    places.setdefault(("season", season.trakt), (show, season, None))
                    for episode in season.episodes.values():
                        places.setdefault(("episode", episode.trakt), (show, season, episode))
            self._places = places
        return self._places[ref]  # a KeyError for a ref it lacks, as the walk raises


def seed_household_plex(
    home: Household, library: list[HouseholdPlay]
) -> tuple[plex_sim.PlexSim, str]:
    """Plex's Movies and TV Shows sections; and the ratingKey of the first unwatched episode.

    That episode is the one the bench's user watches before the last run step.
    """
    sim = plex_sim.PlexSim(now=int(time.time()))  # dates new plays on the wall clock
    sim.add_section("1", "movie", "Movies")
    sim.add_section("2", "show", "TV Shows")
    rated = {(rating.kind, rating.n): rating for rating in home.ratings()}

    def state(kind: str, n: int, plays: Sequence[datetime] = ()) -> dict[str, Json]:
        fields: dict[str, Json] = {}
        if plays:
            fields |= {"view_count": len(plays), "last_viewed_at": int(plays[-1].timestamp())}
        if (rating := rated.get((kind, n))) is not None:
            fields |= {"user_rating": float(rating.value),
                       "last_rated_at": int(rating.rated_at.timestamp())}  # fmt: skip
        return fields

    shows = [
        sim.add_show("2", show.name, show.year, **show.ids, **state("show", show.n))
        for show in home.shows
    ]
    unwatched: str | None = None
    for play in library:
        if play.film is not None:
            film = play.film
            item = sim.add_movie("1", film.name, film.year, imdb=film.imdb, tmdb=film.tmdb,
                                 **state("movie", film.n, play.plays))  # fmt: skip
        else:
            item = sim.add_episode(shows[play.show], play.season, play.number, tvdb=play.tvdb,
                                   **state("episode", play.episode, play.plays))  # fmt: skip
            if not play.plays and unwatched is None:
                unwatched = item.rating_key
        sim.plays.extend((item.rating_key, int(when.timestamp())) for when in play.plays)
    if unwatched is None:
        raise SystemExit("bench_loop_serve: the household has no unwatched episode")
    return sim, unwatched


def seed_household_trakt(home: Household, library: list[HouseholdPlay]) -> HouseholdTraktSim:
    """Trakt's catalogue of everything, its history, ratings and watchlist as `home` says."""
    sim = HouseholdTraktSim()
    # The parent's client judges token expiry by the wall clock, as Home Assistant's does.
    sim.issued_at = time.time
    elsewhere = home.films_elsewhere(library)
    films = [play.film for play in library if play.film is not None]
    for film in (*films, *elsewhere, *home.watchlist):
        sim.add_movie(household_trakt_id("movie", film.n), film.name, film.year,
                      imdb=film.imdb, tmdb=film.tmdb)  # fmt: skip
    for show in home.shows:
        sim.add_show(show.trakt, show.name, show.year, **show.ids)
    for play in library:
        kind = "movie" if play.film is not None else "episode"
        if play.film is None:
            of = household_trakt_id("show", play.show)
            sim.add_episode(of, play.season, play.number, play.trakt, tvdb=play.tvdb)
        if play.on_trakt:
            for when in play.plays:
                sim.seed_play(kind, play.trakt, when)
    for n, film in enumerate(elsewhere):
        sim.seed_play(
            "movie", household_trakt_id("movie", film.n), WATCHED - timedelta(minutes=1 + n)
        )
    for rating in home.ratings():
        if rating.on_trakt:
            trakt = household_trakt_id(rating.kind, rating.n)
            sim.seed_rating(rating.kind, trakt, rating.value, rating.rated_at)
    for title in home.watchlist:
        if title.on_a:
            sim.seed_watchlist("movie", household_trakt_id("movie", title.n), listed_at=LISTED)
    return sim


# -- serving ------------------------------------------------------------------------------------


async def announce(hello: Json, stop: Stop, *clocks: simkl_sim.SimklState) -> None:
    """Print the hello line, then serve until `stop`, keeping SIMKL's `clocks` on time."""
    print(json.dumps(hello), flush=True)
    followers = [asyncio.create_task(follow_wall_clock(state)) for state in clocks]
    try:
        await stop()
    finally:
        for follower in followers:
            follower.cancel()


async def serve_trakt_simkl(size: int, stop: Stop) -> None:
    titles = library(size)
    a, b = sides(titles)
    sim, state = seed_trakt(titles, listed=a), seed_simkl(titles, b)
    async with serving() as start:
        hello = {
            "urls": {
                "trakt": await start(trakt_app(sim)),
                "simkl": await start(simkl_sim.simkl_app(state)),
            },
            "trakt": trakt_hello(sim),
            "simkl": simkl_hello(state),
            "seeded": {"trakt": len(sim.watchlist), "simkl": len(state.lists)},
        }
        await announce(hello, stop, state)


async def serve_plex_trakt(size: int, stop: Stop) -> None:
    titles = library(size)
    a, b = sides(titles)
    plex, trakt = seed_plex(titles, played=a), seed_trakt(titles, played=b)
    apps = plex_sim.make_apps(plex)
    apps.server.middlewares.append(kept_section_rows(plex))
    async with serving() as start:
        hello = {
            # Only the server and Trakt: the other Plex hosts serve no list and no limit.
            "urls": {"plex": await start(apps.server), "trakt": await start(trakt_app(trakt))},
            "plex": {
                "client_id": plex_sim.CLIENT_ID, "server_token": plex.server_token,
                "account_token": plex.account_token, "plex_tv": await start(apps.plex_tv),
                "discover": await start(apps.discover), "metadata": await start(apps.metadata),
            },
            "trakt": trakt_hello(trakt),
            "seeded": {"plex": len(plex.plays), "trakt": len(trakt.history)},
        }  # fmt: skip
        await announce(hello, stop)


async def serve_trakt_jellyfin(size: int, stop: Stop) -> None:
    titles = library(size)
    a, _ = sides(titles)
    trakt = seed_trakt(titles, listed=a)
    # Jellyfin's favourites are the shared titles only (see the module's docstring).
    jellyfin, user = seed_jellyfin(titles, [title for title in a if title.on_b])
    async with serving() as start:
        hello = {
            "urls": {
                "trakt": await start(trakt_app(trakt)),
                "jellyfin": await start(jellyfin_app(jellyfin)),
            },
            "trakt": trakt_hello(trakt),
            "jellyfin": {"token": jellyfin.issue_token(user), "server_id": jellyfin.server_id,
                         "server_name": jellyfin.server_name, "user_id": user.id,
                         "user_name": user.name, "new_play": next(iter(jellyfin.items))},
            "seeded": {"trakt": len(trakt.watchlist),
                       "jellyfin": sum(data.is_favorite for data in jellyfin.data.values())},
        }  # fmt: skip
        await announce(hello, stop)


async def serve_anilist_simkl(size: int, stop: Stop) -> None:
    titles = library(size)
    a, b = sides(titles)
    anilist, simkl = seed_anilist(titles, a), seed_simkl(titles, b, simkl_anime)
    async with serving() as start:
        hello = {
            "urls": {
                "anilist": await start(anilist_sim.build_app(anilist)),
                "simkl": await start(simkl_sim.simkl_app(simkl)),
            },
            "anilist": {"token": anilist_sim.ALICE_TOKEN, "user_id": anilist_sim.ALICE_ID,
                        "user_name": "alice"},
            "simkl": simkl_hello(simkl),
            "seeded": {"anilist": len(anilist.entries), "simkl": len(simkl.lists)},
        }  # fmt: skip
        await announce(hello, stop, simkl)


async def serve_household(films: int, stop: Stop) -> None:
    """One Plex server, one Trakt and one SIMKL account: the household of `films` films.

    Besides the sign-ins, the hello line names `new_play`, the ratingKey of an episode nobody
    has watched: the parent plays it through the server's own scrobble call, as a Plex player
    does when the user finishes an episode.
    """
    home = Household(films)
    library = home.library()
    (plex, new_play), trakt = (
        seed_household_plex(home, library),
        seed_household_trakt(home, library),
    )
    simkl = seed_simkl(home.watchlist, [title for title in home.watchlist if title.on_b])
    apps = plex_sim.make_apps(plex)
    apps.server.middlewares.append(kept_section_rows(plex))
    async with serving() as start:
        hello = {
            "urls": {"plex": await start(apps.server), "trakt": await start(trakt_app(trakt)),
                     "simkl": await start(simkl_sim.simkl_app(simkl))},
            "plex": {
                "client_id": plex_sim.CLIENT_ID, "server_token": plex.server_token,
                "account_token": plex.account_token, "plex_tv": await start(apps.plex_tv),
                "discover": await start(apps.discover), "metadata": await start(apps.metadata),
            },
            "trakt": trakt_hello(trakt),
            "simkl": simkl_hello(simkl),
            "new_play": new_play,
            "seeded": {
                "plex_films": home.films, "plex_shows": len(home.shows),
                "plex_episodes": home.episodes,
                "plex_watched": sum(1 for item in plex.items.values() if item.view_count),
                "plex_ratings": sum(1 for i in plex.items.values() if i.user_rating is not None),
                "trakt_plays": len(trakt.history), "trakt_ratings": len(trakt.ratings),
                "trakt_watchlist": len(trakt.watchlist), "simkl_watchlist": len(simkl.lists),
            },
        }  # fmt: skip
        await announce(hello, stop, simkl)


# The pair kinds served, by the names script/bench_loop.py gives them, and the household
# script/bench_household.py serves (its size: the number of films).
SERVERS: dict[str, Callable[[int, Stop], Awaitable[None]]] = {
    "trakt-simkl": serve_trakt_simkl,
    "plex-trakt": serve_plex_trakt,
    "trakt-jellyfin": serve_trakt_jellyfin,
    "anilist-simkl": serve_anilist_simkl,
    "household": serve_household,
}


async def main(pair: str, size: int) -> None:
    loop = asyncio.get_running_loop()

    def stdin_closed() -> asyncio.Future[bytes]:
        # The parent closes our stdin when it is done (or dies): then we stop.
        return loop.run_in_executor(None, sys.stdin.buffer.read)

    await SERVERS[pair](size, stdin_closed)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pair", choices=sorted(SERVERS))
    parser.add_argument("size", type=int)
    args = parser.parse_args()
    asyncio.run(main(args.pair, args.size))
