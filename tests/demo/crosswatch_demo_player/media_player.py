"""The demo's living-room player: films from the demo's Plex server, played fast."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from homeassistant.components.media_player import (
    PLATFORM_SCHEMA as MEDIA_PLAYER_PLATFORM_SCHEMA,
    MediaPlayerEntity,
)
from homeassistant.components.media_player.browse_media import BrowseMedia
from homeassistant.components.media_player.const import (
    MediaClass,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.const import CONF_NAME, CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util
import voluptuous as vol

CONF_SPEED: Final = "speed"
# Plex's film section type, and what a film without a duration is taken to last.
_MOVIE_TYPE: Final = 1
_FILM_SECONDS: Final = 7_200
_TICK: Final = timedelta(seconds=1)
_LIBRARY: Final = "com.plexapp.plugins.library"

PLATFORM_SCHEMA: Final = MEDIA_PLAYER_PLATFORM_SCHEMA.extend(
    {
        vol.Required(CONF_URL): cv.url,
        vol.Required(CONF_TOKEN): cv.string,
        vol.Optional(CONF_NAME, default="Living room"): cv.string,
        # Seconds of film per real second: 240 plays two hours in 30 s.
        vol.Optional(CONF_SPEED, default=240): vol.All(vol.Coerce(float), vol.Range(min=1)),
    }
)


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Set up the one player the demo's configuration names."""
    del discovery_info
    plex = _Plex(async_get_clientsession(hass), str(config[CONF_URL]), str(config[CONF_TOKEN]))
    async_add_entities([DemoPlayer(str(config[CONF_NAME]), plex, float(config[CONF_SPEED]))])


