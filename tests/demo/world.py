"""The demo's simulated world: one catalogue, seven services, seeded the same way every time.

`build_world()` seeds every simulator from one shared catalogue (real titles with their real
imdb/tmdb/tvdb and AniList/MAL ids, as far as memory serves; what matters is that every
simulator names a title by the same ids, as the real services would) with a fixed random seed,
so that the demo's six pairs have something to do on their first run and nothing on the next:

- Plex → Trakt history (one-way): Plex holds 64 films and 12 shows with 169 episodes (245
  items); 40 films and 89 episodes are watched. Trakt already has the plays of 78 of those 129
  (the same dates, as a scrobbler would have sent them), and 10 more plays of films Plex lacks;
  it misses 51 (a few of them only the latest of several plays): the first sync adds those 51
  plays, the next adds nothing (`test_plex_to_trakt_adds_only_the_plays_trakt_lacks`).
- Trakt ⇄ SIMKL watchlist (two-way): 24 titles on Trakt, 18 on SIMKL, 9 on both. Two titles
  on Trakt's watchlist are watched on Plex but not yet on Trakt: the Plex → Trakt history sync
  takes them off Trakt's watchlist (Trakt does that when a play arrives), and the watchlist
  pair carries the removal to SIMKL.
- Plex → Jellyfin history (one-way, shadows): Jellyfin holds 52 of Plex's films, 4 of its own
  and 10 of Plex's shows (194 items). 65 of them (33.5 %) have no ProviderIds at all (matched by exact
  title and year; a few of those titles in odd casing), the rest carry them in varying key
  casing (`Imdb`, `imdb`, `IMDB`, `iMDB`), and two films with ids have a release year one off.
  Part of Plex's history is already played there.
- AniList ⇄ SIMKL watchlist (two-way): 30 anime on both services (AniList ids with their MAL
  ids; SIMKL's anime carry `mal` and, for all but three, `anilist`). AniList's list holds 24
  entries, 10 of them PLANNING (the watchlist); SIMKL's anime watchlist holds 7, 3 of them the
  same titles. No title is planned on one side and finished on the other.
- AniList ⇄ Trakt watchlist (two-way), through the anime id mapping list (its own simulator,
  `anime-list-full.json` with a record per anime: AniList, MAL and TVDB ids for series, TMDB and
  IMDb ids for films). Trakt knows the 30 anime by TVDB id (series) or IMDb and TMDB ids
  (films), never by AniList's ids: AniList's 10 PLANNING titles reach Trakt's watchlist only
  under the ids the list lends them, and match there on every later run. Trakt's own watchlist
  (films and shows, no anime) cannot be written to AniList (`no_anilist_id`).
- Plex → MDBList history (one-way): MDBList's catalogue knows every film and show of the
  catalogue (under the same IMDb, TMDb and TVDB ids) and its lists start empty, so the first
  sync writes Plex's watched films and episodes, one watched state each (MDBList keeps no plays).
- Ratings on every scale: Trakt and SIMKL 1-10, AniList POINT_100, Plex, Jellyfin and Emby 0-10.
- Emby has a small library of its own (15 films, 2 shows) with some plays, ratings, favourites.

Known consequence, not a bug of the world: SIMKL's watchlist mixes films, shows and anime, so the
AniList ⇄ SIMKL pair finds SIMKL's non-anime titles unwritable on AniList (`no_anilist_id`), and
Trakt cannot resolve SIMKL's anime series (SIMKL gives them anime ids only), nor SIMKL the anime
series the AniList ⇄ Trakt pair put on Trakt's watchlist (Trakt gives them TVDB ids only): those
show up as unresolved, as they would with the real services.

`describe(world)` counts what the world holds; the numbers above are what it reports.
"""

from base64 import urlsafe_b64encode
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import random
from typing import Any

from tests.simulators.anilist import AniListState
from tests.simulators.anime_lists import AnimeListsState
from tests.simulators.mdblist import MdblistState, Title as MdblistTitle
from tests.simulators.mediabrowser import (
    FixedClock,
    Flavour,
    MediaBrowserQuirks,
    MediaBrowserState,
    User,
    wall_clock,
)
from tests.simulators.plex import PlexSim
from tests.simulators.simkl import SimklState
from tests.simulators.trakt import TraktSim

SEED = 20_250_601
# The simulators' clocks while seeding; the server moves them on to the wall clock.
SEEDED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# Demo credentials: the same user everywhere.
USER = "alice"
PASSWORD = "crosswatch-demo"
SIMKL_ACCOUNT_ID = 4812
ANILIST_USER_ID = 6_021_337
ANILIST_CLIENT_ID = "21734"
ANILIST_SCORE_FORMAT = "POINT_100"
MDBLIST_API_KEY = "demo-mdblist-api-key"
MDBLIST_USER_ID = 7_311
PLEX_SERVER_NAME = "Living Room"
JELLYFIN_SERVER_NAME = "Den"
EMBY_SERVER_NAME = "Attic"


def _b64(data: dict[str, Any]) -> str:
    return urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


# AniList hands out year-long JWTs; this one expires in 2100, so the demo never needs a reauth.
ANILIST_TOKEN = ".".join(
    (
        _b64({"typ": "JWT", "alg": "RS256"}),
        _b64(
            {
                "aud": ANILIST_CLIENT_ID,
                "jti": "crosswatch-demo",
                "iat": int(SEEDED_AT.timestamp()),
                "nbf": int(SEEDED_AT.timestamp()),
                "exp": 4_102_444_800,
                "sub": str(ANILIST_USER_ID),
                "scopes": [],
            }
        ),
        "c2ltdWxhdGVk",
    )
)


# -- the catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Film:
    """A film: title, year, imdb, tmdb."""

    title: str
    year: int
    imdb: str
    tmdb: int


@dataclass(frozen=True)
class Series:
    """A show: its ids and the number of episodes of each season."""

    title: str
    year: int
    imdb: str
    tmdb: int
    tvdb: int
    seasons: tuple[int, ...]

    def episodes(self) -> list[tuple[int, int]]:
        """Every (season, number), in order."""
        return [(s, n) for s, count in enumerate(self.seasons, 1) for n in range(1, count + 1)]


@dataclass(frozen=True)
class Anime:
    """An anime: AniList and MAL ids; films also carry imdb/tmdb (SIMKL has them)."""

    anilist: int
    mal: int
    romaji: str
    english: str | None
    year: int
    format: str  # AniList's: TV, MOVIE, ONA
    episodes: int
    imdb: str | None = None
    tmdb: int | None = None

    @property
    def title(self) -> str:
        return self.english or self.romaji


