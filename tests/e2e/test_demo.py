"""The demo (script/demo's Python side), as a person runs it: start, look, Sync now, Ctrl-C, again.

The first start sets Home Assistant up (onboarding, seven accounts, six pairs) against the
simulated world; Ctrl-C stops Home Assistant and the simulators cleanly; the second start reuses
all of it without setting anything up again. The calendars show the coming week's episodes, and
the README's automation examples, pasted into the demo's automations.yaml, load and stay.
"""

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
import random
import re
import signal
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest
import yaml

from tests.demo import world as demo_world
from tests.demo.simulators import ENDPOINTS
from tests.realhass.api import HassClient, Json
from tests.realhass.demo import PAIRS, PASSWORD, PLAYER_ENTITY, USERNAME, pair_states
from tests.realhass.process import REPO, free_port
from tests.simulators import trakt as trakt_sim
from tests.simulators.plex import SERVER_TOKEN

pytestmark = pytest.mark.timeout(420)

DOMAIN = "crosswatch"
WATCH_EVERY = 2.0  # the simulated user plays one more title on Plex this often (seconds)


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports nobody listens on (the simulators take eleven)."""
    for _ in range(50):
        base = random.randrange(20_000, 60_000)  # noqa: S311 - a port, not a secret
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError(f"no {count} consecutive free ports")


class Demo:
    """`python -m tests.realhass.demo` as a child process, its output read line by line."""

    def __init__(self, directory: Path, port: int, sim_port: int, watch_every: float) -> None:
        self.directory = directory
        self.port = port
        self.sim_port = sim_port
        self.watch_every = watch_every
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, within: float = 240) -> list[str]:
        """Start it; its output up to the banner's last line."""
        self.lines = []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.realhass.demo",
            "--dir",
            str(self.directory),
            "--port",
            str(self.port),
            "--sim-port",
            str(self.sim_port),
            "--watch-every",
            str(self.watch_every),
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # our SIGINT only, as a terminal's Ctrl-C reaches it
        )
        async with asyncio.timeout(within):
            while not any(line.startswith("Ctrl-C stops") for line in self.lines):
                if not await self._read_line():
                    raise AssertionError("the demo ended before it was ready:\n" + self.output)
        return self.lines

    async def _read_line(self) -> bool:
        assert self.process is not None
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if line:
            self.lines.append(line.decode().rstrip())
        return bool(line)

    async def interrupt(self, within: float = 90) -> int:
        """Ctrl-C; its exit code once it has stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(within):
            while await self._read_line():
                pass
            return await self.process.wait()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


async def sync_now(client: HassClient, pair: str) -> dict[str, str]:
    """Press the pair's Sync now button; its entities' states once the run is over."""
    before = (await pair_states(client))[pair]["last_run"]
    buttons = [
        e["entity_id"] for e in await client.entities(DOMAIN) if e["translation_key"] == "sync_now"
    ]
    for button in buttons:
        if (await client.state(button))["attributes"]["friendly_name"].startswith(pair):
            await client.call("button", "press", {"entity_id": button})
    for _ in range(200):
        after = (await pair_states(client))[pair]
        if after["last_run"] != before and after["running"] == "off":
            break
        await asyncio.sleep(0.3)
    return after


async def plex_films(demo: Demo) -> dict[str, Json]:
    """The simulated Plex server's films by ratingKey, as its API lists them."""
    url = f"http://127.0.0.1:{demo.sim_port + ENDPOINTS.index('plex')}"
    headers = {"X-Plex-Token": SERVER_TOKEN, "Accept": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{url}/library/sections/all") as reply:
            sections = (await reply.json())["MediaContainer"]["Directory"]
        films: dict[str, Json] = {}
        for section in (s for s in sections if s["type"] == "movie"):
            async with session.get(f"{url}/library/sections/{section['key']}/all") as reply:
                listed = (await reply.json())["MediaContainer"].get("Metadata", [])
            films |= {str(film["ratingKey"]): film for film in listed}
    return films


async def play_to_the_end(client: HassClient, film: str, within: float = 60) -> Json:
    """Play a film on the living room's player; its state once the player has finished it."""
    await client.call(
        "media_player",
        "play_media",
        {"entity_id": PLAYER_ENTITY, "media_content_type": "movie", "media_content_id": film},
    )
    async with asyncio.timeout(within):
        while True:
            state = await client.state(PLAYER_ENTITY)
            attributes = state["attributes"]
            if state["state"] == "idle" and attributes.get("media_content_id") == film:
                return state
            await asyncio.sleep(0.5)


class TraktReader:
    """The demo's Trakt, read as the user would read it with an app of their own."""

    def __init__(self, demo: Demo) -> None:
        self.url = f"http://127.0.0.1:{demo.sim_port + ENDPOINTS.index('trakt')}"
        self.headers = {"trakt-api-key": trakt_sim.CLIENT_ID, "trakt-api-version": "2"}

    async def sign_in(self) -> None:
        """A token of its own (the simulated Trakt approves a device code at its first poll)."""
        app = {"client_id": trakt_sim.CLIENT_ID, "client_secret": trakt_sim.CLIENT_SECRET}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.url}/oauth/device/code", json=app) as reply:
                code = (await reply.json())["device_code"]
            async with session.post(
                f"{self.url}/oauth/device/token", json={**app, "code": code}
            ) as reply:
                token = (await reply.json())["access_token"]
        self.headers["Authorization"] = f"Bearer {token}"

    async def plays_of(self, title: str, year: int | None) -> int:
        """How many plays of the film Trakt's history holds."""
        plays, page = 0, 1
        async with aiohttp.ClientSession(headers=self.headers) as session:
            while True:
                async with session.get(
                    f"{self.url}/sync/history/movies", params={"page": page, "limit": 250}
                ) as reply:
                    reply.raise_for_status()
                    rows = await reply.json()
                    pages = int(reply.headers.get("X-Pagination-Page-Count", "1"))
                plays += sum(
                    1
                    for row in rows
                    if row["movie"]["title"] == title and row["movie"].get("year") == year
                )
                if page >= pages:
                    return plays
                page += 1


