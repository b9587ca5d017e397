"""User-data writes on Jellyfin and Emby, each changing only what it means to change.

Kept apart from the adapter because this is where a write could undo another: the memory of
what our own writes answered, and the rule for when it stands in for a read, live here.

An item the library scan shows played is not marked played again: the engine asks only for a
watched state, and another mark would be a play of our own making.

Played, favorite and rating removal go to their own endpoints, and a rating goes alone in a
UserData body on Jellyfin. Emby's UserData body is the whole user data, so a rating write there
carries the played state, play count, last played date and favorite as they stand *now*: read
from the item, overlaid with what the server answered our own writes to it in the last
`library_ttl` seconds. Those answers come straight from the write, while a read may still lag
behind it; without them a rating written after marking an item played would unmark it again.
(A change someone makes on the server between our write and the rating, on the same item, is the
one race Emby's API leaves open.)
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from ...clients.mediabrowser import MediaBrowserClient, UserData
from ...clients.mediabrowser.models import (
    IS_FAVORITE,
    LAST_PLAYED_DATE,
    PLAY_COUNT,
    PLAYED,
    RATING,
)
from ...engine.payloads import Feature, Payload, Rated, Watched
from ...engine.plan import Action
from ...engine.ratings import RatingScale, from_normalized
from .reads import LibraryItem

# What a write says about the item itself, kept when the server's answer says nothing.
_UNPLAYED: Final = UserData(
    played=False, play_count=0, present=frozenset({PLAYED, PLAY_COUNT, LAST_PLAYED_DATE})
)
_PLAYED: Final = UserData(played=True, present=frozenset({PLAYED}))
_NO_RATING: Final = UserData(present=frozenset({RATING}))
_NOTHING: Final = UserData()


def _favorite(favorite: bool) -> UserData:
    return UserData(is_favorite=favorite, present=frozenset({IS_FAVORITE}))


def _rating(rating: float) -> UserData:
    return UserData(rating=rating, present=frozenset({RATING}))


@dataclass(frozen=True, slots=True)
class _Written:
    """An item's user data as the server answered our last write to it, and when."""

    user_data: UserData
    at: float


class UserDataWriter:
    """One user's writes on one server, and the memory of what the server answered them."""

    def __init__(
        self,
        client: MediaBrowserClient,
        user_id: str,
        *,
        clock: Callable[[], float],
        ttl: float,
    ) -> None:
        """Write as `user_id`; an answer is trusted over a read for `ttl` seconds of `clock`."""
        self._client = client
        self._user_id = user_id
        self._clock = clock
        self._ttl = ttl
        # Item id -> what the server answered our last write to it. Not a read cache: it only
        # ever stands in for a read that may lag behind that write (see `_current`).
        self._written: dict[str, _Written] = {}

    async def apply(
        self,
        feature: Feature,
        action: Action,
        payload: Payload | None,
        targets: Sequence[LibraryItem],
    ) -> None:
        """Write one change to every library item a requested item stands for."""
        user = self._user_id
        client = self._client
        for target in targets:
            reply: UserData | None
            known: UserData  # what the write itself says, kept when the answer says nothing
            match feature, action:
                case Feature.HISTORY, Action.REMOVE:
                    reply = await client.mark_unplayed(user, target.id)
                    known = _UNPLAYED
                case Feature.HISTORY, _ if self._known(target).played is True:
                    # A watched state: marking it played again would count our write as one
                    # more play, dated by us, that a two-way pair carries back as the user's.
                    continue
                case Feature.HISTORY, _:
                    when = payload.last_watched_at if isinstance(payload, Watched) else None
                    reply = await client.mark_played(user, target.id, when)
                    known = _PLAYED
                case Feature.WATCHLIST, _:
                    favorite = action is not Action.REMOVE
                    reply = await client.set_favorite(user, target.id, favorite)
                    known = _favorite(favorite)
                case Feature.RATINGS, Action.REMOVE:
                    reply = await client.clear_rating(user, target.id)
                    known = _NO_RATING
                case Feature.RATINGS, _ if isinstance(payload, Rated):
                    native = float(from_normalized(RatingScale.DECIMAL_0_10, payload.value))
                    current = (
                        None if client.flavour.partial_user_data else await self._current(target.id)
                    )
                    reply = await client.set_rating(user, target.id, native, current)
                    known = _rating(native)
                case _:
                    continue
            self._remember(target.id, reply, known)

    async def _current(self, item_id: str) -> UserData:
        """The item's user data now: a fresh item read, under what our own writes answered.

        The item read may still show the state from before a write of ours (servers behind a
        cache, replicas); what the write answered is newer than that, so it wins.
        """
        return self._under_our_writes(item_id, await self._client.user_data(self._user_id, item_id))

    def _known(self, target: LibraryItem) -> UserData:
        """The item's user data as the library scan read it, under our own recent writes."""
        return self._under_our_writes(target.id, target.user_data)

    def _under_our_writes(self, item_id: str, read: UserData) -> UserData:
        """`read`, overlaid with what the server answered our writes to the item within the TTL."""
        written = self._written.get(item_id)
        if written is None or self._clock() - written.at > self._ttl:
            return read
        return read.overlaid(written.user_data)

    def _remember(self, item_id: str, reply: UserData | None, known: UserData) -> None:
        now = self._clock()
        self._written = {
            key: written for key, written in self._written.items() if now - written.at <= self._ttl
        }
        if reply is not None:
            # The whole user data: a state field it leaves out is one the item does not have.
            user_data = reply.as_whole()
        else:
            before = self._written.get(item_id)
            user_data = (before.user_data if before is not None else _NOTHING).overlaid(known)
        self._written[item_id] = _Written(user_data, now)
