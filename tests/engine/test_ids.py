"""Ids reach one canonical form whichever provider, agent or casing they come from."""

import pytest

from custom_components.crosswatch.engine.ids import (
    LOCAL_NAMESPACES,
    NUMERIC_NAMESPACES,
    SENTINELS,
    Namespace,
    PlexGuid,
    normalize_id,
    normalize_ids,
    parse_plex_guid,
    parse_provider_ids,
    plex_guid_ids,
)

PLEX_HEX = "5d776825880197001ec967c5"
JELLYFIN_HEX = "6c1f0e6c7e3a4e0b9c2d8f1a2b3c4d5e"
JELLYFIN_GUID = "6C1F0E6C-7E3A-4E0B-9C2D-8F1A2B3C4D5E"

# One usable id per namespace, already canonical: a namespace added without a rule fails here.
CANONICAL_SAMPLES = {
    Namespace.IMDB: "tt0133093",
    Namespace.TMDB: "603",
    Namespace.TVDB: "121361",
    Namespace.TRAKT: "481",
    Namespace.SLUG: "the-matrix-1999",
    Namespace.SIMKL: "53536",
    Namespace.ANILIST: "21",
    Namespace.MAL: "5114",
    Namespace.KITSU: "12",
    Namespace.ANIDB: "69",
    Namespace.PLEX: PLEX_HEX,
    Namespace.PLEX_KEY: "12345",
    Namespace.JELLYFIN: JELLYFIN_HEX,
    Namespace.EMBY: "987",
}


def test_every_namespace_has_a_rule_and_canonical_ids_pass_through_unchanged() -> None:
    assert set(CANONICAL_SAMPLES) == set(Namespace)
    for namespace, value in CANONICAL_SAMPLES.items():
        assert normalize_id(namespace, value) == value
        assert normalize_id(namespace, f"  {value}\n") == value


def test_server_local_namespaces_are_exactly_the_media_server_item_ids() -> None:
    assert {Namespace.PLEX_KEY, Namespace.JELLYFIN, Namespace.EMBY} == LOCAL_NAMESPACES
    assert Namespace.PLEX not in LOCAL_NAMESPACES


@pytest.mark.parametrize("namespace", list(Namespace))
@pytest.mark.parametrize(
    "raw", [*sorted(SENTINELS), " NULL ", "None", "N/A", "Undefined", "NaN", "  ", "\t-1 "]
)
def test_sentinels_mean_no_id_in_every_namespace_and_any_casing(
    namespace: Namespace, raw: str
) -> None:
    assert normalize_id(namespace, raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (603, "603"),
        (603.0, "603"),
        (True, None),
        (False, None),
        (603.5, None),
        (float("nan"), None),
        (float("inf"), None),
        (0.0, None),
        (-1, None),
        (-603, None),
        (None, None),
        (b"603", None),
        (["603"], None),
    ],
)
def test_only_strings_ints_and_integral_floats_are_read_as_ids(
    raw: object, expected: str | None
) -> None:
    assert normalize_id(Namespace.TMDB, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tt0133093", "tt0133093"),
        ("TT0133093", "tt0133093"),
        (" tt0133093 ", "tt0133093"),
        ("tt10872600", "tt10872600"),
        ("0133093", "tt0133093"),
        ("10872600", "tt10872600"),
        (133093, None),
        ("tt133093", "tt0133093"),
        ("tt00133093", "tt0133093"),
        ("https://www.imdb.com/title/tt0133093/", "tt0133093"),
        ("http://imdb.com/title/tt0133093", "tt0133093"),
        ("https://m.imdb.com/title/TT0133093/?ref_=nv_sr_1", "tt0133093"),
        ("https://www.imdb.com/title/tt0133093/reviews", "tt0133093"),
        ("603", None),
        ("133093", None),
        ("tt", None),
        ("tt0000000", None),
        ("nm0000206", None),
        ("tt0133093x", None),
        ("tt 0133093", None),
        ("https://www.imdb.com/name/nm0000206/", None),
        ("https://example.com/title/tt0133093/", None),
        ("https://www.imdb.com/title/0133093/", None),
        ("imdb://tt0133093", None),
    ],
)
def test_imdb_ids_are_lowercase_tt_with_seven_digits_at_least(
    raw: object, expected: str | None
) -> None:
    assert normalize_id(Namespace.IMDB, raw) == expected