FILMS = (
    Film("The Matrix", 1999, "tt0133093", 603),
    Film("Heat", 1995, "tt0113277", 949),
    Film("Inception", 2010, "tt1375666", 27205),
    Film("Alien", 1979, "tt0078748", 348),
    Film("Arrival", 2016, "tt2543164", 329865),
    Film("Parasite", 2019, "tt6751668", 496243),
    Film("Whiplash", 2014, "tt2582802", 244786),
    Film("Amélie", 2001, "tt0211915", 194),
    Film("Spirited Away", 2001, "tt0245429", 129),
    Film("Oldboy", 2003, "tt0364569", 670),
    Film("Blade Runner", 1982, "tt0083658", 78),
    Film("Se7en", 1995, "tt0114369", 807),
    Film("Memento", 2000, "tt0209144", 77),
    Film("Zodiac", 2007, "tt0443706", 1949),
    Film("Drive", 2011, "tt0780504", 64690),
    Film("Her", 2013, "tt1798709", 152601),
    Film("Moon", 2009, "tt1182345", 17431),
    Film("Sicario", 2015, "tt3397884", 273481),
    Film("Prisoners", 2013, "tt1392214", 146233),
    Film("Interstellar", 2014, "tt0816692", 157336),
    Film("Gravity", 2013, "tt1454468", 49047),
    Film("Up", 2009, "tt1049413", 14160),
    Film("Coco", 2017, "tt2380307", 354912),
    Film("Roma", 2018, "tt6155172", 426426),
    Film("Dune", 2021, "tt1160419", 438631),
    Film("The Dark Knight", 2008, "tt0468569", 155),
    Film("Pulp Fiction", 1994, "tt0110912", 680),
    Film("Fight Club", 1999, "tt0137523", 550),
    Film("The Shawshank Redemption", 1994, "tt0111161", 278),
    Film("The Godfather", 1972, "tt0068646", 238),
    Film("Forrest Gump", 1994, "tt0109830", 13),
    Film("Gladiator", 2000, "tt0172495", 98),
    Film("The Prestige", 2006, "tt0482571", 1124),
    Film("Get Out", 2017, "tt5052448", 419430),
    Film("Jurassic Park", 1993, "tt0107290", 329),
    Film("Back to the Future", 1985, "tt0088763", 105),
    Film("Toy Story", 1995, "tt0114709", 862),
    Film("No Country for Old Men", 2007, "tt0477348", 6977),
    Film("Mad Max: Fury Road", 2015, "tt1392190", 76341),
    Film("Blade Runner 2049", 2017, "tt1856101", 335984),
    Film("Oppenheimer", 2023, "tt15398776", 872585),
    Film("Everything Everywhere All at Once", 2022, "tt6710474", 545611),
    Film("Past Lives", 2023, "tt13238346", 666277),
    Film("The Social Network", 2010, "tt1285016", 37799),
    Film("Ex Machina", 2014, "tt0470752", 264660),
    Film("Children of Men", 2006, "tt0206634", 9693),
    Film("There Will Be Blood", 2007, "tt0469494", 7345),
    Film("The Grand Budapest Hotel", 2014, "tt2278388", 120467),
    Film("La La Land", 2016, "tt3783958", 313369),
    Film("Knives Out", 2019, "tt8946378", 546554),
    Film("The Departed", 2006, "tt0407887", 1422),
    Film("Goodfellas", 1990, "tt0099685", 769),
    Film("The Silence of the Lambs", 1991, "tt0102926", 274),
    Film("WALL·E", 2008, "tt0910970", 10681),
    Film("Ratatouille", 2007, "tt0382932", 2062),
    Film("Eternal Sunshine of the Spotless Mind", 2004, "tt0338013", 38),
    Film("The Truman Show", 1998, "tt0120382", 37165),
    Film("Fargo", 1996, "tt0116282", 275),
    Film("The Big Lebowski", 1998, "tt0118715", 115),
    Film("Inglourious Basterds", 2009, "tt0361748", 16869),
    Film("Django Unchained", 2012, "tt1853728", 68718),
    Film("The Lord of the Rings: The Fellowship of the Ring", 2001, "tt0120737", 120),
    Film("Star Wars", 1977, "tt0076759", 11),
    Film("Jaws", 1975, "tt0073195", 578),
    Film("Raiders of the Lost Ark", 1981, "tt0082971", 85),
    Film("Terminator 2: Judgment Day", 1991, "tt0103064", 280),
    Film("Aliens", 1986, "tt0090605", 679),
    Film("The Thing", 1982, "tt0084787", 1091),
    Film("Portrait of a Lady on Fire", 2019, "tt8613070", 531428),
    Film("Poor Things", 2023, "tt14230458", 792307),
    Film("The Zone of Interest", 2023, "tt7160372", 467244),
    Film("Anatomy of a Fall", 2023, "tt17009710", 915935),
    Film("Barbie", 2023, "tt1517268", 346698),
    Film("Killers of the Flower Moon", 2023, "tt5537002", 466420),
    Film("The Holdovers", 2023, "tt14849194", 840430),
    Film("Tár", 2022, "tt14444726", 817758),
    Film("Top Gun: Maverick", 2022, "tt1745960", 361743),
    Film("The Batman", 2022, "tt1877830", 414906),
    Film("Nope", 2022, "tt10954984", 762504),
    Film("Decision to Leave", 2022, "tt12477480", 705996),
)

SHOWS = (
    Series("Dark", 2017, "tt5753856", 70523, 334824, (10, 8, 8)),
    Series("Severance", 2022, "tt11280740", 95396, 371980, (9, 10)),
    Series("Breaking Bad", 2008, "tt0903747", 1396, 81189, (7, 13, 13)),
    Series("Chernobyl", 2019, "tt7366338", 87108, 360893, (5,)),
    Series("Stranger Things", 2016, "tt4574334", 66732, 305288, (8, 9, 8)),
    Series("The Office", 2005, "tt0386676", 2316, 73244, (6, 22, 23)),
    Series("Better Call Saul", 2015, "tt3032476", 60059, 273181, (10, 10)),
    Series("True Detective", 2014, "tt2356777", 46648, 270633, (8,)),
    Series("Fargo", 2014, "tt2802850", 60622, 269613, (10,)),
    Series("Succession", 2018, "tt7660850", 76331, 338186, (10,)),
    Series("The Expanse", 2015, "tt3230854", 63639, 280619, (10, 13)),
    Series("Sherlock", 2010, "tt1475582", 19885, 176941, (3, 3)),
    Series("The Bear", 2022, "tt14452776", 136315, 403245, (8,)),
    Series("Shōgun", 2024, "tt2788316", 126308, 392573, (10,)),
    Series("The Last of Us", 2023, "tt3581920", 100088, 392256, (9,)),
    Series("Andor", 2022, "tt9253284", 83867, 393189, (12,)),
)

