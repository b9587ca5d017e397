"""Which scrobble calls a followed player's state change asks for (engine/scrobble.py)."""

from datetime import UTC, datetime, timedelta

from custom_components.crosswatch.engine.playback import PlayerState
from custom_components.crosswatch.engine.scrobble import ScrobbleAction, scrobble_calls

T0 = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
HOUR = 3600.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def film(
    state: str, position: float | None, updated: float = 0.0, content: str = "1001"
) -> PlayerState:
    return PlayerState(
        state, content_id=content, content_type="movie", title="Heat", duration=2 * HOUR,
        position=position, position_updated_at=None if position is None else at(updated),
    )  # fmt: skip


def said(old: PlayerState, new: PlayerState, now: datetime) -> list[tuple[str, str, int]]:
    return [
        (c.action.value, c.content_id, round(c.progress)) for c in scrobble_calls(old, new, now)
    ]


def test_a_player_that_starts_playing_starts_a_scrobble_at_its_position() -> None:
    assert said(PlayerState("idle"), film("playing", 0.25 * 2 * HOUR), at(0)) == [
        ("start", "1001", 25)
    ]


def test_pausing_pauses_and_resuming_starts_again_at_the_position_reached() -> None:
    playing = film("playing", 0.0, updated=0)
    paused = film("paused", 0.4 * 2 * HOUR, updated=2880)
    assert said(playing, paused, at(2880)) == [("pause", "1001", 40)]
    assert said(paused, film("playing", 0.4 * 2 * HOUR, updated=2890), at(2890)) == [
        ("start", "1001", 40)
    ]


def test_a_stop_sends_how_far_the_play_got_running_on_from_the_last_report() -> None:
    # Reported at 70 % twenty minutes before the stop: 70 % + 20 min of two hours.
    calls = scrobble_calls(film("playing", 0.7 * 2 * HOUR), PlayerState("idle"), at(1200))
    assert [(c.action, round(c.progress, 1)) for c in calls] == [(ScrobbleAction.STOP, 86.7)]
    assert calls[0].records_play


def test_a_stop_below_eighty_percent_records_no_play_and_one_below_one_percent_is_not_sent() -> (
    None
):
    (half,) = scrobble_calls(film("playing", HOUR), PlayerState("off"), at(0))
    assert not half.records_play
    assert said(film("playing", 10.0), PlayerState("off"), at(0)) == []


def test_a_stop_without_a_duration_is_not_sent_since_its_progress_is_unknown() -> None:
    unknown = PlayerState("playing", content_id="1001", position=600.0, position_updated_at=at(0))
    assert said(unknown, PlayerState("idle"), at(60)) == []
    assert said(PlayerState("idle"), unknown, at(0)) == [("start", "1001", 0)]


def test_moving_on_to_the_next_episode_stops_the_one_and_starts_the_other() -> None:
    old = film("playing", 0.99 * 2 * HOUR, content="ep1")
    new = film("playing", 0.0, content="ep2")
    assert said(old, new, at(0)) == [("stop", "ep1", 99), ("start", "ep2", 0)]


def test_a_seek_or_a_new_position_report_while_playing_sends_nothing() -> None:
    assert said(film("playing", 10.0), film("playing", 0.5 * 2 * HOUR), at(5)) == []
    assert said(film("paused", 10.0), film("paused", 20.0), at(5)) == []