class _Plex:
    """The few calls of a Plex server a player makes."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session = session
        self._url = url.rstrip("/")
        self._headers = {"X-Plex-Token": token, "Accept": "application/json"}

    async def _get(self, path: str, **query: str) -> dict[str, Any]:
        async with self._session.get(
            f"{self._url}{path}", params=query, headers=self._headers
        ) as response:
            response.raise_for_status()
            body: dict[str, Any] = await response.json()
            container: dict[str, Any] = body.get("MediaContainer", {})
            return container

    async def films(self) -> list[dict[str, Any]]:
        """Every film of every film section, in library order."""
        sections = await self._get("/library/sections/all")
        films: list[dict[str, Any]] = []
        for section in sections.get("Directory", []):
            if section.get("type") == "movie":
                listed = await self._get(
                    f"/library/sections/{section['key']}/all", type=str(_MOVIE_TYPE)
                )
                films.extend(listed.get("Metadata", []))
        return films

    async def finished(self, rating_key: str) -> None:
        """Tell the server the item was played to its end, as a Plex app does."""
        async with self._session.put(
            f"{self._url}/:/scrobble",
            params={"key": rating_key, "identifier": _LIBRARY},
            headers=self._headers,
        ) as response:
            response.raise_for_status()


def _label(film: dict[str, Any]) -> str:
    year = film.get("year")
    return f"{film['title']} ({year})" if year else str(film["title"])


class DemoPlayer(MediaPlayerEntity):
    """Plays a Plex film at `speed` times real time, and says so when it ends."""

    _attr_should_poll = False
    _attr_media_content_type = MediaType.MOVIE
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA
        | MediaPlayerEntityFeature.BROWSE_MEDIA
        | MediaPlayerEntityFeature.PLAY
        | MediaPlayerEntityFeature.PAUSE
        | MediaPlayerEntityFeature.STOP
    )

    def __init__(self, name: str, plex: _Plex, speed: float) -> None:
        """A player named `name`, idle until it is given a film."""
        self._attr_name = name
        self._attr_unique_id = f"crosswatch_demo_player_{name.lower().replace(' ', '_')}"
        self._attr_state = MediaPlayerState.IDLE
        self._plex = plex
        self._speed = speed
        self._stop_ticking: Callable[[], None] | None = None

    async def async_will_remove_from_hass(self) -> None:
        """Stop the clock with the entity."""
        self._stop_clock()

    async def async_browse_media(
        self, media_content_type: MediaType | str | None = None, media_content_id: str | None = None
    ) -> BrowseMedia:
        """The server's films, each playable."""
        del media_content_type, media_content_id
        films = await self._films()
        return BrowseMedia(
            media_class=MediaClass.DIRECTORY,
            media_content_id="films",
            media_content_type=MediaType.MOVIE,
            title="Films on Plex",
            can_play=False,
            can_expand=True,
            children_media_class=MediaClass.MOVIE,
            children=[
                BrowseMedia(
                    media_class=MediaClass.MOVIE,
                    media_content_id=str(film["ratingKey"]),
                    media_content_type=MediaType.MOVIE,
                    title=_label(film),
                    can_play=True,
                    can_expand=False,
                )
                for film in films
            ],
        )

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Play the film whose ratingKey is `media_id` from its start."""
        del media_type, kwargs
        film = next((f for f in await self._films() if str(f["ratingKey"]) == media_id), None)
        if film is None:
            raise HomeAssistantError(f"The demo's Plex server has no film {media_id!r}")
        self._stop_clock()
        self._attr_media_content_id = media_id
        self._attr_media_title = _label(film)
        duration = film.get("duration")
        self._attr_media_duration = int(duration) // 1000 if duration else _FILM_SECONDS
        self._at(0, dt_util.utcnow())
        self._attr_state = MediaPlayerState.PLAYING
        self._start_clock()
        self.async_write_ha_state()

    async def async_media_pause(self) -> None:
        """Hold the film where it is."""
        if self._attr_state is MediaPlayerState.PLAYING:
            self._stop_clock()
            self._attr_state = MediaPlayerState.PAUSED
            self.async_write_ha_state()

    async def async_media_play(self) -> None:
        """Carry on from where the film was held."""
        if self._attr_state is MediaPlayerState.PAUSED:
            self._at(self._attr_media_position or 0, dt_util.utcnow())
            self._attr_state = MediaPlayerState.PLAYING
            self._start_clock()
            self.async_write_ha_state()

    async def async_media_stop(self) -> None:
        """Stop before the end: Plex is told nothing, as a real app tells it nothing."""
        self._stop_clock()
        self._attr_state = MediaPlayerState.IDLE
        self.async_write_ha_state()

    async def _films(self) -> list[dict[str, Any]]:
        try:
            return await self._plex.films()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HomeAssistantError(f"The demo's Plex server did not answer: {err}") from err

    def _at(self, position: float, when: datetime) -> None:
        self._attr_media_position = int(position)
        self._attr_media_position_updated_at = when

    def _start_clock(self) -> None:
        self._stop_ticking = async_track_time_interval(self.hass, self._tick, _TICK)

    def _stop_clock(self) -> None:
        if self._stop_ticking is not None:
            self._stop_ticking()
            self._stop_ticking = None

    @callback
    def _tick(self, now: datetime) -> None:
        duration = self._attr_media_duration or _FILM_SECONDS
        position = (self._attr_media_position or 0) + self._speed * _TICK.total_seconds()
        if position < duration:
            self._at(position, now)
            self.async_write_ha_state()
            return
        self._stop_clock()
        self.hass.async_create_task(self._finish(duration), eager_start=True)

    async def _finish(self, duration: int) -> None:
        # Plex first, as a real app reports the end before it goes back to its menu: a sync
        # that follows the player then finds the play on the server.
        try:
            await self._plex.finished(str(self._attr_media_content_id))
        except (aiohttp.ClientError, TimeoutError) as err:
            raise HomeAssistantError(
                f"The demo's Plex server did not take the play: {err}"
            ) from err
        finally:
            self._at(duration, dt_util.utcnow())
            self._attr_state = MediaPlayerState.IDLE
            self.async_write_ha_state()