ANIME = (
    Anime(1, 1, "Cowboy Bebop", "Cowboy Bebop", 1998, "TV", 26),
    Anime(5114, 5114, "Hagane no Renkinjutsushi: FULLMETAL ALCHEMIST",
          "Fullmetal Alchemist: Brotherhood", 2009, "TV", 64),
    Anime(21519, 32281, "Kimi no Na wa.", "Your Name.", 2016, "MOVIE", 1, "tt5311514", 372058),
    Anime(16498, 16498, "Shingeki no Kyojin", "Attack on Titan", 2013, "TV", 25),
    Anime(9253, 9253, "Steins;Gate", "Steins;Gate", 2011, "TV", 24),
    Anime(1535, 1535, "DEATH NOTE", "Death Note", 2006, "TV", 37),
    Anime(30, 30, "Shin Seiki Evangelion", "Neon Genesis Evangelion", 1995, "TV", 26),
    Anime(21087, 30276, "One Punch Man", "One-Punch Man", 2015, "TV", 12),
    Anime(101922, 38000, "Kimetsu no Yaiba", "Demon Slayer: Kimetsu no Yaiba", 2019, "TV", 26),
    Anime(113415, 40748, "Jujutsu Kaisen", "JUJUTSU KAISEN", 2020, "TV", 24),
    Anime(21507, 32182, "Mob Psycho 100", "Mob Psycho 100", 2016, "TV", 12),
    Anime(20665, 23273, "Shigatsu wa Kimi no Uso", "Your lie in April", 2014, "TV", 22),
    Anime(1575, 1575, "Code Geass: Hangyaku no Lelouch", "Code Geass: Lelouch of the Rebellion",
          2006, "TV", 25),
    Anime(11061, 11061, "HUNTER×HUNTER (2011)", "Hunter x Hunter (2011)", 2011, "TV", 148),  # noqa: RUF001
    Anime(97986, 34599, "Made in Abyss", "Made in Abyss", 2017, "TV", 13),
    Anime(101348, 37521, "Vinland Saga", "Vinland Saga", 2019, "TV", 24),
    Anime(21827, 33352, "Violet Evergarden", "Violet Evergarden", 2018, "TV", 13),
    Anime(140960, 50265, "SPY×FAMILY", "SPY x FAMILY", 2022, "TV", 12),  # noqa: RUF001
    Anime(154587, 52991, "Sousou no Frieren", "Frieren: Beyond Journey's End", 2023, "TV", 28),
    Anime(127230, 44511, "Chainsaw Man", "Chainsaw Man", 2022, "TV", 12),
    Anime(120377, 42310, "Cyberpunk: Edgerunners", "Cyberpunk: Edgerunners", 2022, "ONA", 10),
    Anime(20954, 28851, "Koe no Katachi", "A Silent Voice", 2016, "MOVIE", 1, "tt5323662",
          378064),
    Anime(47, 47, "AKIRA", "AKIRA", 1988, "MOVIE", 1, "tt0094625", 149),
    Anime(164, 164, "Mononoke Hime", "Princess Mononoke", 1997, "MOVIE", 1, "tt0119698", 128),
    Anime(437, 437, "Perfect Blue", "Perfect Blue", 1998, "MOVIE", 1, "tt0156887", 10494),
    Anime(205, 205, "Samurai Champloo", "Samurai Champloo", 2004, "TV", 26),
    Anime(457, 457, "Mushishi", "Mushi-Shi", 2005, "TV", 26),
    Anime(19, 19, "MONSTER", "Monster", 2004, "TV", 74),
    Anime(2001, 2001, "Tengen Toppa Gurren Lagann", "Gurren Lagann", 2007, "TV", 27),
    Anime(130003, 47917, "Bocchi the Rock!", "BOCCHI THE ROCK!", 2022, "TV", 12),
)  # fmt: skip

# SIMKL's anime without an AniList id (it has the MAL id only): AniList ids by MAL id.
SIMKL_WITHOUT_ANILIST = frozenset({457, 19, 2001})
# The TVDB series of each anime that is not a film (by AniList id), as Trakt and the anime id
# mapping list know them.
ANIME_TVDB = {
    1: 76885, 5114: 85249, 16498: 267440, 9253: 244061, 1535: 79481, 30: 70350, 21087: 293088,
    101922: 348545, 113415: 377543, 21507: 307155, 20665: 281249, 1575: 79525, 11061: 252322,
    97986: 326109, 101348: 359274, 21827: 330139, 140960: 405920, 154587: 424536, 127230: 397934,
    120377: 413599, 205: 79089, 457: 79929, 19: 79488, 2001: 79592, 130003: 414374,
}  # fmt: skip


# Ids the simulators give by catalogue position.
def trakt_film(index: int) -> int:
    return index + 1


def trakt_show(index: int) -> int:
    return 1000 + index


def trakt_anime_film(index: int) -> int:
    return 2000 + index


def trakt_anime_show(index: int) -> int:
    return 3000 + index


def trakt_episode(show_index: int, season: int, number: int) -> int:
    return 1_000_000 + show_index * 10_000 + season * 100 + number


def episode_tvdb(show_index: int, season: int, number: int) -> int:
    return 10_000_000 + show_index * 10_000 + season * 100 + number


def simkl_film(index: int) -> int:
    return 100_000 + index


def simkl_show(index: int) -> int:
    return 200_000 + index


def simkl_anime(index: int) -> int:
    return 300_000 + index


# -- the world ----------------------------------------------------------------------------------


@dataclass
class Facts:
    """What seeding decided, by catalogue position, for tests and `describe`."""

    plex_films: list[int] = field(default_factory=list)
    plex_shows: list[int] = field(default_factory=list)
    # Plex's watched items: ("film", i) or ("episode", show, season, number) -> (count, epoch)
    plex_watched: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    trakt_plays: dict[tuple[Any, ...], int] = field(default_factory=dict)  # Plex key -> plays
    trakt_watchlist: list[tuple[str, int]] = field(default_factory=list)  # ("film"|"show", i)
    simkl_watchlist: list[tuple[str, int]] = field(default_factory=list)
    watched_on_plex_listed_on_trakt: list[int] = field(default_factory=list)  # film indexes
    anilist_planning: list[int] = field(default_factory=list)  # ANIME indexes
    simkl_anime_watchlist: list[int] = field(default_factory=list)
    jellyfin_films: list[int] = field(default_factory=list)
    jellyfin_shows: list[int] = field(default_factory=list)
    jellyfin_id_less_films: list[int] = field(default_factory=list)
    jellyfin_id_less_shows: list[int] = field(default_factory=list)