@pytest.mark.parametrize("namespace", sorted(NUMERIC_NAMESPACES))
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("603", "603"),
        ("00603", "603"),
        (603, "603"),
        ("10", "10"),
        ("000", None),
        ("6O3", None),
        ("603a", None),
        ("+603", None),
        ("6 03", None),
        ("60.3", None),
        ("٦٠٣", None),  # Arabic-Indic digits pass str.isdigit() but are not ids
        ("tt0133093", None),
    ],
)
def test_numeric_ids_are_ascii_digits_without_leading_zeros(
    namespace: Namespace, raw: object, expected: str | None
) -> None:
    assert normalize_id(namespace, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("the-matrix-1999", "the-matrix-1999"),
        ("The-Matrix-1999", "the-matrix-1999"),
        ("matrix", "matrix"),
        ("1917", "1917"),
        ("the--matrix", None),
        ("-the-matrix", None),
        ("the-matrix-", None),
        ("the matrix", None),
        ("the_matrix", None),
        ("amélie-2001", None),
    ],
)
def test_trakt_slugs_are_lowercase_words_joined_by_single_dashes(
    raw: str, expected: str | None
) -> None:
    assert normalize_id(Namespace.SLUG, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PLEX_HEX, PLEX_HEX),
        (PLEX_HEX.upper(), PLEX_HEX),
        (f"plex://movie/{PLEX_HEX}", PLEX_HEX),
        (f"plex://episode/{PLEX_HEX}/", PLEX_HEX),
        (PLEX_HEX[:-1], None),
        (f"{PLEX_HEX}0", None),
        ("5d776825880197001ec967cg", None),
        (f"plex://{PLEX_HEX}", None),
        (f"local://movie/{PLEX_HEX}", None),
        ("12345", None),
    ],
)
def test_plex_agent_ids_are_24_lowercase_hex_digits(raw: str, expected: str | None) -> None:
    assert normalize_id(Namespace.PLEX, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (JELLYFIN_HEX, JELLYFIN_HEX),
        (JELLYFIN_HEX.upper(), JELLYFIN_HEX),
        (JELLYFIN_GUID, JELLYFIN_HEX),
        (JELLYFIN_GUID.lower(), JELLYFIN_HEX),
        (JELLYFIN_HEX[:-1], None),
        (f"{JELLYFIN_HEX}0", None),
        (f"{{{JELLYFIN_GUID}}}", None),
        ("6c1f0e6c-7e3a-4e0b-9c2d-8f1a2b3c4d5z", None),
        ("12345", None),
    ],
)
def test_jellyfin_item_ids_are_32_hex_digits_with_or_without_guid_dashes(
    raw: str, expected: str | None
) -> None:
    assert normalize_id(Namespace.JELLYFIN, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"imdb": "tt0133093", "tmdb": 603}, {"imdb": "tt0133093", "tmdb": "603"}),
        ({"IMDB": "TT0133093", "TheMovieDB": "603"}, {"imdb": "tt0133093", "tmdb": "603"}),
        ({"thetvdb": "121361", " Trakt ": 481}, {"tvdb": "121361", "trakt": "481"}),
        ({"simkl_id": 53536, "MyAnimeList": "5114"}, {"simkl": "53536", "mal": "5114"}),
        (
            {"ratingKey": "12345", "plex": f"plex://movie/{PLEX_HEX}"},
            {"plex": PLEX_HEX, "plex_key": "12345"},
        ),
        (
            {"jellyfin": JELLYFIN_GUID, "emby": 987, "slug": "The-Matrix-1999"},
            {"slug": "the-matrix-1999", "jellyfin": JELLYFIN_HEX, "emby": "987"},
        ),
        (
            {"anilist": 21, "kitsu": "12", "anidb": "69"},
            {"anilist": "21", "kitsu": "12", "anidb": "69"},
        ),
        ({"guid": "plex://movie/x", "tvrage": "123", "title": "The Matrix"}, {}),
        ({"imdb": None, "tmdb": "0", "tvdb": "null", "trakt": True}, {}),
        ({}, {}),
    ],
)
def test_id_mappings_are_read_by_namespace_name_or_alias_in_any_casing(
    raw: dict[str, object], expected: dict[str, str]
) -> None:
    assert normalize_ids(raw) == expected


