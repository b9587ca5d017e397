"""The anime ID mapping list: which AniList, MAL, AniDB, Kitsu, TVDB, TMDB and IMDb ids match.

Trackers like Trakt know an anime by its TVDB or TMDB id, AniList by its own; this public list
(Fribb's anime-lists, `anime-list-full.json`) links them, so ID backfill can give an item from
one side the ids the other side writes by.

Two steps, because the file is large (about 30 MB, some 40 000 records):
- `fetch_anime_lists` downloads it through the shared HTTP layer, conditionally when the caller
  has the ETag or Last-Modified of its cached copy (a 304 comes back as `not_modified`);
- `parse_anime_lists` is synchronous and CPU-bound: the caller runs it in an executor
  (Home Assistant: `hass.async_add_executor_job`), never on the event loop.
Caching the result and refreshing it weekly is the caller's business.

The list has changed shape over time, and both shapes are read: TVDB as `tvdb_id` or
`thetvdb_id`; TMDB as a number or as `{"tv": n}` / `{"movie": [n, ...]}`; IMDb as a string or a
list. A TMDB id is only filed under `tmdb` when its kind matches the record's media type (TMDB
numbers tv shows and films separately, so a film's number read as a show would match the wrong
title); the other kind is kept in `tmdb_tv` / `tmdb_movie` for whoever can tell them apart.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
import json
from types import MappingProxyType
from typing import Final

import aiohttp

from ..clients.errors import CrossWatchClientError
from ..clients.http import HttpClient, RetryPolicy, Throttle
from ..engine.applier import RunBlocking
from ..engine.backfill import IdMapFetch, IdRecord
from ..engine.ids import Namespace, normalize_id
from ..engine.items import MediaType
from ..engine.provider import ProviderError

DEFAULT_URL: Final = (
    "https://raw.githubusercontent.com/Fribb/anime-lists/master/anime-list-full.json"
)
# A 30 MB body on a slow line needs longer than an API reply.
DOWNLOAD_RETRY: Final = RetryPolicy(attempts=3, backoff=5.0, timeout=300.0)
# The list grows every season and is parsed in an executor, not on the event loop: it may be
# larger than an API reply is allowed to be (clients.http.MAX_BODY).
MAX_DOWNLOAD: Final = 128 * 1024 * 1024

_SCALAR_IDS: Final = (
    (Namespace.ANILIST, ("anilist_id",)),
    (Namespace.MAL, ("mal_id",)),
    (Namespace.ANIDB, ("anidb_id",)),
    (Namespace.KITSU, ("kitsu_id",)),
    (Namespace.TVDB, ("tvdb_id", "thetvdb_id")),
    (Namespace.SIMKL, ("simkl_id",)),
)
# Ids of the anime databases themselves: a record without one maps nothing anime-side.
_ANIME_SIDE: Final = frozenset({Namespace.ANILIST, Namespace.MAL, Namespace.ANIDB, Namespace.KITSU})


@dataclass(frozen=True, slots=True)
class AnimeMapping:
    """One title's ids across databases, with where it sits in TVDB's and TMDB's numbering."""

    ids: Mapping[str, str]  # engine namespace -> normalized id
    media_type: MediaType  # MOVIE for films, else ANIME
    kind: str | None  # the list's own type: TV, MOVIE, OVA, ONA, SPECIAL, ...
    tmdb_tv: str | None = None
    tmdb_movie: str | None = None
    tvdb_season: int | None = None  # the TVDB season this entry is (0: specials)
    tmdb_season: int | None = None
    tvdb_episode_offset: int | None = None  # episodes of that season before this entry's first
    tmdb_episode_offset: int | None = None


@dataclass(frozen=True, slots=True)
class AnimeLists:
    """The parsed list and how many records had to be skipped."""

    mappings: tuple[AnimeMapping, ...]
    skipped: int


@dataclass(frozen=True, slots=True)
class AnimeListDownload:
    """A downloaded list body with its validators, or word that the cached copy is current."""

    body: bytes | None  # None when not modified
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """Whether the server said the caller's copy is still current."""
        return self.body is None


async def fetch_anime_lists(
    session: aiohttp.ClientSession,
    *,
    url: str = DEFAULT_URL,
    etag: str | None = None,
    last_modified: str | None = None,
    retry: RetryPolicy = DOWNLOAD_RETRY,
    throttle: Throttle | None = None,
) -> AnimeListDownload:
    """Download the list, conditionally on the cached copy's validators.

    Raises ProviderError (with the reason) when it cannot be had; the caller carries on with
    its cached copy, or without the mapping, and warns.
    """
    headers = {"Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    client = HttpClient(
        session, url, service="the anime ID list", read_throttle=throttle, retry=retry,
        carries_credentials=False,  # a public file: its host may hand it to a mirror
        max_body=MAX_DOWNLOAD,
    )  # fmt: skip
    try:
        response = await client.request("GET", "", headers=headers, ok=frozenset({200}))
    except CrossWatchClientError as err:
        raise ProviderError(f"the anime ID list could not be downloaded from {url}: {err}") from err
    validators = {key.lower(): value for key, value in response.headers.items()}
    if response.status == 304:
        return AnimeListDownload(
            None, validators.get("etag") or etag, validators.get("last-modified") or last_modified
        )
    return AnimeListDownload(response.body, validators.get("etag"), validators.get("last-modified"))