@dataclass
class World:
    """The seven services' simulators' states and the anime id mapping list (pickled as a whole)."""

    trakt: TraktSim
    simkl: SimklState
    anilist: AniListState
    plex: PlexSim
    jellyfin: MediaBrowserState
    emby: MediaBrowserState
    facts: Facts
    seed: int = SEED
    anime_lists: AnimeListsState = field(default_factory=AnimeListsState)  # the id mapping list
    # MDBList came later: a world saved before it gets this (seeded) one when loaded.
    mdblist: MdblistState = field(default_factory=MdblistState)

    def jellyfin_user(self) -> User:
        return next(u for u in self.jellyfin.users.values() if u.name == USER)

    def emby_user(self) -> User:
        return next(u for u in self.emby.users.values() if u.name == USER)


def _moment(rng: random.Random, days_back_from: int, days_back_to: int) -> datetime:
    """A random second between `days_back_from` and `days_back_to` days before seeding."""
    start = SEEDED_AT - timedelta(days=days_back_from)
    span = int(timedelta(days=days_back_from - days_back_to).total_seconds())
    return start + timedelta(seconds=rng.randrange(span))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def build_world(seed: int = SEED) -> World:
    """Seed all seven simulators; the same seed gives the same world."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible world, not a secret
    facts = Facts()
    world = World(
        trakt=_new_trakt(),
        simkl=_new_simkl(),
        anilist=_new_anilist(),
        plex=_new_plex(),
        jellyfin=MediaBrowserState(
            Flavour.JELLYFIN,
            quirks=MediaBrowserQuirks(varied_casing=True),
            server_name=JELLYFIN_SERVER_NAME,
        ),
        emby=MediaBrowserState(Flavour.EMBY, server_name=EMBY_SERVER_NAME),
        facts=facts,
        seed=seed,
    )
    _catalogues(world)
    _seed_plex(world, rng)
    _seed_trakt(world, rng)
    _seed_simkl(world, rng)
    _seed_anime(world, rng)
    # The servers date the user data seeded at the world's own moment, so that the same seed
    # gives the same world; served, their clocks run in real time.
    for server in (world.jellyfin, world.emby):
        server.now = FixedClock(SEEDED_AT)
    _seed_jellyfin(world, rng)
    _seed_emby(world, rng)
    for server in (world.jellyfin, world.emby):
        server.now = wall_clock
    world.mdblist = _new_mdblist()
    return world


def _new_trakt() -> TraktSim:
    sim = TraktSim(slug=USER, watchlist_limit=100)
    sim._clock = SEEDED_AT
    sim.device_interval = 1
    sim.auto_approve = True
    return sim


def _new_simkl() -> SimklState:
    state = SimklState(account_id=SIMKL_ACCOUNT_ID, name=USER)
    state.now = SEEDED_AT
    state.pin_interval = 1
    state.auto_approve = True
    return state


def _new_anilist() -> AniListState:
    state = AniListState(now=_epoch(SEEDED_AT))
    state.add_user(ANILIST_USER_ID, USER, ANILIST_TOKEN, ANILIST_SCORE_FORMAT)
    return state


def _new_mdblist() -> MdblistState:
    """An MDBList account whose catalogue knows every film and show (its lists start empty)."""
    state = MdblistState(api_key=MDBLIST_API_KEY, user_id=MDBLIST_USER_ID, username=USER)
    state.now = state.day = SEEDED_AT
    for i, film in enumerate(FILMS):
        state.add(MdblistTitle("movie", film.title, film.year, f"f{i}", film.imdb, film.tmdb))
    for i, show in enumerate(SHOWS):
        state.add(
            MdblistTitle("show", show.title, show.year, f"s{i}", show.imdb, show.tmdb,
                         tvdb=show.tvdb, episodes=frozenset(show.episodes()))
        )  # fmt: skip
    return state


def _new_plex() -> PlexSim:
    sim = PlexSim(now=_epoch(SEEDED_AT), username=USER, server_name=PLEX_SERVER_NAME)
    sim.auto_approve = True
    return sim


def _catalogues(world: World) -> None:
    """Every title in Trakt's, SIMKL's and AniList's catalogues, under the same ids."""
    trakt, simkl, anilist = world.trakt, world.simkl, world.anilist
    for i, film in enumerate(FILMS):
        slug = f"{film.title.lower().replace(' ', '-')}-{film.year}"
        trakt.add_movie(trakt_film(i), film.title, film.year, imdb=film.imdb, tmdb=film.tmdb,
                        slug=slug)  # fmt: skip
        simkl.add_title("movies", simkl_film(i), film.title, film.year, imdb=film.imdb,
                        tmdb=str(film.tmdb))  # fmt: skip
    for i, show in enumerate(SHOWS):
        trakt.add_show(trakt_show(i), show.title, show.year, imdb=show.imdb, tmdb=show.tmdb,
                       tvdb=show.tvdb, slug=show.title.lower().replace(" ", "-"))  # fmt: skip
        for season, number in show.episodes():
            trakt.add_episode(trakt_show(i), season, number, trakt_episode(i, season, number),
                              tvdb=episode_tvdb(i, season, number),
                              title=f"Episode {number}")  # fmt: skip
        title = simkl.add_title("shows", simkl_show(i), show.title, show.year, imdb=show.imdb,
                                tmdb=str(show.tmdb), tvdb=str(show.tvdb))  # fmt: skip
        title.episodes = tuple(show.episodes())
    for i, anime in enumerate(ANIME):
        anilist.add_media(anime.anilist, anime.romaji, english=anime.english, year=anime.year,
                          format=anime.format, episodes=anime.episodes, id_mal=anime.mal)  # fmt: skip
        ids = {"mal": str(anime.mal)}
        if anime.mal not in SIMKL_WITHOUT_ANILIST:
            ids["anilist"] = str(anime.anilist)
        if anime.imdb:
            ids |= {"imdb": anime.imdb, "tmdb": str(anime.tmdb)}
            # Trakt has anime films as films.
            trakt.add_movie(trakt_anime_film(i), anime.title, anime.year, imdb=anime.imdb,
                            tmdb=anime.tmdb)  # fmt: skip
            world.anime_lists.add(type="MOVIE", anilist_id=anime.anilist, mal_id=anime.mal,
                                  themoviedb_id={"movie": [anime.tmdb]}, imdb_id=[anime.imdb])  # fmt: skip
        else:
            # Trakt has anime series as shows, by their TVDB series.
            tvdb = ANIME_TVDB[anime.anilist]
            trakt.add_show(trakt_anime_show(i), anime.title, anime.year, tvdb=tvdb)
            world.anime_lists.add(type=anime.format, anilist_id=anime.anilist, mal_id=anime.mal,
                                  tvdb_id=tvdb, season={"tvdb": 1})  # fmt: skip
        simkl.add_title("anime", simkl_anime(i), anime.title, anime.year,
                        anime_type=anime.format.lower(), episodes=anime.episodes,
                        **ids)  # fmt: skip