def test_the_first_usable_value_wins_when_two_keys_name_one_namespace() -> None:
    assert normalize_ids({"tmdb": "null", "themoviedb": "603", "TMDB": "604"}) == {
        Namespace.TMDB: "603"
    }


def test_id_mappings_come_back_in_namespace_order_whatever_the_input_order() -> None:
    ids = normalize_ids({"emby": "9", "slug": "x", "imdb": "tt0133093", "anidb": "69", "tmdb": 1})
    assert list(ids) == [
        Namespace.IMDB,
        Namespace.TMDB,
        Namespace.SLUG,
        Namespace.ANIDB,
        Namespace.EMBY,
    ]


@pytest.mark.parametrize(
    ("provider_ids", "expected"),
    [
        ({"Imdb": "tt0133093", "Tmdb": "603"}, {"imdb": "tt0133093", "tmdb": "603"}),
        (
            {"IMDB": "tt0133093", "TMDB": "603", "TVDB": "121361"},
            {"imdb": "tt0133093", "tmdb": "603", "tvdb": "121361"},
        ),
        (
            {"imdb": "tt0133093", "tmdb": "603", "tvdb": "121361"},
            {"imdb": "tt0133093", "tmdb": "603", "tvdb": "121361"},
        ),
        (
            {"AniList": "21", "AniDB": "69", "Kitsu": "12", "MyAnimeList": "5114"},
            {"anilist": "21", "mal": "5114", "kitsu": "12", "anidb": "69"},
        ),
        ({"Trakt": "481"}, {"trakt": "481"}),
        ({"Imdb": "", "Tmdb": "0", "Tvdb": None}, {}),
        ({"TvRage": "123", "Zap2It": "EP0123", "MusicBrainzAlbum": "f5093c06-23e3"}, {}),
        ({"Jellyfin": JELLYFIN_HEX, "Emby": "987", "Plex": PLEX_HEX, "Slug": "matrix"}, {}),
        ({}, {}),
        (None, {}),
    ],
)
def test_jellyfin_and_emby_provider_ids_are_read_in_any_key_casing(
    provider_ids: dict[str, object] | None, expected: dict[str, str]
) -> None:
    assert parse_provider_ids(provider_ids) == expected