HONEST = ("success", "unresolved")
# Entities the README's examples name that the demo has not: a player of the reader's own.
READERS_OWN = ("media_player.",)


def readme_automations() -> list[dict[str, Any]]:
    """The README's automation examples: its YAML blocks with triggers.

    As automations.yaml lists them: each with an id (the UI's editor needs one) and an alias.
    """
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    automations: list[dict[str, Any]] = [
        yaml.safe_load(block) for block in blocks if re.search(r"^triggers:", block, re.MULTILINE)
    ]
    for number, automation in enumerate(automations, 1):
        automation.setdefault("alias", f"README example {number}")
        automation["id"] = f"readme_example_{number}"
    return automations


ENTITY_DOMAINS = ("binary_sensor", "button", "calendar", "event", "media_player", "sensor", "todo")


def entities_named(automations: list[dict[str, Any]]) -> set[str]:
    """The entity ids the automations name (in triggers, templates and data alike)."""
    text = yaml.safe_dump(automations)
    return set(re.findall(rf"(?<![.\w])(?:{'|'.join(ENTITY_DOMAINS)})\.[a-z0-9_]+", text))


async def loaded_automations(client: HassClient) -> dict[str, str]:
    """The README examples' automation entities' states, by the automation's id."""
    states = await client.get("/api/states")
    return {
        str(s["attributes"]["id"]): str(s["state"])
        for s in states
        if s["entity_id"].startswith("automation.")
        and str(s["attributes"].get("id", "")).startswith("readme_example_")
    }


def unlisted_film() -> str:
    """A film of the demo's catalogue on neither watchlist, nor in Plex's library: "Title (year)"."""
    facts = demo_world.build_world().facts
    listed = {i for kind, i in facts.trakt_watchlist + facts.simkl_watchlist if kind == "film"}
    film = next(
        film
        for i, film in enumerate(demo_world.FILMS)
        if i not in listed and i not in facts.plex_films
    )
    return f"{film.title} ({film.year})"