# -- Plex -----------------------------------------------------------------------------------------


def _seed_plex(world: World, rng: random.Random) -> None:
    sim, facts = world.plex, world.facts
    sim.add_section("1", "movie", "Movies")
    sim.add_section("2", "show", "TV Shows")
    facts.plex_films = sorted(rng.sample(range(len(FILMS)), 64))
    facts.plex_shows = sorted(rng.sample(range(len(SHOWS)), 12))
    for i in facts.plex_films:
        film = FILMS[i]
        fields: dict[str, Any] = {}
        if rng.random() < 0.6:
            count = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            last = _epoch(_moment(rng, 900, 2))
            fields |= {"view_count": count, "last_viewed_at": last}
            facts.plex_watched["film", i] = (count, last)
            if rng.random() < 0.5:
                fields |= {"user_rating": float(rng.randint(4, 10)),
                           "last_rated_at": last + rng.randrange(60, 86_400)}  # fmt: skip
        added = _epoch(_moment(rng, 1200, 901))
        sim.add_movie("1", film.title, film.year, imdb=film.imdb, tmdb=film.tmdb,
                      added_at=added, **fields)  # fmt: skip
    for i in facts.plex_shows:
        show = SHOWS[i]
        item = sim.add_show("2", show.title, show.year, imdb=show.imdb, tmdb=show.tmdb,
                            tvdb=show.tvdb, added_at=_epoch(_moment(rng, 1200, 901)))  # fmt: skip
        episodes = show.episodes()
        progress = rng.choices(("all", "some", "none"), weights=(50, 40, 10))[0]
        watched = {"all": len(episodes), "some": rng.randint(1, len(episodes) - 1), "none": 0}
        day = _moment(rng, 800, 300)
        for n, (season, number) in enumerate(episodes):
            fields = {}
            if n < watched[progress]:
                day += timedelta(days=rng.randint(0, 3), minutes=rng.randint(40, 600))
                fields = {"view_count": 1, "last_viewed_at": _epoch(day)}
                facts.plex_watched["episode", i, season, number] = (1, _epoch(day))
            sim.add_episode(item, season, number, tvdb=episode_tvdb(i, season, number),
                            title=f"Episode {number}", added_at=item.added_at,
                            **fields)  # fmt: skip
        if progress == "all" and rng.random() < 0.6:
            item.user_rating = float(rng.randint(6, 10))
            item.last_rated_at = _epoch(day) + 3600
    # The Discover watchlist: unwatched library films, and titles Plex's catalogue has.
    unwatched = [i for i in facts.plex_films if ("film", i) not in facts.plex_watched]
    elsewhere = [i for i in range(len(FILMS)) if i not in facts.plex_films]
    for i in rng.sample(unwatched, 4) + rng.sample(elsewhere, 3):
        film = FILMS[i]
        plex_id = (
            next(
                (
                    t.plex
                    for t in sim.catalogue.values()
                    if t.kind == "movie" and t.imdb == film.imdb
                ),
                None,
            )
            or sim.add_title("movie", film.title, film.year, imdb=film.imdb, tmdb=film.tmdb).plex
        )
        sim.watchlist[plex_id] = _epoch(_moment(rng, 200, 1))


# -- Trakt ----------------------------------------------------------------------------------------


def _trakt_ref(key: tuple[Any, ...]) -> tuple[str, int]:
    if key[0] == "film":
        return "movie", trakt_film(key[1])
    _, show, season, number = key
    return "episode", trakt_episode(show, season, number)


def _seed_trakt(world: World, rng: random.Random) -> None:
    sim, facts = world.trakt, world.facts
    # A scrobbler sent most of Plex's plays already; a few items miss their latest play.
    for key, (count, last) in sorted(facts.plex_watched.items()):
        if rng.random() >= 0.6:
            continue
        plays = count - 1 if count > 1 and rng.random() < 0.4 else count
        kind, trakt_id = _trakt_ref(key)
        for n in range(plays):
            when = _at(last) - timedelta(days=90 * n)
            if count > plays:
                when -= timedelta(days=45)  # the missing play is the latest one
            sim.seed_play(kind, trakt_id, when)
        facts.trakt_plays[key] = plays
    # Films watched elsewhere (the cinema, a friend's place).
    for i in rng.sample([i for i in range(len(FILMS)) if i not in facts.plex_films], 10):
        sim.seed_play("movie", trakt_film(i), _moment(rng, 1000, 5))
    # The watchlist: unwatched titles, and two films watched on Plex that Trakt has no play of.
    watched_films = {key[1] for key in facts.plex_watched if key[0] == "film"}
    not_on_trakt = sorted(i for i in watched_films if ("film", i) not in facts.trakt_plays)
    facts.watched_on_plex_listed_on_trakt = rng.sample(not_on_trakt, 2)
    films = [i for i in range(len(FILMS)) if i not in watched_films]
    shows = [i for i in range(len(SHOWS)) if i not in facts.plex_shows]
    chosen = [("film", i) for i in rng.sample(films, 17)]
    chosen += [("show", i) for i in rng.sample(shows, 3)]
    chosen += [("show", i) for i in rng.sample(facts.plex_shows, 2)]
    chosen += [("film", i) for i in facts.watched_on_plex_listed_on_trakt]
    rng.shuffle(chosen)
    facts.trakt_watchlist = chosen
    for kind, i in chosen:
        trakt_id = trakt_film(i) if kind == "film" else trakt_show(i)
        sim.seed_watchlist("movie" if kind == "film" else "show", trakt_id,
                           _moment(rng, 400, 1))  # fmt: skip
    # Ratings, 1-10, of watched films and shows (some Plex rated differently).
    rated = sorted(rng.sample(sorted(watched_films), min(25, len(watched_films))))
    for i in rated:
        sim.seed_rating("movie", trakt_film(i), rng.randint(5, 10), _moment(rng, 600, 1))
    for i in rng.sample(facts.plex_shows, 5):
        sim.seed_rating("show", trakt_show(i), rng.randint(6, 10), _moment(rng, 600, 1))


