"""What a typed title asks for, which search hit it means, and where a listed item links."""

import pytest

from custom_components.crosswatch.engine.items import MediaItem, MediaType
from custom_components.crosswatch.watchlist_match import (
    TitleRequest,
    best_match,
    link,
    parse_request,
)


def movie(title: str, year: int | None, **ids: object) -> MediaItem:
    return MediaItem.create(MediaType.MOVIE, title=title, year=year, ids=ids or None)


def show(title: str, year: int | None, **ids: object) -> MediaItem:
    return MediaItem.create(MediaType.SHOW, title=title, year=year, ids=ids or None)


@pytest.mark.parametrize(
    ("text", "title", "year"),
    [
        ("Dune 2021", "Dune", 2021),
        ("Dune (2021)", "Dune", 2021),
        ("Dune [2021]", "Dune", 2021),
        ("Dune, 2021", "Dune", 2021),
        ("  Dune   (2021) ", "Dune", 2021),
        ("Dune", "Dune", None),
        ("1917", "1917", None),  # a year alone is a title
        ("Blade Runner 2049", "Blade Runner 2049", None),  # no film is of a year that far ahead
        ("Metropolis 1869", "Metropolis 1869", None),  # nor of one before films
        ("Babylon 5", "Babylon 5", None),
    ],
)
def test_a_trailing_year_is_read_off_only_when_a_film_could_be_of_it(
    text: str, title: str, year: int | None
) -> None:
    request = parse_request(text, this_year=2026)

    assert (request.title, request.year) == (title, year)


def test_the_title_that_is_the_whole_text_wins_even_with_a_year_like_ending() -> None:
    space = show("Space: 1999", 1975, tvdb=1)
    found = [show("Space Cowboys", 2000, tvdb=2), space]

    assert best_match(found, parse_request("Space 1999", this_year=2026)) is space


def test_an_exact_title_beats_the_services_first_hit() -> None:
    sequel, original = movie("John Wick: Chapter 2", 2017, tmdb=1), movie("John Wick", 2014, tmdb=2)

    assert best_match([sequel, original], TitleRequest("john wick", "john wick")) is original


def test_of_several_exact_titles_the_service_order_decides() -> None:
    older, newer = movie("Dune", 1984, tmdb=1), movie("Dune", 2021, tmdb=2)

    assert best_match([older, newer], TitleRequest("Dune", "Dune")) is older


def test_a_year_keeps_only_titles_of_that_year() -> None:
    older, newer = movie("Dune", 1984, tmdb=1), movie("Dune", 2021, tmdb=2)

    assert best_match([older, newer], TitleRequest("Dune 2021", "Dune", 2021)) is newer
    assert best_match([older, newer], TitleRequest("Dune 1999", "Dune", 1999)) is None


def test_without_an_exact_title_the_services_first_hit_is_taken() -> None:
    first, second = movie("Dune: Part Two", 2024, tmdb=3), movie("Dune: Part One", 2021, tmdb=2)

    assert best_match([first, second], TitleRequest("dune part", "dune part")) is first


def test_nothing_found_and_untitled_or_unlistable_hits_match_nothing() -> None:
    untitled = MediaItem.create(MediaType.MOVIE, ids={"tmdb": 1})
    episode = MediaItem.create(
        MediaType.EPISODE, title="Dune", year=2021, ids={"tvdb": 9}, season=1, episode=1
    )

    assert best_match([], TitleRequest("Dune", "Dune")) is None
    assert best_match([untitled, episode], TitleRequest("Dune", "Dune")) is None


@pytest.mark.parametrize(
    ("service", "item", "url"),
    [
        (
            "trakt",
            movie("Dune", 2021, slug="dune-2021", trakt=4),
            "https://trakt.tv/movies/dune-2021",
        ),
        ("trakt", show("Dark", 2017, trakt=10), "https://trakt.tv/shows/10"),
        ("simkl", movie("Heat", 1995, simkl=102), "https://simkl.com/movies/102"),
        ("simkl", show("Dark", 2017, simkl=200), "https://simkl.com/tv/200"),
        (
            "simkl",
            MediaItem.create(MediaType.ANIME, title="Bebop", ids={"simkl": 7}),
            "https://simkl.com/anime/7",
        ),
        (
            "anilist",
            MediaItem.create(MediaType.ANIME, title="Bebop", ids={"anilist": 1}),
            "https://anilist.co/anime/1",
        ),
        ("plex", movie("Heat", 1995, imdb="tt0113277"), "https://www.imdb.com/title/tt0113277/"),
        ("trakt", movie("Heat", 1995, tmdb=949), "https://www.themoviedb.org/movie/949"),
        ("jellyfin", show("Dark", 2017, tmdb=70523), "https://www.themoviedb.org/tv/70523"),
        ("emby", movie("Heat", 1995), None),
    ],
)
def test_an_item_links_to_the_service_else_to_imdb_or_tmdb(
    service: str, item: MediaItem, url: str | None
) -> None:
    assert link(service, item) == url


def test_an_episode_links_to_its_show() -> None:
    episode = MediaItem.create(
        MediaType.EPISODE,
        title="Dark",
        year=2017,
        ids={"tvdb": 5000101},
        show_ids={"slug": "dark", "trakt": 10},
        season=1,
        episode=1,
    )

    assert link("trakt", episode) == "https://trakt.tv/shows/dark"
