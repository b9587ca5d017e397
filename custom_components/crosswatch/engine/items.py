"""Media items and their identity: alias tokens, the canonical key and the weak title key.

Providers disagree about ids: Plex may know a movie by imdb, Jellyfin by tmdb only, AniList by
anilist and mal. An item therefore carries every id it has as a *token*, and two items that share
any strong token are the same item. Tokens are what matching, baselines and the state store key
on; the raw ids can always be read back from them.

Token forms:
- ids unique across media types: ``imdb:tt0133093``, ``anilist:21``, ``plex:5d77...``;
- ids whose numbering restarts per type (tmdb, tvdb, trakt, simkl, slug) carry a scope:
  ``tmdb:movie:603``, ``tmdb:show:1399``, ``tvdb:episode:3254641``;
- episodes and seasons also get tokens built from their show's ids:
  ``tvdb:show:121361#s01e03``, ``imdb:tt0944947#season:1``, so that two providers that
  identify an episode differently (one by its own tvdb id, the other by show id and number)
  still share a token as long as both know the show's ids.

Server-local ids (Plex rating keys, Jellyfin and Emby item ids) are kept apart as *local* tokens:
they match a side against its own history, never one provider against another.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
import re
from types import MappingProxyType
import unicodedata

from .ids import LOCAL_NAMESPACES, Namespace, normalize_ids


class MediaType(StrEnum):
    """What kind of thing an item is."""

    MOVIE = "movie"
    SHOW = "show"
    SEASON = "season"
    EPISODE = "episode"
    ANIME = "anime"


class MatchTier(StrEnum):
    """How sure a match between two items is."""

    STRONG = "strong"  # a shared external-id token
    WEAK = "weak"  # type, normalized title and year only: never enough to remove anything
    NONE = "none"


# Namespaces whose numbers restart per media type: tmdb movie 603 is not tmdb show 603.
_TYPE_SCOPED = frozenset(
    {Namespace.TMDB, Namespace.TVDB, Namespace.TRAKT, Namespace.SIMKL, Namespace.SLUG}
)

# The canonical key is the first token in this order: widely shared, stable ids first.
CANONICAL_PRIORITY: tuple[Namespace, ...] = (
    Namespace.IMDB,
    Namespace.TMDB,
    Namespace.TVDB,
    Namespace.TRAKT,
    Namespace.SIMKL,
    Namespace.ANILIST,
    Namespace.MAL,
    Namespace.KITSU,
    Namespace.ANIDB,
    Namespace.SLUG,
    Namespace.PLEX,
    Namespace.PLEX_KEY,
    Namespace.JELLYFIN,
    Namespace.EMBY,
)
_PRIORITY_RANK = {namespace: rank for rank, namespace in enumerate(CANONICAL_PRIORITY)}
_RANK_OF = _PRIORITY_RANK.__getitem__

# Anime series live in the same id spaces as shows (tvdb/tmdb tv); anime films are movies.
_SCOPE = {
    MediaType.MOVIE: "movie",
    MediaType.SHOW: "show",
    MediaType.ANIME: "show",
    MediaType.SEASON: "season",
    MediaType.EPISODE: "episode",
}
_NUMBERED = (MediaType.SEASON, MediaType.EPISODE)
_EMPTY: tuple[str, ...] = ()
_NOT_WORD = re.compile(r"[^\w]+")
_LEADING_ARTICLE = re.compile(r"^(the|a|an) ")


def token(namespace: Namespace, value: str, media_type: MediaType) -> str:
    """The alias token for one normalized id of an item of `media_type`."""
    if namespace in _TYPE_SCOPED:
        return f"{namespace}:{_SCOPE[media_type]}:{value}"
    return f"{namespace}:{value}"


# Each namespace's token prefix per media type ("tmdb:movie:", "imdb:"): `token` without the
# formatting, for the hot path of MediaItem.create.
_PREFIXES: Mapping[MediaType, Mapping[Namespace, str]] = MappingProxyType(
    {
        media_type: MappingProxyType(
            {namespace: token(namespace, "", media_type) for namespace in Namespace}
        )
        for media_type in MediaType
    }
)


def normalize_title(title: str) -> str:
    """A title reduced to what survives every provider's spelling of it."""
    text = title.casefold().replace("&", " and ")
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    text = " ".join(_NOT_WORD.sub(" ", text).split())
    # "Matrix, The" and "The Matrix" are the same title.
    if text.endswith((" the", " a", " an")):
        head, _, article = text.rpartition(" ")
        text = f"{article} {head}"
    return _LEADING_ARTICLE.sub("", text)