# -- SIMKL ----------------------------------------------------------------------------------------


def _seed_simkl(world: World, rng: random.Random) -> None:
    state, facts = world.simkl, world.facts
    trakt_listed = set(facts.trakt_watchlist)
    # 9 of Trakt's watchlist (never the two about to be watched), 9 of its own.
    about_to_go = {("film", i) for i in facts.watched_on_plex_listed_on_trakt}
    shared = rng.sample(sorted(trakt_listed - about_to_go), 9)
    watched_films = {key[1] for key in facts.plex_watched if key[0] == "film"}
    own_films = [
        i for i in range(len(FILMS)) if ("film", i) not in trakt_listed and i not in watched_films
    ]
    own_shows = [i for i in range(len(SHOWS)) if ("show", i) not in trakt_listed]
    own = [("film", i) for i in rng.sample(own_films, 7)]
    own += [("show", i) for i in rng.sample(own_shows, 2)]
    facts.simkl_watchlist = shared + own
    for kind, i in facts.simkl_watchlist:
        state.user_lists(simkl_film(i) if kind == "film" else simkl_show(i), "plantowatch")
    # Films seen (SIMKL keeps a watched state), most rated 1-10.
    listed = {i for kind, i in facts.simkl_watchlist + facts.trakt_watchlist if kind == "film"}
    seen = rng.sample(sorted(watched_films - listed), 25)
    for i in seen:
        state.user_lists(simkl_film(i), "completed", watched_at=_moment(rng, 900, 2))
        if rng.random() < 0.6:
            state.user_rates(simkl_film(i), rng.randint(4, 10))
    # Shows in progress.
    listed_shows = {i for kind, i in facts.simkl_watchlist if kind == "show"}
    started = [i for i in facts.plex_shows if ("show", i) not in trakt_listed]
    for i in rng.sample([i for i in started if i not in listed_shows], 3):
        episodes = SHOWS[i].episodes()
        day = _moment(rng, 500, 200)
        done: dict[tuple[int, int], datetime | None] = {}
        for episode in episodes[: rng.randint(2, len(episodes) - 1)]:
            day += timedelta(days=rng.randint(1, 4))
            done[episode] = day
        state.user_lists(simkl_show(i), "watching", episodes=done)
        state.user_rates(simkl_show(i), rng.randint(6, 10))


# -- AniList and SIMKL's anime --------------------------------------------------------------------


def _seed_anime(world: World, rng: random.Random) -> None:
    anilist, simkl, facts = world.anilist, world.simkl, world.facts
    order = list(range(len(ANIME)))
    rng.shuffle(order)
    planning, completed = order[:10], order[10:19]
    # Watching now: series only (a film is watched or not).
    current = [i for i in order[19:] if ANIME[i].format != "MOVIE"][:3]
    rest = [i for i in order[19:] if i not in current]
    paused, dropped, absent = rest[0], rest[1], rest[2:]
    facts.anilist_planning = sorted(planning)

    def stamp(days_from: int, days_to: int) -> int:
        return _epoch(_moment(rng, days_from, days_to))

    for i in planning:
        created = stamp(700, 1)
        anilist.add_entry(ANILIST_USER_ID, ANIME[i].anilist, "PLANNING", created_at=created,
                          updated_at=created)  # fmt: skip
    finished: list[tuple[int, int]] = []
    for i in completed:
        anime, done = ANIME[i], _moment(rng, 1500, 10)
        score = rng.choice((0, 55, 60, 70, 75, 80, 85, 90, 95, 100))
        anilist.add_entry(ANILIST_USER_ID, anime.anilist, "COMPLETED", score_raw=score,
                          progress=anime.episodes, repeat=int(rng.random() < 0.2),
                          completed_at=(done.year, done.month, done.day),
                          created_at=_epoch(done) - 86_400 * 30,
                          updated_at=_epoch(done))  # fmt: skip
        finished.append((i, score))
    for i in current:
        anime = ANIME[i]
        anilist.add_entry(ANILIST_USER_ID, anime.anilist, "CURRENT",
                          progress=rng.randint(1, anime.episodes - 1),
                          created_at=stamp(200, 100), updated_at=stamp(99, 1))  # fmt: skip
    anilist.add_entry(ANILIST_USER_ID, ANIME[paused].anilist, "PAUSED",
                      progress=min(3, ANIME[paused].episodes), score_raw=65,
                      created_at=stamp(900, 800), updated_at=stamp(799, 700))  # fmt: skip
    anilist.add_entry(ANILIST_USER_ID, ANIME[dropped].anilist, "DROPPED", progress=1,
                      score_raw=40, created_at=stamp(1000, 900),
                      updated_at=stamp(899, 800))  # fmt: skip
    # SIMKL: 3 of AniList's plans, and 4 titles AniList's list does not have.
    facts.simkl_anime_watchlist = sorted(rng.sample(planning, 3) + absent[:4])
    for i in facts.simkl_anime_watchlist:
        simkl.user_lists(simkl_anime(i), "plantowatch")
    # Finished on SIMKL too: 4 of AniList's completed titles (rated 1-10), and 2 it lacks.
    for i, score in finished[:4]:
        anime = ANIME[i]
        _simkl_finish(simkl, i, anime, _moment(rng, 1500, 10))
        if score:
            simkl.user_rates(simkl_anime(i), max(1, round(score / 10)))
    for i in absent[4:]:
        _simkl_finish(simkl, i, ANIME[i], _moment(rng, 1500, 10))
        simkl.user_rates(simkl_anime(i), rng.randint(6, 10))


def _simkl_finish(simkl: SimklState, index: int, anime: Anime, when: datetime) -> None:
    if anime.format == "MOVIE":
        simkl.user_lists(simkl_anime(index), "completed", watched_at=when)
        return
    episodes = {
        (1, n): when - timedelta(days=anime.episodes - n) for n in range(1, anime.episodes + 1)
    }
    simkl.user_lists(simkl_anime(index), "completed", episodes=dict(episodes))


# -- Jellyfin and Emby ----------------------------------------------------------------------------


_ODD_CASINGS = (str.lower, str.upper, str.title)


