"""External ids: one canonical form per namespace, parsed from every provider's dialect.

Matching items across providers is only as good as id equality, so every id that enters the
engine passes through `normalize_id` first: "TT0133093", "0133093" and an IMDb URL all become
"tt0133093", and the placeholders providers use for "no id" ("0", "null", "-1", ...) become None
instead of colliding with each other.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
import re
from types import MappingProxyType
from typing import Final


class Namespace(StrEnum):
    """Where an id comes from; the order here is the order of every ids dict we return."""

    IMDB = "imdb"
    TMDB = "tmdb"
    TVDB = "tvdb"
    TRAKT = "trakt"
    SLUG = "slug"
    SIMKL = "simkl"
    ANILIST = "anilist"
    MAL = "mal"
    KITSU = "kitsu"
    ANIDB = "anidb"
    PLEX = "plex"  # Plex metadata agent id (plex://movie/<24 hex>): the same on every server
    PLEX_KEY = "plex_key"  # a Plex server's ratingKey: numeric, meaningful on one server only
    JELLYFIN = "jellyfin"  # Jellyfin item id: 32 hex, meaningful on one server only
    EMBY = "emby"  # Emby item id: numeric, meaningful on one server only


NUMERIC_NAMESPACES: Final[frozenset[Namespace]] = frozenset(
    {
        Namespace.TMDB,
        Namespace.TVDB,
        Namespace.TRAKT,
        Namespace.SIMKL,
        Namespace.ANILIST,
        Namespace.MAL,
        Namespace.KITSU,
        Namespace.ANIDB,
        Namespace.PLEX_KEY,
        Namespace.EMBY,
    }
)
# Two servers can hand out the same local id for different items: never match across providers.
LOCAL_NAMESPACES: Final[frozenset[Namespace]] = frozenset(
    {Namespace.PLEX_KEY, Namespace.JELLYFIN, Namespace.EMBY}
)
SENTINELS: Final[frozenset[str]] = frozenset(
    {"", "0", "none", "null", "unknown", "nan", "undefined", "n/a", "-1"}
)

# Every namespace except IMDB (see _imdb) is one full match; the id is its groups joined.
_NUMERIC: Final = re.compile(r"0*([1-9][0-9]*)")
_PATTERNS: Final = MappingProxyType(
    dict.fromkeys(NUMERIC_NAMESPACES, _NUMERIC)
    | {
        Namespace.SLUG: re.compile(r"([a-z0-9]+(?:-[a-z0-9]+)*)"),
        Namespace.PLEX: re.compile(r"(?:plex://[a-z]+/)?([0-9a-f]{24})/?"),
        # Jellyfin prints item ids both bare and as dashed GUIDs.
        Namespace.JELLYFIN: re.compile(
            r"([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})"
        ),
    }
)
_IMDB_URL: Final = re.compile(r"https?://(?:[a-z0-9-]+\.)*imdb\.com/title/(tt[0-9]+)(?:[/?#].*)?")
_IMDB: Final = re.compile(r"(tt)?([0-9]+)")

_KEY_ALIASES: Final = MappingProxyType(
    {namespace.value: namespace for namespace in Namespace}
    | {
        "themoviedb": Namespace.TMDB,
        "thetvdb": Namespace.TVDB,
        "simkl_id": Namespace.SIMKL,
        "myanimelist": Namespace.MAL,
        "ratingkey": Namespace.PLEX_KEY,
    }
)
# Only keys naming an item's own id: "TmdbCollection" is the id of a movie's collection and would
# match a different movie if read as a TMDB movie id.
_PROVIDER_ID_KEYS: Final = MappingProxyType(
    {
        "imdb": Namespace.IMDB,
        "tmdb": Namespace.TMDB,
        "tvdb": Namespace.TVDB,
        "trakt": Namespace.TRAKT,
        "anilist": Namespace.ANILIST,
        "anidb": Namespace.ANIDB,
        "kitsu": Namespace.KITSU,
        "myanimelist": Namespace.MAL,
        "mal": Namespace.MAL,
    }
)

_GUID_SCHEMES: Final = MappingProxyType(
    {"plex": Namespace.PLEX, "imdb": Namespace.IMDB, "tmdb": Namespace.TMDB, "tvdb": Namespace.TVDB}
)
_LEGACY_AGENT_PREFIX: Final = "com.plexapp.agents."
_LEGACY_AGENTS: Final = MappingProxyType(
    {"imdb": Namespace.IMDB, "themoviedb": Namespace.TMDB, "thetvdb": Namespace.TVDB}
)
# HAMA (the anime agent) prefixes the id with its source; "tsdb" is a TMDB series.
_HAMA_SOURCES: Final = MappingProxyType(
    {
        "anidb": Namespace.ANIDB,
        "tvdb": Namespace.TVDB,
        "tmdb": Namespace.TMDB,
        "tsdb": Namespace.TMDB,
        "imdb": Namespace.IMDB,
    }
)
_HAMA_ID: Final = re.compile(r"(?P<source>[a-z]+)(?P<mode>[0-9]?)-(?P<id>.+)")
# Bounded so that a hostile guid cannot push int() past its digit limit (it would raise).
_LEGACY_PATH: Final = re.compile(
    r"(?P<id>[^/]+)(?:/(?P<season>[0-9]{1,9})(?:/(?P<episode>[0-9]{1,9}))?)?"
)


def normalize_id(namespace: Namespace, raw: object) -> str | None:
    """Return one id in canonical form, or None when it is missing, a sentinel or malformed.

    Accepts str and int (and integral floats, which JSON decoders produce); bools are rejected
    because True would otherwise read as id 1.
    """
    # The common shapes first: every id of every row read passes through here. Each returns
    # what the general path below would.
    if type(raw) is int and namespace in NUMERIC_NAMESPACES:
        return str(raw) if raw > 0 else None
    if type(raw) is str and raw.isascii():
        if namespace in NUMERIC_NAMESPACES and raw.isdigit():
            return raw.lstrip("0") or None
        if namespace is Namespace.IMDB and raw.startswith("tt") and raw[2:].isdigit():
            number = raw[2:].lstrip("0")
            return f"tt{number:0>7}" if number else None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        raw = int(raw) if raw.is_integer() else None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if text in SENTINELS:
        return None
    if namespace is Namespace.IMDB:
        return _imdb(text)
    match = _PATTERNS[namespace].fullmatch(text)
    return "".join(match.groups()) if match else None


def _imdb(text: str) -> str | None:
    if url := _IMDB_URL.fullmatch(text):
        text = url.group(1)
    match = _IMDB.fullmatch(text)
    if match is None:
        return None
    prefix, digits = match.groups()
    # Some Plex and Kodi agents drop the "tt"; fewer than 7 digits is more likely a TMDB id.
    if prefix is None and len(digits) < 7:
        return None
    # IMDb pads to 7 digits: "tt133093" and "tt0133093" are one title, so pad rather than compare
    # the digits verbatim.
    number = digits.lstrip("0")
    return f"tt{number:0>7}" if number else None


def normalize_ids(raw: Mapping[str, object]) -> dict[Namespace, str]:
    """Return the ids of a mapping keyed by namespace name, in any casing or common alias.

    Unknown keys and unusable values are dropped; when two keys name one namespace (say "tmdb" and
    "themoviedb"), the first usable value wins.
    """
    # Inlined (not _first_usable(_by_key(...))): every row of every read passes through here.
    found: dict[Namespace, str] = {}
    known = _KEY_ALIASES.get
    for key, value in raw.items():
        namespace = known(key)  # the aliases are normalized: a key found as it is needs nothing
        if namespace is None:
            namespace = known(key.strip().casefold())
            if namespace is None:
                continue
        if namespace not in found and (usable := normalize_id(namespace, value)) is not None:
            found[namespace] = usable
    return _in_order(found)


def parse_provider_ids(provider_ids: Mapping[str, object] | None) -> dict[Namespace, str]:
    """Return the ids in a Jellyfin or Emby `ProviderIds` mapping, whatever the key casing.

    Keys that do not name the item's own id (TmdbCollection, TvRage, Zap2It, MusicBrainz*, ...)
    are ignored.
    """
    if provider_ids is None:
        return {}
    return _first_usable(_by_key(provider_ids, _PROVIDER_ID_KEYS))


@dataclass(frozen=True, slots=True)
class PlexGuid:
    """One id read from a Plex guid.

    Legacy agents put an episode's position in its guid ("thetvdb://121361/1/3"): then `value`
    is the show's id and `season`/`episode` locate the item within it.
    """

    namespace: Namespace
    value: str
    season: int | None = None
    episode: int | None = None


def parse_plex_guid(guid: str | None) -> PlexGuid | None:
    """Return the id in any form of Plex guid, or None for local, unknown or malformed ones.

    Handles the new agent ("plex://movie/<hex>", "imdb://tt...", "tmdb://...", "tvdb://...") and
    the legacy IMDb, TheMovieDB, TheTVDB and HAMA agents ("com.plexapp.agents.<agent>://...").
    Query strings, a trailing slash and the scheme's case are ignored.
    """
    if not guid:
        return None
    scheme, separator, rest = guid.strip().lower().partition("://")
    rest = rest.partition("?")[0].rstrip("/")
    if not separator or not rest:
        return None

    if (namespace := _GUID_SCHEMES.get(scheme)) is not None:
        value = normalize_id(namespace, f"{scheme}://{rest}" if scheme == "plex" else rest)
        return None if value is None else PlexGuid(namespace, value)

    agent = scheme.removeprefix(_LEGACY_AGENT_PREFIX)
    path = _LEGACY_PATH.fullmatch(rest)
    if agent == scheme or path is None:
        return None
    raw_id = path["id"]
    if agent == "hama":
        hama = _HAMA_ID.fullmatch(raw_id)
        # Numbered modes (tvdb4-, anidb2-, ...) renumber seasons and episodes, so the position
        # would point at the wrong episode; the id alone, on a show, is still the real one.
        if hama is None or (hama["mode"] and path["season"]):
            return None
        namespace, raw_id = _HAMA_SOURCES.get(hama["source"]), hama["id"]
    else:
        namespace = _LEGACY_AGENTS.get(agent)
    if namespace is None or (value := normalize_id(namespace, raw_id)) is None:
        return None
    return PlexGuid(namespace, value, _optional_int(path["season"]), _optional_int(path["episode"]))


def plex_guid_ids(guids: Iterable[str]) -> dict[Namespace, str]:
    """Return the ids of a Plex item from its `guid` attribute plus its `Guid` children.

    Only ids of the whole item count: a legacy guid carrying a season or episode names the show,
    which callers look up separately. The first id per namespace wins.
    """
    parsed = (parse_plex_guid(guid) for guid in guids)
    return _first_usable(
        (found.namespace, found.value)
        for found in parsed
        if found is not None and found.season is None and found.episode is None
    )


def _by_key(
    raw: Mapping[str, object], keys: Mapping[str, Namespace]
) -> Iterator[tuple[Namespace, object]]:
    for key, value in raw.items():
        # `keys` holds normalized names, so a key found as it is needs no normalizing.
        namespace = keys.get(key)
        if namespace is None:
            namespace = keys.get(key.strip().casefold())
        if namespace is not None:
            yield namespace, value


_ORDER: Final = MappingProxyType({namespace: rank for rank, namespace in enumerate(Namespace)})


def _first_usable(pairs: Iterable[tuple[Namespace, object]]) -> dict[Namespace, str]:
    found: dict[Namespace, str] = {}
    for namespace, raw in pairs:
        if namespace not in found and (value := normalize_id(namespace, raw)) is not None:
            found[namespace] = value
    return _in_order(found)


def _in_order(found: dict[Namespace, str]) -> dict[Namespace, str]:
    """The ids in `Namespace` order, as every ids dict is returned."""
    if len(found) < 2:
        return found
    return dict(sorted(found.items(), key=lambda pair: _ORDER[pair[0]]))


def _optional_int(digits: str | None) -> int | None:
    return None if digits is None else int(digits)