def parse_anime_lists(body: bytes | str) -> AnimeLists:
    """Parse the list. Blocking and CPU-bound on the real file: run it in an executor.

    Raises ProviderError when the body is not a JSON list at all; single records that cannot be
    used are skipped and counted.
    """
    try:
        records = json.loads(body)
    except ValueError as err:
        raise ProviderError(f"the anime ID list is not JSON: {err}") from err
    if not isinstance(records, list):
        raise ProviderError("the anime ID list is not a list of records")
    mappings: list[AnimeMapping] = []
    skipped = 0
    for record in records:
        mapping = parse_record(record) if isinstance(record, dict) else None
        if mapping is None:
            skipped += 1
        else:
            mappings.append(mapping)
    return AnimeLists(tuple(mappings), skipped)


def parse_record(record: Mapping[str, object]) -> AnimeMapping | None:
    """One record as a mapping; None when it links no anime id to any other id."""
    ids: dict[str, str] = {}
    for namespace, keys in _SCALAR_IDS:
        for key in keys:
            value = normalize_id(namespace, record.get(key))
            if value is not None:
                ids[namespace.value] = value
                break
    imdb = _first_id(Namespace.IMDB, record.get("imdb_id"))
    if imdb is not None:
        ids[Namespace.IMDB.value] = imdb
    raw_kind = record.get("type")
    kind = raw_kind if isinstance(raw_kind, str) else None
    media_type = MediaType.MOVIE if kind == "MOVIE" else MediaType.ANIME
    tmdb_tv, tmdb_movie = _tmdb(record.get("themoviedb_id"), media_type)
    wanted = tmdb_movie if media_type is MediaType.MOVIE else tmdb_tv
    if wanted is not None:
        ids[Namespace.TMDB.value] = wanted
    if not _ANIME_SIDE & {Namespace(key) for key in ids} or len(ids) < 2:
        return None
    season, offset = _numbers(record.get("season")), _numbers(record.get("episode_offset"))
    return AnimeMapping(
        ids=MappingProxyType(ids),
        media_type=media_type,
        kind=kind,
        tmdb_tv=tmdb_tv,
        tmdb_movie=tmdb_movie,
        tvdb_season=season.get("tvdb"),
        tmdb_season=season.get("tmdb"),
        tvdb_episode_offset=offset.get("tvdb"),
        tmdb_episode_offset=offset.get("tmdb"),
    )


def _first_id(namespace: Namespace, raw: object) -> str | None:
    """The first usable id of a value that may be one id or a list of them."""
    for value in raw if isinstance(raw, list) else [raw]:
        normalized = normalize_id(namespace, value)
        if normalized is not None:
            return normalized
    return None


def _tmdb(raw: object, media_type: MediaType) -> tuple[str | None, str | None]:
    """The TMDB tv and movie ids of a record (old shape: a bare number of the record's kind)."""
    if isinstance(raw, dict):
        return _first_id(Namespace.TMDB, raw.get("tv")), _first_id(Namespace.TMDB, raw.get("movie"))
    bare = _first_id(Namespace.TMDB, raw)
    return (None, bare) if media_type is MediaType.MOVIE else (bare, None)


def _numbers(raw: object) -> dict[str, int]:
    """A `{"tvdb": n, "tmdb": n}` object of small whole numbers (seasons, offsets)."""
    if not isinstance(raw, dict):
        return {}
    return {
        key: value
        for key, value in raw.items()
        if isinstance(key, str)
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value >= 0
    }


class AnimeListLoader:
    """The anime list as an id mapping source for the engine's ID backfill (`IdMapLoader`).

    The engine caches what it returns and asks again weekly; the validator it keeps is this
    loader's own encoding of the ETag and Last-Modified of the copy it has.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        run_blocking: RunBlocking,
        url: str = DEFAULT_URL,
        retry: RetryPolicy = DOWNLOAD_RETRY,
    ) -> None:
        """Download from `url`; parse through `run_blocking` (an executor), never on the loop."""
        self._session = session
        self._run_blocking = run_blocking
        self._url = url
        self._retry = retry

    @property
    def source(self) -> str:
        """The cache key: the list's URL, so a changed URL never serves the old list."""
        return f"anime-lists:{self._url}"

    async def fetch(self, validator: str | None) -> IdMapFetch:
        """The list's records, or `records=None` when the cached copy is still current.

        Raises ProviderError when it cannot be downloaded, is not a JSON list, or maps nothing.
        """
        known: dict[str, str | None] = json.loads(validator) if validator else {}
        download = await fetch_anime_lists(
            self._session,
            url=self._url,
            etag=known.get("etag"),
            last_modified=known.get("last_modified"),
            retry=self._retry,
        )
        new_validator = json.dumps({"etag": download.etag, "last_modified": download.last_modified})
        if download.body is None:
            return IdMapFetch(None, new_validator)
        parsed = await self._run_blocking(partial(parse_anime_lists, download.body))
        if not parsed.mappings:
            # A list that maps nothing is a broken download, not news: the copy in hand stays.
            raise ProviderError(
                f"the anime ID list from {self._url} holds no usable record"
                f" ({parsed.skipped} skipped)"
            )
        return IdMapFetch([IdRecord(m.ids) for m in parsed.mappings], new_validator)