def _seed_jellyfin(world: World, rng: random.Random) -> None:
    state, facts = world.jellyfin, world.facts
    user = state.add_user(USER, PASSWORD)
    facts.jellyfin_films = sorted(
        rng.sample(facts.plex_films, 52)
        + rng.sample([i for i in range(len(FILMS)) if i not in facts.plex_films], 4)
    )
    facts.jellyfin_shows = sorted(rng.sample(facts.plex_shows, 10))
    facts.jellyfin_id_less_films = sorted(
        rng.sample(facts.jellyfin_films, round(0.35 * len(facts.jellyfin_films)))
    )
    # Shows without ids (their episodes too) until about 35 % of the shows' items lack them.
    show_items = {i: 1 + len(SHOWS[i].episodes()) for i in facts.jellyfin_shows}
    budget = 0.35 * sum(show_items.values())
    id_less_shows: list[int] = []
    for i in rng.sample(facts.jellyfin_shows, len(facts.jellyfin_shows)):
        if sum(show_items[s] for s in id_less_shows) + show_items[i] <= budget:
            id_less_shows.append(i)
    facts.jellyfin_id_less_shows = sorted(id_less_shows)
    id_less = set(facts.jellyfin_id_less_films)
    year_off = set(rng.sample(sorted(set(facts.jellyfin_films) - id_less), 2))
    odd_titles = set(rng.sample(sorted(id_less), 4))
    for i in facts.jellyfin_films:
        film = FILMS[i]
        title = film.title
        if i in odd_titles:
            title = _ODD_CASINGS[len(title) % len(_ODD_CASINGS)](title)
        ids = {} if i in id_less else {"Imdb": film.imdb, "Tmdb": str(film.tmdb)}
        item = state.add_movie(title, film.year + (i in year_off), **ids)
        watched = facts.plex_watched.get(("film", i))
        if watched is not None and rng.random() < 0.3:
            # Played here as well: the same evening, or another one.
            when = _at(watched[1]) if rng.random() < 0.5 else _moment(rng, 1000, 5)
            state.watch(user, item, when)
        elif watched is None and rng.random() < 0.15:
            state.watch(user, item, _moment(rng, 1000, 5))
        if rng.random() < 0.2:
            state.rate(user, item, float(rng.randint(5, 10)))
        if rng.random() < 0.1:
            state.favorite(user, item)
    for i in facts.jellyfin_shows:
        show = SHOWS[i]
        bare = i in id_less_shows
        ids = {} if bare else {"Imdb": show.imdb, "Tmdb": str(show.tmdb), "Tvdb": str(show.tvdb)}
        series = state.add_series(show.title, show.year, **ids)
        for season, number in show.episodes():
            episode_ids = {} if bare else {"Tvdb": str(episode_tvdb(i, season, number))}
            episode = state.add_episode(series, season, number, **episode_ids)
            watched = facts.plex_watched.get(("episode", i, season, number))
            if watched is not None and rng.random() < 0.25:
                state.watch(user, episode, _at(watched[1]))


def _seed_emby(world: World, rng: random.Random) -> None:
    state = world.emby
    user = state.add_user(USER, PASSWORD)
    for i in sorted(rng.sample(range(len(FILMS)), 15)):
        film = FILMS[i]
        item = state.add_movie(film.title, film.year, Imdb=film.imdb, Tmdb=str(film.tmdb))
        if rng.random() < 0.5:
            state.watch(user, item, _moment(rng, 700, 3), count=rng.choice((1, 1, 2)))
        if rng.random() < 0.35:
            state.rate(user, item, float(rng.randint(4, 10)))
        if rng.random() < 0.2:
            state.favorite(user, item)
    for i in sorted(rng.sample(range(len(SHOWS)), 2)):
        show = SHOWS[i]
        series = state.add_series(show.title, show.year, Imdb=show.imdb, Tmdb=str(show.tmdb),
                                  Tvdb=str(show.tvdb))  # fmt: skip
        day = _moment(rng, 600, 300)
        for n, (season, number) in enumerate(show.episodes()[: show.seasons[0]]):
            episode = state.add_episode(series, season, number,
                                        Tvdb=str(episode_tvdb(i, season, number)))  # fmt: skip
            if n < show.seasons[0] // 2:
                day += timedelta(days=1)
                state.watch(user, episode, day)


# -- what the world holds -----------------------------------------------------------------------


def _count(values: Iterable[object]) -> int:
    return sum(1 for _ in values)


def describe(world: World) -> dict[str, Any]:
    """Counts of what every simulator holds now, and the overlaps the pairs work on."""
    facts = world.facts
    plex_items = world.plex.items.values()
    plex_watched = [i for i in plex_items if i.view_count]
    missing_on_trakt = [
        key
        for key, (count, _) in facts.plex_watched.items()
        if facts.trakt_plays.get(key, 0) < count
    ]
    jf_items = list(world.jellyfin.items.values())
    jf_bare = [item for item in jf_items if not item.provider_ids]
    jf_user, emby_user = world.jellyfin_user(), world.emby_user()
    simkl_watchlist = {
        sid for sid, listing in world.simkl.lists.items() if listing.status == "plantowatch"
    }
    simkl_kinds = {kind: _count(
        s for s in simkl_watchlist if world.simkl.catalog[s].kind == kind
    ) for kind in ("movies", "shows", "anime")}  # fmt: skip
    anilist_entries = [e for e in world.anilist.entries.values() if e.user_id == ANILIST_USER_ID]
    planning = {e.media_id for e in anilist_entries if e.status == "PLANNING"}
    simkl_anime_planned = {
        int(world.simkl.catalog[s].ids["mal"])
        for s in simkl_watchlist
        if world.simkl.catalog[s].kind == "anime"
    }
    anilist_planned_mal = {world.anilist.media[m].id_mal for m in planning}
    trakt_refs = {tuple(row["ref"]) for row in world.trakt.watchlist}
    trakt_imdb = {
        (world.trakt.movies[t].imdb if k == "movie" else world.trakt.shows[t].imdb)
        for k, t in trakt_refs
    }
    simkl_imdb = {world.simkl.catalog[s].ids.get("imdb") for s in simkl_watchlist}
    return {
        "plex": {
            "movies": _count(i for i in plex_items if i.kind == "movie"),
            "shows": _count(i for i in plex_items if i.kind == "show"),
            "episodes": _count(i for i in plex_items if i.kind == "episode"),
            "items": len(world.plex.items),
            "watched": len(plex_watched),
            "watched_movies": _count(i for i in plex_watched if i.kind == "movie"),
            "watched_episodes": _count(i for i in plex_watched if i.kind == "episode"),
            "rated": _count(i for i in plex_items if i.user_rating is not None),
            "watchlist": len(world.plex.watchlist),
        },
        "trakt": {
            "plays": len(world.trakt.history),
            "watchlist": len(world.trakt.watchlist),
            "ratings": len(world.trakt.ratings),
            "plex_watched_already_on_trakt": len(facts.plex_watched) - len(missing_on_trakt),
            "plex_watched_missing_on_trakt": len(missing_on_trakt),
        },
        "simkl": {
            "watchlist": len(simkl_watchlist),
            "watchlist_by_kind": simkl_kinds,
            "completed": _count(v for v in world.simkl.lists.values() if v.status == "completed"),
            "watching": _count(v for v in world.simkl.lists.values() if v.status == "watching"),
            "rated": _count(v for v in world.simkl.lists.values() if v.rating is not None),
            "catalog": len(world.simkl.catalog),
        },
        "anilist": {
            "entries": len(anilist_entries),
            "planning": len(planning),
            "by_status": {
                status: _count(e for e in anilist_entries if e.status == status)
                for status in ("PLANNING", "CURRENT", "COMPLETED", "PAUSED", "DROPPED")
            },
            "scored": _count(e for e in anilist_entries if e.score_raw),
            "media": len(world.anilist.media),
            "score_format": ANILIST_SCORE_FORMAT,
        },
        "jellyfin": {
            "items": len(jf_items),
            "movies": _count(i for i in jf_items if i.type == "Movie"),
            "series": _count(i for i in jf_items if i.type == "Series"),
            "episodes": _count(i for i in jf_items if i.type == "Episode"),
            "without_provider_ids": len(jf_bare),
            "share_without_provider_ids": round(len(jf_bare) / len(jf_items), 3),
            "played": _count(
                d for (u, _), d in world.jellyfin.data.items() if u == jf_user.id and d.played
            ),
        },
        "emby": {
            "items": len(world.emby.items),
            "played": _count(
                d for (u, _), d in world.emby.data.items() if u == emby_user.id and d.played
            ),
            "rated": _count(
                d for (u, _), d in world.emby.data.items()
                if u == emby_user.id and d.rating is not None
            ),
        },
        "overlap": {
            "trakt_and_simkl_watchlist": len((trakt_imdb & simkl_imdb) - {None}),
            "anilist_planning_and_simkl_anime_watchlist": len(
                anilist_planned_mal & simkl_anime_planned
            ),
            "watched_on_plex_and_on_trakt_watchlist": len(facts.watched_on_plex_listed_on_trakt),
        },
    }  # fmt: skip


