"""Constants shared by the Home Assistant glue of CrossWatch."""

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "crosswatch"
LOGGER: Final = logging.getLogger(__package__)

# The single "CrossWatch sync" entry owns the sync pairs (its config subentries).
SYNC_ENTRY_UNIQUE_ID: Final = "crosswatch_sync"
SYNC_ENTRY_TITLE: Final = "CrossWatch sync"
SUBENTRY_PAIR: Final = "pair"


class Kind(StrEnum):
    """What a config entry is: an account on one service, or the sync entry."""

    PLEX = "plex"
    JELLYFIN = "jellyfin"
    EMBY = "emby"
    TRAKT = "trakt"
    SIMKL = "simkl"
    ANILIST = "anilist"
    MDBLIST = "mdblist"
    SYNC = "sync"


ACCOUNT_KINDS: Final = tuple(kind for kind in Kind if kind is not Kind.SYNC)

# Entry data keys.
CONF_KIND: Final = "kind"
CONF_ACCOUNT_ID: Final = "account_id"
CONF_BASE_URL: Final = "base_url"
CONF_AUTH_URL: Final = "auth_url"  # Trakt: where its OAuth endpoints are (auth.trakt.tv)
CONF_CLIENT_ID: Final = "client_id"
CONF_CLIENT_SECRET: Final = "client_secret"  # noqa: S105 - a key, not a secret
CONF_TOKENS: Final = "tokens"
CONF_SCORE_FORMAT: Final = "score_format"  # AniList: the Viewer's scoring scale
# Media servers (Plex, Jellyfin, Emby).
CONF_DEVICE_ID: Final = "device_id"  # Plex client identifier / MediaBrowser device id, kept
CONF_SERVER_URL: Final = "server_url"
CONF_SERVER_TOKEN: Final = "server_token"  # noqa: S105 - a key, not a secret
CONF_SERVER_ID: Final = "server_id"
CONF_SERVER_NAME: Final = "server_name"
CONF_USER_ID: Final = "user_id"
CONF_USER_NAME: Final = "user_name"
CONF_PLEX_TV_URL: Final = "plex_tv_url"
CONF_DISCOVER_URL: Final = "discover_url"
CONF_CALENDAR_URL: Final = "calendar_url"  # SIMKL's calendar files (a simulator's in tests)
CONF_METADATA_URL: Final = "metadata_url"

# Pair subentry data keys.
CONF_SOURCE: Final = "source"  # the unique id of an account entry (kind:account)
CONF_TARGET: Final = "target"
CONF_FEATURES: Final = "features"
CONF_MODE: Final = "mode"
CONF_INTERVAL: Final = "interval_minutes"
CONF_DRY_RUN: Final = "dry_run"
CONF_DELETE_FLOOR: Final = "delete_budget_floor"
CONF_DELETE_SHARE: Final = "delete_budget_percent"
CONF_DROP_THRESHOLD: Final = "drop_guard_percent"
CONF_TOMBSTONE_DAYS: Final = "tombstone_ttl_days"
# media_player entities whose finished plays the pair syncs at once (targeted runs).
CONF_FOLLOW_PLAYERS: Final = "follow_players"
# Failed runs in a row after which the pair pauses itself and asks the user (0: never).
CONF_PAUSE_AFTER: Final = "pause_after_failures"
DEFAULT_PAUSE_AFTER: Final = 5
# Scrobble what the followed players play to the pair's target, Trakt or SIMKL (live).
CONF_SCROBBLE: Final = "scrobble"

# Sync entry options.
CONF_ANIME_MAP_URL: Final = "anime_map_url"  # where the anime id mapping list is downloaded
CONF_BACKUPS_KEPT: Final = "backups_kept"  # backups kept per pair and feature

DEFAULT_INTERVAL: Final = timedelta(minutes=60)
# Snapshots are shared by every pair for this long: two pairs on one account read it once.
MEMO_TTL: Final = timedelta(seconds=300)

# Bus event fired after each run, for automations that do not use the event entity.
EVENT_RUN_FINISHED: Final = f"{DOMAIN}_run_finished"
# Fired after a run that changed something on a service, naming what (the logbook shows it).
EVENT_ITEMS_SYNCED: Final = f"{DOMAIN}_items_synced"
# Fired when a followed media player finished a play, saying what became of it (playback.py).
EVENT_PLAYBACK_FINISHED: Final = f"{DOMAIN}_playback_finished"