def _numbering(season: int | None, episode: int | None) -> str:
    if episode is not None:
        return f"#s{season or 0:02d}e{episode:02d}"
    return f"#season:{season}"


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One movie, show, season, episode or anime, as one provider describes it.

    Build items with `MediaItem.create`, which normalizes ids and derives the tokens and the
    canonical key. For seasons and episodes, `title` and `year` are the show's.
    """

    type: MediaType
    title: str | None
    year: int | None
    season: int | None
    episode: int | None
    tokens: tuple[str, ...]  # external-id tokens, strongest first
    local_tokens: tuple[str, ...]  # server-local id tokens
    key: str  # the canonical key: the first token, else the weak title key

    @classmethod
    def create(
        cls,
        media_type: MediaType,
        *,
        title: str | None = None,
        year: int | None = None,
        ids: Mapping[str, object] | None = None,
        show_ids: Mapping[str, object] | None = None,
        season: int | None = None,
        episode: int | None = None,
    ) -> MediaItem:
        """Build an item from raw ids (any casing; sentinels and malformed values dropped)."""
        if media_type in (MediaType.SEASON, MediaType.EPISODE) and season is None:
            raise ValueError(f"a {media_type} needs its season number")
        if media_type is MediaType.EPISODE and episode is None:
            raise ValueError("an episode needs its episode number")
        own = normalize_ids(ids) if ids else {}
        show = normalize_ids(show_ids) if show_ids and media_type in _NUMBERED else {}
        if show:
            tokens, local_tokens = _numbered_tokens(media_type, own, show, season, episode)
        else:  # every movie and show of every read: kept lean
            strong: list[str] = []
            local: list[str] = []
            prefixes = _PREFIXES[media_type]
            for namespace in sorted(own, key=_RANK_OF) if len(own) > 1 else own:
                bucket = local if namespace in LOCAL_NAMESPACES else strong
                bucket.append(prefixes[namespace] + own[namespace])
            tokens = tuple(strong) if strong else _EMPTY
            local_tokens = tuple(local) if local else _EMPTY
        clean_title = (title.strip() or None) if title else None
        if not tokens and not local_tokens and clean_title is None:
            raise ValueError("an item needs at least one id or a title")
        season = season if media_type in _NUMBERED else None
        episode = episode if media_type is MediaType.EPISODE else None
        year = _shared_year(year)
        if tokens:
            key = tokens[0]
        elif local_tokens:
            key = local_tokens[0]
        else:
            key = title_key(media_type, clean_title, year, season, episode)
        # Positional: a frozen dataclass takes keywords at twice the cost, on every row read.
        return cls(media_type, clean_title, year, season, episode, tokens, local_tokens, key)

    @classmethod
    def from_tokens(
        cls,
        media_type: MediaType,
        *,
        title: str | None,
        year: int | None,
        season: int | None,
        episode: int | None,
        tokens: tuple[str, ...],
        local_tokens: tuple[str, ...],
    ) -> MediaItem:
        """Rebuild an item from tokens that are already normalized (e.g. from the state store)."""
        strong, local = _by_priority(set(tokens)), _by_priority(set(local_tokens))
        fallback = title_key(media_type, title, year, season, episode)
        return cls(
            type=media_type,
            title=title,
            year=_shared_year(year),
            season=season,
            episode=episode,
            tokens=strong,
            local_tokens=local,
            key=(strong or local or (fallback,))[0],
        )

    def merged(self, other: MediaItem) -> MediaItem:
        """This item with the other copy's ids added; this copy's title and year win."""
        tokens = _by_priority({*self.tokens, *other.tokens})
        local_tokens = _by_priority({*self.local_tokens, *other.local_tokens})
        if tokens == self.tokens and local_tokens == self.local_tokens:
            return self
        return MediaItem.from_tokens(
            self.type,
            title=self.title or other.title,
            year=self.year or other.year,
            season=self.season,
            episode=self.episode,
            tokens=tokens,
            local_tokens=local_tokens,
        )

    @property
    def has_external_ids(self) -> bool:
        """Whether any other provider could recognize this item."""
        return bool(self.tokens)

    def ids(self) -> dict[str, str]:
        """The item's own ids by namespace, read back from its tokens."""
        return _ids_from(t for t in (*self.tokens, *self.local_tokens) if "#" not in t)

    def show_ids(self) -> dict[str, str]:
        """For seasons and episodes: the show's ids, read back from the derived tokens."""
        return _ids_from(
            t.partition("#")[0] for t in (*self.tokens, *self.local_tokens) if "#" in t
        )

    def label(self) -> str:
        """How the item reads in a plan: 'The Matrix (1999)', 'Dark (2017) S01E03'."""
        name = self.title or self.key
        if self.year:
            name = f"{name} ({self.year})"
        if self.type is MediaType.EPISODE:
            return f"{name} S{self.season or 0:02d}E{self.episode or 0:02d}"
        if self.type is MediaType.SEASON:
            return f"{name} season {self.season}"
        return name