# -- the coming week -------------------------------------------------------------------------------

# When each followed show's next episodes air: (days, hours) after the start of today (UTC).
UPCOMING_SLOTS = ((1, 20), (4, 21), (9, 20))


def schedule_upcoming(world: World, now: datetime) -> list[str]:
    """Date the next episodes of the titles the user follows from `now`: the calendars' week.

    Called at every start of the simulators (the world is saved, the dates would age): the same
    episodes, re-dated, so it may run any number of times. Each service gets a new season (or,
    for anime, the next episodes) of titles the seeding made the user follow there:
    - Trakt: the first two shows on its watchlist and the first show it has plays of;
    - SIMKL: the shows it watches or plans to watch, and its anime series planned;
    - AniList: the series on its list as CURRENT or PLANNING.
    Two of the three slots fall within the coming week, one in the week after. Returns what
    was scheduled, as "service: title" lines.
    """
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    airs = [day + timedelta(days=days, hours=hours) for days, hours in UPCOMING_SLOTS]
    return [
        *_upcoming_trakt(world, airs),
        *_upcoming_simkl(world, airs),
        *_upcoming_anilist(world, airs),
    ]


def _staggered(airs: list[datetime], n: int) -> list[datetime]:
    """The slots moved for the `n`th title of a service: titles air on different evenings.

    At most two days and two hours later, so two slots stay within the coming week.
    """
    return [when + timedelta(days=n % 3, hours=n % 2 + n // 3 % 2) for when in airs]


def _upcoming_trakt(world: World, airs: list[datetime]) -> list[str]:
    listed = [i for kind, i in world.facts.trakt_watchlist if kind == "show"][:2]
    played = sorted({key[1] for key in world.facts.trakt_plays if key[0] == "episode"})[:1]
    scheduled: list[str] = []
    for n, i in enumerate(dict.fromkeys(listed + played)):
        series, show = SHOWS[i], trakt_show(i)
        if show not in world.trakt.shows:
            continue
        season = len(series.seasons) + 1
        for number, when in enumerate(_staggered(airs, n), 1):
            world.trakt.add_episode(
                show,
                season,
                number,
                trakt_episode(i, season, number),
                title=f"Episode {number}",
                tvdb=episode_tvdb(i, season, number),
                first_aired=when,
                runtime=50,
            )
        scheduled.append(f"Trakt: {series.title} season {season}")
    return scheduled


def _upcoming_simkl(world: World, airs: list[datetime]) -> list[str]:
    state = world.simkl
    following = ("watching", "plantowatch")
    plans: list[tuple[int, int | None, int, str]] = []  # SIMKL id, season, first episode, title
    for i, series in enumerate(SHOWS):
        listing = state.lists.get(simkl_show(i))
        if listing is not None and listing.status in following:
            plans.append((simkl_show(i), len(series.seasons) + 1, 1, series.title))
    for i in world.facts.simkl_anime_watchlist:
        anime = ANIME[i]
        if anime.format != "MOVIE":
            plans.append((simkl_anime(i), None, anime.episodes + 1, anime.title))
    scheduled = {
        (simkl, season, first + n) for simkl, season, first, _ in plans for n in range(len(airs))
    }
    state.airings = [a for a in state.airings if (a.simkl, a.season, a.episode) not in scheduled]
    for index, (simkl, season, first, _) in enumerate(plans):
        for n, when in enumerate(_staggered(airs, index)):
            state.schedule(simkl, season, first + n, when)
    return [f"SIMKL: {title}" for *_, title in plans]


def _upcoming_anilist(world: World, airs: list[datetime]) -> list[str]:
    state = world.anilist
    scheduled: list[str] = []
    for entry in sorted(state.entries.values(), key=lambda e: e.id):
        media = state.media.get(entry.media_id)
        if (
            entry.user_id != ANILIST_USER_ID
            or entry.status not in ("CURRENT", "PLANNING")
            or media is None
            or media.format == "MOVIE"
        ):
            continue
        first = max(entry.progress, media.episodes or 0) + 1
        slots = _staggered(airs, len(scheduled))
        media.airings = {first + n: _epoch(when) for n, when in enumerate(slots)}
        scheduled.append(f"AniList: {media.english or media.romaji}")
    return scheduled
