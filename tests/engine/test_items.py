"""Items, alias tokens, canonical keys and weak title keys."""

import pytest

from custom_components.crosswatch.engine.items import (
    MediaItem,
    MediaType,
    normalize_title,
    title_key,
    weak_key,
)

from .factories import episode, movie, show


def test_every_strong_id_yields_a_token_and_the_key_follows_the_priority() -> None:
    matrix = movie("The Matrix", 1999, tmdb=603, imdb="tt0133093", trakt=481)

    assert matrix.tokens == ("imdb:tt0133093", "tmdb:movie:603", "trakt:movie:481")
    assert matrix.key == "imdb:tt0133093"


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        ({"imdb": "tt0133093", "tmdb": 603}, "imdb:tt0133093"),
        ({"tmdb": 603, "tvdb": 169}, "tmdb:movie:603"),
        ({"tvdb": 169, "trakt": 481}, "tvdb:movie:169"),
        ({"trakt": 481, "simkl": 53536}, "trakt:movie:481"),
        ({"simkl": 53536, "anilist": 1}, "simkl:movie:53536"),
        ({"anilist": 1, "mal": 1}, "anilist:1"),
        ({"mal": 1, "kitsu": 1}, "mal:1"),
        ({"kitsu": 1, "anidb": 1}, "kitsu:1"),
        ({"anidb": 1, "slug": "the-matrix-1999"}, "anidb:1"),
        ({"slug": "the-matrix-1999", "plex": "5d776825880197001ec967c5"}, "slug:movie:the-matrix-1999"),
        ({"plex": "5d776825880197001ec967c5", "plex_key": 12}, "plex:5d776825880197001ec967c5"),
        ({"plex_key": 12, "jellyfin": "6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"}, "plex_key:12"),
        ({"jellyfin": "6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e", "emby": 7}, "jellyfin:6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"),
        ({"emby": 7}, "emby:7"),
        ({}, "~movie:matrix:1999"),
    ],
)  # fmt: skip
def test_canonical_key_priority(ids: dict[str, object], key: str) -> None:
    assert movie("The Matrix", 1999, **ids).key == key


def test_tmdb_ids_of_a_movie_and_a_show_never_collide() -> None:
    assert set(movie("A", tmdb=603).tokens).isdisjoint(show("B", tmdb=603).tokens)


def test_anime_series_share_the_show_id_space() -> None:
    anime = MediaItem.create(MediaType.ANIME, title="Cowboy Bebop", ids={"tvdb": 76885})

    assert "tvdb:show:76885" in anime.tokens
    assert "tvdb:show:76885" in show("Cowboy Bebop", tvdb=76885).tokens


def test_server_local_ids_are_kept_apart_from_external_ids() -> None:
    item = movie("Heat", 1995, jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e", tmdb=949)

    assert item.tokens == ("tmdb:movie:949",)
    assert item.local_tokens == ("jellyfin:6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e",)
    assert item.has_external_ids


def test_an_item_with_only_local_ids_has_no_external_ids() -> None:
    item = movie("Heat", 1995, jellyfin="6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e")

    assert not item.has_external_ids
    assert item.key == "jellyfin:6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"


def test_episode_tokens_come_from_the_show_ids_and_the_numbering() -> None:
    item = episode("Dark", 1, 3, show_ids={"tvdb": 334824, "imdb": "tt5753856"}, tvdb=6336917)

    assert item.tokens == (
        "imdb:tt5753856#s01e03",
        "tvdb:show:334824#s01e03",
        "tvdb:episode:6336917",
    )
    assert item.show_ids() == {"imdb": "tt5753856", "tvdb": "334824"}
    assert item.ids() == {"tvdb": "6336917"}


def test_season_tokens_carry_the_season_number() -> None:
    item = MediaItem.create(MediaType.SEASON, title="Dark", show_ids={"tmdb": 70523}, season=2)

    assert item.tokens == ("tmdb:show:70523#season:2",)
    assert item.label() == "Dark season 2"


def test_sentinel_ids_are_dropped_before_they_can_collide() -> None:
    first = movie("One", imdb="null", tmdb=0, tvdb="unknown")
    second = movie("Two", imdb="none", tmdb="", trakt="0")

    assert first.tokens == second.tokens == ()
    assert first.key != second.key


def test_an_item_needs_an_id_or_a_title() -> None:
    with pytest.raises(ValueError, match="id or a title"):
        movie(None, tmdb=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"media_type": MediaType.EPISODE, "episode": 3}, "season number"),
        ({"media_type": MediaType.EPISODE, "season": 1}, "episode number"),
        ({"media_type": MediaType.SEASON}, "season number"),
    ],
)
def test_numbered_items_need_their_numbers(kwargs: dict[str, object], message: str) -> None:
    media_type = kwargs.pop("media_type")
    assert isinstance(media_type, MediaType)
    with pytest.raises(ValueError, match=message):
        MediaItem.create(media_type, title="Dark", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("The Matrix", "Matrix, The"),
        ("Amélie", "Amelie"),
        ("Mr. & Mrs. Smith", "mr and mrs smith"),
        ("Spider-Man: No Way Home", "Spider Man No Way Home"),
        ("  WALL·E ", "wall e"),
    ],
)
def test_normalized_titles_survive_every_spelling(left: str, right: str) -> None:
    assert normalize_title(left) == normalize_title(right)


def test_weak_keys_use_type_family_title_and_year() -> None:
    assert weak_key(movie("The Matrix", 1999, imdb="tt0133093")) == "~movie:matrix:1999"
    assert weak_key(show("Dark", 2017)) == "~show:dark:2017"
    assert weak_key(episode("Dark", 1, 3, year=2017)) == "~show:dark:2017#s01e03"
    assert title_key(MediaType.MOVIE, "Heat", None) == "~movie:heat:"


def test_labels_read_well_in_a_plan() -> None:
    assert movie("The Matrix", 1999).label() == "The Matrix (1999)"
    assert episode("Dark", 1, 3, year=2017).label() == "Dark (2017) S01E03"
    assert movie(None, imdb="tt0133093").label() == "imdb:tt0133093"
