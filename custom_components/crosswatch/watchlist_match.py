"""The watchlist to-do list's pure parts: what a typed title asks for, which hit it means.

No Home Assistant here: the to-do platform (todo.py) searches the service, this module picks.
- "Dune 2021" and "Dune (2021)" ask for Dune of 2021; "1917" and "Blade Runner 2049" are
  titles, since a year stands only after a title and only when a film could be of it.
- Of the service's hits, a title that is exactly the text wins; then one that is exactly the
  title of the asked year (when a year was asked, only titles of that year count); then the
  service's own order (its relevance and popularity).
"""

from collections.abc import Sequence
from dataclasses import dataclass
import re

from .engine.items import MediaItem, MediaType, normalize_title

# A year after a title: "Dune 2021", "Dune (2021)", "Dune, 2021", "Dune [2021]".
_TRAILING_YEAR = re.compile(r"^(?P<title>.*\S)[\s,]+[(\[]?(?P<year>\d{4})[)\]]?$")
_FIRST_FILM_YEAR = 1870
_LISTABLE = frozenset({MediaType.MOVIE, MediaType.SHOW, MediaType.ANIME})


@dataclass(frozen=True, slots=True)
class TitleRequest:
    """What a typed or spoken title asks for: the text, its title, and a year if it names one."""

    text: str
    title: str
    year: int | None = None


def parse_request(text: str, *, this_year: int) -> TitleRequest:
    """Read a trailing release year off `text`, when it can be one (up to five years ahead)."""
    clean = " ".join(text.split())
    found = _TRAILING_YEAR.match(clean)
    latest = this_year + 5
    if found is not None and _FIRST_FILM_YEAR <= int(found["year"]) <= latest:
        return TitleRequest(clean, found["title"].rstrip(" ,"), int(found["year"]))
    return TitleRequest(clean, clean)


def best_match(found: Sequence[MediaItem], request: TitleRequest) -> MediaItem | None:
    """The hit `request` most likely means, or None when none fits (see the module's notes)."""
    listable = [item for item in found if item.type in _LISTABLE and item.title]
    whole = normalize_title(request.text)
    for item in listable:
        if normalize_title(item.title or "") == whole:
            return item  # "1917", "Space 1999": the text is the title
    if request.year is not None:
        listable = [item for item in listable if item.year == request.year]
    wanted = normalize_title(request.title)
    exact = [item for item in listable if normalize_title(item.title or "") == wanted]
    return next(iter(exact or listable), None)


def link(service: str, item: MediaItem) -> str | None:
    """Where the item is on `service` (an account kind), else on IMDb or TMDB; None if nowhere."""
    ids = item.show_ids() if item.type in (MediaType.SEASON, MediaType.EPISODE) else item.ids()
    shown_as_show = item.type is not MediaType.MOVIE
    match service:
        case "trakt" if (trakt := ids.get("slug") or ids.get("trakt")) is not None:
            return f"https://trakt.tv/{'shows' if shown_as_show else 'movies'}/{trakt}"
        case "simkl" if (simkl := ids.get("simkl")) is not None:
            section = "tv" if shown_as_show else "movies"
            if item.type is MediaType.ANIME:
                section = "anime"
            return f"https://simkl.com/{section}/{simkl}"
        case "anilist" if (anilist := ids.get("anilist")) is not None:
            return f"https://anilist.co/anime/{anilist}"
    if (imdb := ids.get("imdb")) is not None:
        return f"https://www.imdb.com/title/{imdb}/"
    if (tmdb := ids.get("tmdb")) is not None:
        return f"https://www.themoviedb.org/{'tv' if shown_as_show else 'movie'}/{tmdb}"
    return None
