"""When a media player's play has finished, from two of its states (engine/playback.py)."""

from datetime import UTC, datetime, timedelta

from custom_components.crosswatch.engine.playback import PlayerState, finished_play

T0 = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
HOUR = 3600.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def film(state: str, position: float | None, updated: float = 0.0, **kw: object) -> PlayerState:
    fields: dict[str, object] = {
        "content_id": "1001", "content_type": "movie", "title": "Heat", "duration": 2 * HOUR,
    }  # fmt: skip
    fields.update(kw)
    return PlayerState(
        state, position=position, position_updated_at=None if position is None else at(updated),
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_play_stopped_at_ninety_five_percent_has_finished() -> None:
    play = finished_play(film("playing", 0.95 * 2 * HOUR), film("idle", None), at(1))
    assert play is not None
    assert play.content_id == "1001"
    assert play.label == "Heat"
    assert play.finished_at == at(1)


def test_a_play_stopped_at_half_way_has_not_finished() -> None:
    assert finished_play(film("playing", HOUR), film("idle", None), at(1)) is None


def test_the_position_runs_on_while_playing_from_when_it_was_reported() -> None:
    # Reported at 80 % twenty minutes before the stop: 80 % + 20 min of two hours > 90 %.
    old = film("playing", 0.8 * 2 * HOUR, updated=0)
    assert finished_play(old, film("off", None), at(1200)) is not None
    # Stopped a minute after the report: 80 % and a minute is short of 90 %.
    assert finished_play(old, film("off", None), at(60)) is None


def test_the_extrapolated_position_never_passes_the_duration() -> None:
    old = film("playing", 0.95 * 2 * HOUR, updated=0)
    play = finished_play(old, film("idle", None), at(10 * HOUR))
    assert play is not None
    assert play.position == 2 * HOUR


def test_a_paused_position_does_not_run_on() -> None:
    paused = film("paused", 0.5 * 2 * HOUR, updated=0)
    assert finished_play(paused, film("idle", None), at(5 * HOUR)) is None


def test_pausing_near_the_end_is_not_the_end_but_the_stop_after_it_is() -> None:
    playing = film("playing", 0.92 * 2 * HOUR, updated=0)
    paused = film("paused", 0.93 * 2 * HOUR, updated=60)
    assert finished_play(playing, paused, at(60)) is None
    play = finished_play(paused, film("idle", None), at(900))
    assert play is not None
    assert play.position == 0.93 * 2 * HOUR


def test_a_player_that_reports_the_end_in_its_idle_state_has_finished() -> None:
    # Last seen playing at 50 %, an hour ago, with no report since: the new state's own
    # position (at the duration) says the play reached the end.
    old = film("playing", HOUR, updated=0)
    new = film("idle", 2 * HOUR, updated=HOUR)
    assert finished_play(old, new, at(HOUR)) is not None


def test_seeking_to_the_start_and_stopping_is_not_a_finished_play() -> None:
    near_end = film("playing", 0.95 * 2 * HOUR, updated=0)
    sought_back = film("playing", 30.0, updated=5)
    assert finished_play(near_end, sought_back, at(5)) is None  # still the same play
    assert finished_play(sought_back, film("idle", None), at(65)) is None


def test_seeking_forward_counts_from_where_the_seek_landed() -> None:
    start = film("playing", 60.0, updated=0)
    sought = film("playing", 0.96 * 2 * HOUR, updated=10)
    assert finished_play(start, sought, at(10)) is None
    assert finished_play(sought, film("idle", None), at(20)) is not None


def test_moving_on_to_the_next_episode_finishes_the_last_one() -> None:
    def episode(number: int, position: float, updated: float) -> PlayerState:
        return film(
            "playing", position, updated, content_id=f"20{number}", content_type="episode",
            title=f"Chapter {number}", series_title="Dark", season=1, episode=number,
            duration=HOUR,
        )  # fmt: skip

    play = finished_play(episode(1, 0.97 * HOUR, 0), episode(2, 0.0, 120), at(120))
    assert play is not None
    assert (play.content_id, play.label) == ("201", "Dark S01E01")


def test_a_play_without_a_duration_or_a_content_id_finishes_nothing() -> None:
    assert finished_play(film("playing", 5000.0, duration=None), film("idle", None), at(1)) is None
    assert (
        finished_play(film("playing", 7000.0, content_id=None), film("idle", None), at(1)) is None
    )


def test_a_player_that_was_not_playing_finishes_nothing() -> None:
    assert finished_play(film("idle", 7000.0), film("off", None), at(1)) is None
    assert finished_play(film("off", None), film("playing", 7000.0), at(1)) is None


def test_a_resumed_play_is_not_finished() -> None:
    paused = film("paused", 0.95 * 2 * HOUR)
    assert finished_play(paused, film("playing", 0.95 * 2 * HOUR, updated=30), at(30)) is None
