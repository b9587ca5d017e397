"""Live scrobbling: which scrobble calls a followed player's state change asks for (pure rules).

A pair that follows media players (playback.py) may also scrobble what they play to its target,
Trakt or SIMKL, as it plays. Both services take three calls, each with the progress in percent:

- `start` when a play starts or resumes: the player enters `playing`, or moves on to other
  content while playing;
- `pause` when the player pauses its play;
- `stop` when the play ends: the player leaves `playing` and `paused` (stopped, idle, off,
  unavailable) or moves on to other content. At 80 % or more the service records a play itself;
  below, it keeps the progress as a paused session.

The progress is the position the play reached (extrapolated while playing, as playback.py does)
over its duration. A state without a duration says nothing of progress: a start or a pause is
then sent at 0 %, and a stop, which would claim more than we know, is not sent at all. A stop
below 1 % is not sent either (Trakt refuses it).

A recorded stop is recorded in the pair's own records too (`Scrobbler`, the pipeline's
`record_scrobbled_play`): the target holds that play, so the targeted run of the finished play,
and the next full run, send no second one even while the target's history read lags behind.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from .items import MediaItem
from .playback import PAUSED, PLAYING, PlayerState

SCROBBLED_SHARE = 0.8  # of the duration: where a stop records a play on Trakt and SIMKL
LEAST_STOP = 1.0  # percent: Trakt refuses a stop below it


class ScrobbleAction(StrEnum):
    """A scrobble call."""

    START = "start"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class ScrobbleCall:
    """One call a state change asks for: what plays (the server's id) and how far, in percent."""

    action: ScrobbleAction
    content_id: str
    progress: float
    label: str

    @property
    def records_play(self) -> bool:
        """Whether the services record a play for this call (a stop at 80 % or more)."""
        return self.action is ScrobbleAction.STOP and self.progress >= SCROBBLED_SHARE * 100


@dataclass(frozen=True, slots=True)
class Scrobbled:
    """What the service said of a call: whether it now holds a play of the item, and when.

    `recorded_at` is the play's date when the service gave it (a refused repeat dates the play
    it kept); else the caller dates it by the moment it made the call.
    """

    action: str | None
    recorded_play: bool = False
    recorded_at: datetime | None = None


@runtime_checkable
class Scrobbler(Protocol):
    """A tracker that takes live scrobbles (Trakt, SIMKL)."""

    async def scrobble(self, action: ScrobbleAction, item: MediaItem, progress: float) -> Scrobbled:
        """Send one call for `item`; raises ProviderError (its subclasses) as a write does.

        An item the service could not be told about by any id it matches on raises
        ProviderError too: nothing was sent.
        """


@runtime_checkable
class ItemFinder(Protocol):
    """A media server that can name one library item by its own id, watched or not."""

    async def find_item(self, local_id: str) -> MediaItem | None:
        """The item with this id, built as a full read builds it; None if the server lacks it."""


def _progress(state: PlayerState, now: datetime) -> float | None:
    reached = state.reached(now)
    if reached is None or not state.duration or state.duration <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * reached / state.duration))


def _label(state: PlayerState) -> str:
    if state.series_title and state.season is not None and state.episode is not None:
        return f"{state.series_title} S{state.season:02d}E{state.episode:02d}"
    return state.title or state.series_title or state.content_id or ""


def scrobble_calls(old: PlayerState, new: PlayerState, now: datetime) -> Sequence[ScrobbleCall]:
    """The calls the change from `old` to `new` at `now` asks for, in order (see the module)."""
    calls: list[ScrobbleCall] = []
    was_in_play = old.state in (PLAYING, PAUSED) and bool(old.content_id)
    same = was_in_play and new.content_id == old.content_id
    if was_in_play and old.content_id and not (same and new.state in (PLAYING, PAUSED)):
        reached = [p for p in (_progress(old, now),) if p is not None]
        if same and (p := _progress(new, now)) is not None:
            reached.append(p)
        if reached and max(reached) >= LEAST_STOP:
            calls.append(
                ScrobbleCall(ScrobbleAction.STOP, old.content_id, max(reached), _label(old))
            )
    if not new.content_id or new.state not in (PLAYING, PAUSED):
        return calls
    progress = _progress(new, now) or 0.0
    if new.state == PLAYING and not (same and old.state == PLAYING):
        calls.append(ScrobbleCall(ScrobbleAction.START, new.content_id, progress, _label(new)))
    elif new.state == PAUSED and same and old.state == PLAYING:
        calls.append(ScrobbleCall(ScrobbleAction.PAUSE, new.content_id, progress, _label(new)))
    return calls