@pytest.mark.parametrize(
    "provider_ids",
    [
        {"TmdbCollection": "2344"},
        {"TmdbCollection": "2344", "Imdb": "tt0133093"},
        {"tmdbcollection": "2344", "TMDBCOLLECTION": "2344"},
    ],
)
def test_tmdb_collection_id_is_never_taken_for_a_movie_id(provider_ids: dict[str, object]) -> None:
    assert Namespace.TMDB not in parse_provider_ids(provider_ids)


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        (f"plex://movie/{PLEX_HEX}", PlexGuid(Namespace.PLEX, PLEX_HEX)),
        (f"plex://show/{PLEX_HEX}", PlexGuid(Namespace.PLEX, PLEX_HEX)),
        (f"plex://season/{PLEX_HEX}", PlexGuid(Namespace.PLEX, PLEX_HEX)),
        (f"plex://episode/{PLEX_HEX}", PlexGuid(Namespace.PLEX, PLEX_HEX)),
        (f"PLEX://Movie/{PLEX_HEX.upper()}/", PlexGuid(Namespace.PLEX, PLEX_HEX)),
        ("imdb://tt0133093", PlexGuid(Namespace.IMDB, "tt0133093")),
        ("tmdb://603", PlexGuid(Namespace.TMDB, "603")),
        ("tvdb://121361", PlexGuid(Namespace.TVDB, "121361")),
        ("TMDB://603/", PlexGuid(Namespace.TMDB, "603")),
    ],
)
def test_new_plex_agent_guids_name_one_id(guid: str, expected: PlexGuid) -> None:
    assert parse_plex_guid(guid) == expected


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("com.plexapp.agents.imdb://tt0133093?lang=en", PlexGuid(Namespace.IMDB, "tt0133093")),
        ("com.plexapp.agents.imdb://0133093?lang=en", PlexGuid(Namespace.IMDB, "tt0133093")),
        ("com.plexapp.agents.themoviedb://603?lang=en", PlexGuid(Namespace.TMDB, "603")),
        (
            "com.plexapp.agents.themoviedb://1399/1/3?lang=en",
            PlexGuid(Namespace.TMDB, "1399", 1, 3),
        ),
        ("com.plexapp.agents.thetvdb://121361?lang=en", PlexGuid(Namespace.TVDB, "121361")),
        ("com.plexapp.agents.thetvdb://121361/1?lang=en", PlexGuid(Namespace.TVDB, "121361", 1)),
        (
            "com.plexapp.agents.thetvdb://121361/1/3?lang=en",
            PlexGuid(Namespace.TVDB, "121361", 1, 3),
        ),
        ("com.plexapp.agents.thetvdb://121361/0/12", PlexGuid(Namespace.TVDB, "121361", 0, 12)),
        (
            "com.plexapp.agents.thetvdb://121361/1/3/?lang=de&x=y",
            PlexGuid(Namespace.TVDB, "121361", 1, 3),
        ),
        ("COM.PLEXAPP.AGENTS.THETVDB://121361", PlexGuid(Namespace.TVDB, "121361")),
    ],
)
def test_legacy_plex_agent_guids_name_an_id_and_maybe_a_season_and_episode(
    guid: str, expected: PlexGuid
) -> None:
    assert parse_plex_guid(guid) == expected


@pytest.mark.parametrize(
    ("guid", "expected"),
    [
        ("com.plexapp.agents.hama://anidb-1234?lang=en", PlexGuid(Namespace.ANIDB, "1234")),
        (
            "com.plexapp.agents.hama://anidb-1234/1/3?lang=en",
            PlexGuid(Namespace.ANIDB, "1234", 1, 3),
        ),
        ("com.plexapp.agents.hama://tvdb-121361/1/3", PlexGuid(Namespace.TVDB, "121361", 1, 3)),
        ("com.plexapp.agents.hama://tmdb-603?lang=en", PlexGuid(Namespace.TMDB, "603")),
        ("com.plexapp.agents.hama://tsdb-1399?lang=en", PlexGuid(Namespace.TMDB, "1399")),
        ("com.plexapp.agents.hama://imdb-tt0133093?lang=en", PlexGuid(Namespace.IMDB, "tt0133093")),
        ("com.plexapp.agents.hama://tvdb4-121361?lang=en", PlexGuid(Namespace.TVDB, "121361")),
        ("com.plexapp.agents.hama://anidb2-1234", PlexGuid(Namespace.ANIDB, "1234")),
    ],
)
def test_hama_anime_agent_guids_name_their_source_and_id(guid: str, expected: PlexGuid) -> None:
    assert parse_plex_guid(guid) == expected


@pytest.mark.parametrize(
    "guid",
    [
        "com.plexapp.agents.hama://tvdb4-121361/2/5?lang=en",
        "com.plexapp.agents.hama://anidb3-1234/1",
    ],
)
def test_hama_numbered_modes_give_no_episode_position_since_they_renumber_episodes(
    guid: str,
) -> None:
    assert parse_plex_guid(guid) is None


