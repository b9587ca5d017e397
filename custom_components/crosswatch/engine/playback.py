"""When a media player's play has finished: pure rules over two states of the player.

Home Assistant's `media_player` entities report a state (`playing`, `paused`, `idle`, `off`,
...), what is playing (`media_content_id`, titles, numbering), its duration and the position
at a moment (`media_position` as of `media_position_updated_at`). While playing, the position
is not reported again every second: it has moved on by the time since it was reported. So the
position a play reached is extrapolated from the last report while it was playing, and never
past the duration.

A play has finished when the player leaves it at 90 % of the duration or more:
- the state leaves `playing` or `paused` for anything but the other of the two (stopped,
  idle, off, unavailable), or the player moves on to other content (the next episode);
- the position that counts is the furthest of the play's own (extrapolated while playing,
  as reported while paused) and what the new state still reports of the same content (a
  player that says it stopped at the end).

Pausing is not the end of a play: a play paused at 95 % finishes when the player then stops.
A short play, one without a duration, or one whose content cannot be named finishes nothing.
Whether it counts as a play is the media server's call, not ours: the sync only follows a play
the server itself shows (see targeted.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

FINISHED_SHARE = 0.9  # of the duration: where a play counts as finished
PLAYING = "playing"
PAUSED = "paused"
_IN_PLAY = frozenset({PLAYING, PAUSED})


@dataclass(frozen=True, slots=True)
class PlayerState:
    """What a media player reported at one moment (its state and attributes)."""

    state: str
    content_id: str | None = None
    content_type: str | None = None
    title: str | None = None
    series_title: str | None = None
    season: int | None = None
    episode: int | None = None
    duration: float | None = None  # seconds
    position: float | None = None  # seconds, as of `position_updated_at`
    position_updated_at: datetime | None = None

    def reached(self, now: datetime) -> float | None:
        """The position the play has reached by `now`: extrapolated while playing, capped."""
        if self.position is None:
            return None
        position = self.position
        if self.state == PLAYING and self.position_updated_at is not None:
            position += max(0.0, (now - self.position_updated_at).total_seconds())
        if self.duration:
            position = min(position, self.duration)
        return position


@dataclass(frozen=True, slots=True)
class FinishedPlay:
    """A play a player finished: what it was, how far it got, and when it ended."""

    content_id: str
    content_type: str | None
    title: str | None
    series_title: str | None
    season: int | None
    episode: int | None
    duration: float
    position: float
    finished_at: datetime

    @property
    def started_by(self) -> datetime:
        """The latest the play can have started: its end less its duration."""
        return self.finished_at - timedelta(seconds=self.duration)

    @property
    def label(self) -> str:
        """How to name the play in a log line or an event."""
        if self.series_title and self.season is not None and self.episode is not None:
            return f"{self.series_title} S{self.season:02d}E{self.episode:02d}"
        return self.title or self.series_title or self.content_id


def finished_play(
    old: PlayerState, new: PlayerState, now: datetime, *, share: float = FINISHED_SHARE
) -> FinishedPlay | None:
    """The play `old` showed, if the change to `new` at `now` finished it (see the module doc)."""
    if old.state not in _IN_PLAY or not old.content_id:
        return None
    same_content = new.content_id == old.content_id
    if same_content and new.state in _IN_PLAY:
        return None  # still playing, paused, resumed or sought within the play
    duration = old.duration or (new.duration if same_content else None)
    if not duration or duration <= 0:
        return None
    reached = [p for p in (old.reached(now),) if p is not None]
    if same_content and (p := new.reached(now)) is not None:
        reached.append(min(p, duration))
    if not reached or max(reached) < share * duration:
        return None
    return FinishedPlay(
        old.content_id, old.content_type, old.title, old.series_title, old.season, old.episode,
        duration, max(reached), now,
    )  # fmt: skip
