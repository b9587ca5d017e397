"""One catalogue every simulator knows by the same ids: films for most pairs, anime for AniList.

The titles and ids are the demo world's (tests/demo/world.py), so every service names a title by
the ids the real services would use. Each simulator gets its own numbering from the position:
Trakt id = position + 1, SIMKL id = 100 000 + position (anime: 300 000 + position).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from custom_components.crosswatch.engine.items import MediaItem
from tests.demo.world import ANIME, FILMS, SIMKL_WITHOUT_ANILIST, Anime, Film

# 60 films: scenario (b) reads 60 from Plex; the state machine uses the first MACHINE_TITLES.
CATALOGUE_FILMS: Final[tuple[Film, ...]] = FILMS[:60]
# Anime series that SIMKL knows by their AniList id, as AniList ⇄ SIMKL needs.
CATALOGUE_ANIME: Final[tuple[Anime, ...]] = tuple(
    a for a in ANIME if a.format == "TV" and a.mal not in SIMKL_WITHOUT_ANILIST
)[:12]
MACHINE_TITLES: Final = 12  # titles per side in the state machine: every step stays fast


def trakt_id(index: int) -> int:
    return index + 1


def simkl_film_id(index: int) -> int:
    return 100_000 + index


def simkl_anime_id(index: int) -> int:
    return 300_000 + index


@dataclass(frozen=True, slots=True)
class Lookup:
    """Engine items back to catalogue positions, by any id the catalogue gave them."""

    by_token: Mapping[tuple[str, str], int]

    def index(self, item: MediaItem) -> int | None:
        """The catalogue position of `item`, or None for an item outside the catalogue."""
        for namespace, value in item.ids().items():
            found = self.by_token.get((str(namespace), str(value)))
            if found is not None:
                return found
        return None


FILM_LOOKUP: Final = Lookup(
    {("imdb", f.imdb): i for i, f in enumerate(CATALOGUE_FILMS)}
    | {("tmdb", str(f.tmdb)): i for i, f in enumerate(CATALOGUE_FILMS)}
)
ANIME_LOOKUP: Final = Lookup(
    {("anilist", str(a.anilist)): i for i, a in enumerate(CATALOGUE_ANIME)}
    | {("mal", str(a.mal)): i for i, a in enumerate(CATALOGUE_ANIME)}
)