async def listed(client: HassClient, todo: str) -> set[str]:
    """The titles on a watchlist to-do list, as todo.get_items answers."""
    response = await client.call("todo", "get_items", {"entity_id": todo}, response=True)
    return {str(item["summary"]) for item in response[todo]["items"]}


async def upcoming_week(client: HassClient) -> dict[str, list[str]]:
    """Each CrossWatch calendar's events of the coming seven days, by entity id (summaries)."""
    now = datetime.now(UTC)
    start, end = now.isoformat(), (now + timedelta(days=7)).isoformat()
    calendars = [
        e["entity_id"]
        for e in await client.entities(DOMAIN)
        if e["entity_id"].startswith("calendar.")
    ]
    week: dict[str, list[str]] = {}
    for calendar in calendars:
        events = await client.get(f"/api/calendars/{calendar}", params={"start": start, "end": end})
        week[calendar] = [str(event["summary"]) for event in events]
    return week


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """A demo on a fresh directory and free ports."""
    running = Demo(tmp_path / "demo", free_port(), free_ports(11), watch_every=WATCH_EVERY)
    yield running
    if running.process is not None and running.process.returncode is None:
        with contextlib.suppress(TimeoutError):
            await running.interrupt()
    if running.process is not None and running.process.returncode is None:
        running.process.kill()


def _honest(pair: str, lines: list[str]) -> bool:
    """Whether the demo shows the pair done: `success`, or `unresolved`.

    Unresolved: all it would still write is what the other service cannot take (the demo's
    worlds hold such titles).
    """
    return any(line.startswith(f"  {pair}: {status};") for status in HONEST for line in lines)