@pytest.mark.parametrize(
    "guid",
    [
        None,
        "",
        "   ",
        "local://1234",
        "file:///media/movies/The Matrix.mkv",
        "com.plexapp.agents.none://6c1f0e6c7e3a4e0b?lang=xn",
        "com.plexapp.agents.localmedia://1234",
        "com.plexapp.agents.xbmcnfo://tt0133093",
        "tv.plex.agents.movie",
        "imdb:tt0133093",
        "imdb://",
        "imdb://?lang=en",
        "imdb://nm0000206",
        "tmdb://0",
        "tmdb://603/1/3",
        "tvdb://null",
        "plex://movie/",
        "plex://movie/not-a-hex-id",
        f"plex://{PLEX_HEX}",
        "anidb://1234",
        "com.plexapp.agents.themoviedb://abc?lang=en",
        "com.plexapp.agents.themoviedb://0?lang=en",
        "com.plexapp.agents.thetvdb://121361/one/3",
        "com.plexapp.agents.thetvdb://121361/1/3/4",
        "com.plexapp.agents.thetvdb://121361//3",
        "com.plexapp.agents.thetvdb://121361/1/1234567890",
        "com.plexapp.agents.hama://1234?lang=en",
        "com.plexapp.agents.hama://kitsu-12?lang=en",
        "com.plexapp.agents.hama://anidb-?lang=en",
        "com.plexapp.agents.hama://anidb-abc",
        "com.plexapp.agents.://603",
    ],
)
def test_local_unknown_and_malformed_guids_name_no_id(guid: str | None) -> None:
    assert parse_plex_guid(guid) is None


@pytest.mark.parametrize(
    ("guids", "expected"),
    [
        (
            [f"plex://movie/{PLEX_HEX}", "imdb://tt0133093", "tmdb://603", "tvdb://121361"],
            {
                Namespace.IMDB: "tt0133093",
                Namespace.TMDB: "603",
                Namespace.TVDB: "121361",
                Namespace.PLEX: PLEX_HEX,
            },
        ),
        (
            ["com.plexapp.agents.imdb://tt0133093?lang=en"],
            {Namespace.IMDB: "tt0133093"},
        ),
        (
            ["com.plexapp.agents.thetvdb://121361/1/3?lang=en", "tvdb://3254641"],
            {Namespace.TVDB: "3254641"},
        ),
        (
            ["com.plexapp.agents.thetvdb://121361/1?lang=en"],
            {},
        ),
        (
            ["com.plexapp.agents.hama://anidb-1234/1/3?lang=en"],
            {},
        ),
        (
            ["imdb://tt0133093", "imdb://tt9999999", "tmdb://null", "tmdb://604"],
            {Namespace.IMDB: "tt0133093", Namespace.TMDB: "604"},
        ),
        (
            ["local://1234", "com.plexapp.agents.none://x", ""],
            {},
        ),
        ([], {}),
    ],
)
def test_plex_item_ids_are_its_whole_item_guids_first_one_per_namespace(
    guids: list[str], expected: dict[Namespace, str]
) -> None:
    ids = plex_guid_ids(guids)
    assert ids == expected
    assert list(ids) == [namespace for namespace in Namespace if namespace in expected]


def test_plex_item_ids_accept_any_iterable_such_as_a_generator() -> None:
    guids = (guid for guid in ["tmdb://603", "imdb://tt0133093"])
    assert list(plex_guid_ids(guids).items()) == [
        (Namespace.IMDB, "tt0133093"),
        (Namespace.TMDB, "603"),
    ]


@pytest.mark.parametrize(
    ("namespace", "raw", "expected"),
    [
        (Namespace.TMDB, "²", None),  # a digit to str.isdigit, but no id
        (Namespace.TMDB, "٦٠٣", None),  # Arabic-Indic digits
        (Namespace.TMDB, "000", None),
        (Namespace.TMDB, -603, None),
        (Namespace.TMDB, 0, None),
        (Namespace.IMDB, "tt²", None),
        (Namespace.IMDB, "tt", None),
        (Namespace.IMDB, "tt133093", "tt0133093"),
        (Namespace.IMDB, 133093, None),  # fewer than 7 digits without "tt": likely TMDB's
    ],
)
def test_the_quick_paths_for_common_ids_refuse_what_the_patterns_refuse(
    namespace: Namespace, raw: object, expected: str | None
) -> None:
    assert normalize_id(namespace, raw) == expected