# One int object per plausible year, shared by every item: a million items otherwise carry a
# million copies of a few hundred values (28 bytes each).
_FIRST_YEAR = 1870
_YEARS: tuple[int, ...] = tuple(range(_FIRST_YEAR, 2200))


def _numbered_tokens(
    media_type: MediaType,
    own: Mapping[Namespace, str],
    show: Mapping[Namespace, str],
    season: int | None,
    episode: int | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A season's or episode's tokens: (strong, local), each strongest first."""
    suffix = _numbering(season, episode)
    strong: list[tuple[int, str]] = []
    local: list[tuple[int, str]] = []
    # Show-derived tokens rank before the episode's own ids: far more providers know them.
    for namespace, value in show.items():
        bucket = local if namespace in LOCAL_NAMESPACES else strong
        bucket.append((_PRIORITY_RANK[namespace], token(namespace, value, MediaType.SHOW) + suffix))
    offset = len(CANONICAL_PRIORITY)
    for namespace, value in own.items():
        bucket = local if namespace in LOCAL_NAMESPACES else strong
        bucket.append((offset + _PRIORITY_RANK[namespace], token(namespace, value, media_type)))
    return (
        tuple(t for _, t in sorted(strong)) or _EMPTY,
        tuple(t for _, t in sorted(local)) or _EMPTY,
    )


def _shared_year(year: int | None) -> int | None:
    if not year:
        return None
    offset = year - _FIRST_YEAR
    return _YEARS[offset] if 0 <= offset < len(_YEARS) else year


def _token_rank(text: str) -> tuple[int, str]:
    """Sort order of a token: show-derived before own ids, then canonical priority."""
    own = "#" not in text
    return (own * len(CANONICAL_PRIORITY) + _PRIORITY_RANK[Namespace(text.partition(":")[0])], text)


def _by_priority(tokens: set[str]) -> tuple[str, ...]:
    return tuple(sorted(tokens, key=_token_rank)) or _EMPTY


def _ids_from(tokens: Iterable[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for text in tokens:
        namespace, _, rest = text.partition(":")
        value = rest.rpartition(":")[2] if Namespace(namespace) in _TYPE_SCOPED else rest
        result.setdefault(namespace, value)
    return result


def title_key(
    media_type: MediaType,
    title: str | None,
    year: int | None,
    season: int | None = None,
    episode: int | None = None,
) -> str:
    """The weak identity of an item: type family, normalized title and year (and numbering)."""
    scope = "show" if media_type in _NUMBERED else _SCOPE[media_type]
    key = f"~{scope}:{normalize_title(title) if title else ''}:{year or ''}"
    if media_type in _NUMBERED:
        key += _numbering(season, episode)
    return key


def weak_key(item: MediaItem) -> str:
    """The weak title key of an item, whatever ids it has."""
    return title_key(item.type, item.title, item.year, item.season, item.episode)