async def test_the_demo_sets_up_once_syncs_stops_cleanly_and_starts_again(demo: Demo) -> None:
    started = time.monotonic()
    lines = await demo.start()
    first_start = time.monotonic() - started

    assert "demo: first start: setting Home Assistant up" in lines, demo.output
    assert f"  login: {USERNAME} / {PASSWORD}" in lines
    assert all(_honest(pair.name, lines) for pair in PAIRS), demo.output

    url = f"http://127.0.0.1:{demo.port}"
    async with HassClient(url) as client:
        await client.login(USERNAME, PASSWORD)
        entries = await client.config_entries(DOMAIN)
        assert len(entries) == 8
        assert {e["state"] for e in entries} == {"loaded"}
        pairs = await pair_states(client)
        assert set(pairs) == {pair.name for pair in PAIRS}
        for name, states in pairs.items():
            # A pair left with items the other service cannot take says so, and asks for a look.
            unresolved = states["last_result"] == "unresolved"
            assert states["needs_attention"] == ("on" if unresolved else "off"), (name, states)
            assert not unresolved or int(states["unresolved"]) > 0, (name, states)

        # The calendars: next week's episodes of the shows the user follows, on each tracker.
        week: dict[str, list[str]] = {}
        for _ in range(60):  # each calendar's first read runs in the background after setup
            week = await upcoming_week(client)
            if len(week) == 3 and all(week.values()):
                break
            await asyncio.sleep(0.5)
        assert len(week) == 3, week  # Trakt, SIMKL and AniList
        assert all(week.values()), week

        # The README's automation examples, pasted into automations.yaml, load as they are.
        automations = readme_automations()
        assert len(automations) >= 3
        present = {s["entity_id"] for s in await client.get("/api/states")}
        named = {e for e in entities_named(automations) if not e.startswith(READERS_OWN)}
        assert named, automations
        assert named <= present, named - present
        pasted = yaml.safe_dump(automations, allow_unicode=True, sort_keys=False)
        (demo.directory / "config" / "automations.yaml").write_text(pasted, encoding="utf-8")
        await client.call("automation", "reload", {})
        loaded: dict[str, str] = {}
        for _ in range(20):
            loaded = await loaded_automations(client)
            if len(loaded) == len(automations):
                break
            await asyncio.sleep(0.3)
        assert loaded == {a["id"]: "on" for a in automations}, loaded

        # A film added by title to Trakt's to-do list; "Sync now" on the pair puts it on SIMKL's.
        film = unlisted_film()
        todos = [
            e["entity_id"]
            for e in await client.entities(DOMAIN)
            if e["entity_id"].startswith("todo.")
        ]
        trakt_todo = "todo.trakt_alice_watchlist"
        (simkl_todo,) = (todo for todo in todos if todo.startswith("todo.simkl_"))
        assert film not in await listed(client, simkl_todo)
        await client.call("todo", "add_item", {"entity_id": trakt_todo, "item": film})
        assert film in await listed(client, trakt_todo)
        name = "Trakt ⇄ SIMKL watchlist"
        await asyncio.sleep(1.1)  # last_run is shown in whole seconds
        after = await sync_now(client, name)
        assert after["last_run"] != pairs[name]["last_run"]
        assert after["last_result"] == "success"
        for _ in range(30):  # the list reads SIMKL again after the run, in the background
            if film in await listed(client, simkl_todo):
                break
            await asyncio.sleep(0.3)
        assert film in await listed(client, simkl_todo)

        # Meanwhile the simulated user went on watching on Plex: Sync now carries it to Trakt.
        name = "Plex → Trakt history"
        await asyncio.sleep(WATCH_EVERY + 1.1)  # at least one more play since the last run
        after = await sync_now(client, name)
        assert after["last_result"] == "success", after
        assert int(after["planned_adds"]) >= 1, after
        assert " watched " in (demo.directory / "simulators.log").read_text()

        # The living room's player plays a film to its end: Plex records the play, and Plex →
        # Trakt history, which follows the player, has it on Trakt within 30 seconds, once,
        # with nobody pressing Sync now. (The simulated user watches films in library order,
        # so the last one is left alone.)
        trakt = TraktReader(demo)
        await trakt.sign_in()
        before = await plex_films(demo)
        film = max(before, key=int)
        title, year = before[film]["title"], before[film].get("year")
        on_trakt = await trakt.plays_of(title, year)
        finished = await play_to_the_end(client, film)
        ended = time.monotonic()
        assert finished["attributes"]["media_position"] == finished["attributes"]["media_duration"]
        after_play = await plex_films(demo)
        assert after_play[film].get("viewCount", 0) == before[film].get("viewCount", 0) + 1
        while await trakt.plays_of(title, year) == on_trakt:
            assert time.monotonic() - ended < 30, f"{title} did not reach Trakt within 30 s"
            await asyncio.sleep(1)
        assert await trakt.plays_of(title, year) == on_trakt + 1
        reached_trakt = time.monotonic() - ended
        # A full run after it sends nothing again.
        await sync_now(client, "Plex → Trakt history")
        assert await trakt.plays_of(title, year) == on_trakt + 1

    assert await demo.interrupt() == 0
    assert "demo: stopped (Home Assistant exited with 0)" in demo.lines, demo.output
    assert (demo.directory / "simulators" / "world.pickle").exists()

    started = time.monotonic()
    lines = await demo.start()
    second_start = time.monotonic() - started
    assert not any("first start" in line for line in lines), demo.output
    assert all(_honest(pair.name, lines) for pair in PAIRS), demo.output
    # The user's automations outlive the restart, in their file and loaded.
    kept = (demo.directory / "config" / "automations.yaml").read_text(encoding="utf-8")
    assert kept == pasted
    async with HassClient(url) as client:
        await client.login(USERNAME, PASSWORD)
        assert await loaded_automations(client) == {a["id"]: "on" for a in automations}
    assert await demo.interrupt() == 0
    sys.stderr.write(
        f"\ndemo: first start {first_start:.0f} s, second {second_start:.0f} s;"
        f" a finished play reached Trakt {reached_trakt:.1f} s after the player ended\n"
    )
