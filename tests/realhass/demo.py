"""The demo (script/demo): the simulated world, a real Home Assistant, and its first-start setup.

    python -m tests.realhass.demo [--dir .demo] [--port 8123] [--reset]

1. Starts the demo's simulators (`python -m tests.demo.simulators`, state in DIR/simulators) and
   reads the JSON line they announce themselves with: URLs, credentials, form inputs.
2. Starts Home Assistant on DIR/config (http://localhost:PORT), CrossWatch linked from the
   working tree.
3. On the first start only, sets it up through the same HTTP API the frontend uses: onboarding
   with the demo login, an account for each of the seven services against the simulators, the
   sync entry (its anime id mapping list on the simulators'), and six pairs. DIR/bootstrapped
   marks it done; later starts reuse everything.
4. Prints the URL and the login, then runs until Ctrl-C (SIGINT) or SIGTERM, and stops Home
   Assistant and the simulators (which save their world) cleanly. Meanwhile the simulated user
   plays one more title on Plex every `--watch-every` seconds, so that Sync now has news.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import sys
import time
from typing import IO

from tests.demo.simulators import ENDPOINTS
from tests.simulators.plex import SERVER_TOKEN as PLEX_SERVER_TOKEN

from .api import ApiError, FlowError, HassClient, Json
from .process import CROSSWATCH, REPO, HassError, HassProcess, write_config

DOMAIN = "crosswatch"
NAME, USERNAME, PASSWORD = "Demo", "demo", "crosswatch"
MARKER = "bootstrapped"
ACCOUNTS = ("plex", "jellyfin", "emby", "trakt", "simkl", "anilist", "mdblist")


@dataclass(frozen=True, slots=True)
class Pair:
    """A pair the demo adds: name, accounts (by service), features and mode."""

    name: str
    source: str
    target: str
    features: tuple[str, ...]
    mode: str
    follows: tuple[str, ...] = ()  # media players whose finished plays it syncs at once


# The living room's player (tests/demo/crosswatch_demo_player): it plays the demo's Plex films,
# 240 times faster than real time, and tells Plex when one ends.
PLAYER = REPO / "tests" / "demo" / "crosswatch_demo_player"
PLAYER_ENTITY = "media_player.living_room"

# Plex → Trakt history follows the living room's player: a film played there to its end is on
# Trakt within seconds, without waiting for the next run.
PAIRS = (
    Pair("Plex → Trakt history", "plex", "trakt", ("history",), "add_only", (PLAYER_ENTITY,)),
    Pair("Trakt ⇄ SIMKL watchlist", "trakt", "simkl", ("watchlist",), "two_way"),
    Pair("Plex → Jellyfin history", "plex", "jellyfin", ("history",), "add_only"),
    Pair("AniList ⇄ SIMKL watchlist", "anilist", "simkl", ("watchlist",), "two_way"),
    # Matched through the anime id mapping list (served by the simulators).
    Pair("AniList ⇄ Trakt watchlist", "anilist", "trakt", ("watchlist",), "two_way"),
    Pair("Plex → MDBList history", "plex", "mdblist", ("history",), "add_only"),
)


def player_configuration(sim_port: int) -> str:
    """The YAML that sets up the living room's player on the simulated Plex server."""
    plex_port = sim_port + ENDPOINTS.index("plex")
    return (
        "media_player:\n"
        "  - platform: crosswatch_demo_player\n"
        "    name: Living room\n"
        f"    url: http://127.0.0.1:{plex_port}\n"
        f"    token: {PLEX_SERVER_TOKEN}\n"
    )


class DemoError(RuntimeError):
    """The demo cannot go on (the message says why and what to do)."""


def say(text: str = "") -> None:
    """A line for the person running the demo."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# -- the simulators -------------------------------------------------------------------------------


class Simulators:
    """`python -m tests.demo.simulators` as a child process."""

    def __init__(
        self, state_dir: Path, base_port: int, log_path: Path, *, watch_every: float = 0
    ) -> None:
        """Where the world is kept, the first of its ports and where its log goes.

        `watch_every`: how often the simulated user plays one more title on Plex (seconds; 0:
        never).
        """
        self.state_dir = state_dir
        self.base_port = base_port
        self.log_path = log_path
        self.watch_every = watch_every
        self._process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    async def start(self, within: float = 120) -> Json:
        """Start them; the JSON line they announce themselves with."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.demo.simulators",
            "--state-dir",
            str(self.state_dir),
            "--host",
            "127.0.0.1",
            "--base-port",
            str(self.base_port),
            "--watch-every",
            str(self.watch_every),
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,  # Ctrl-C reaches us; we stop them with SIGTERM
        )
        assert process.stdout is not None
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = await asyncio.wait_for(process.stdout.readline(), max(remaining, 0.1))
            except TimeoutError:
                raise self.error(f"the simulators did not start within {within:.0f} s") from None
            if not line:
                code = await process.wait()
                raise self.error(f"the simulators exited with {code}")
            with contextlib.suppress(ValueError):
                info = json.loads(line)
                if isinstance(info, dict) and info.get("ready"):
                    return info

    async def wait(self) -> int:
        """Wait until they exit; the exit code."""
        assert self._process is not None
        return await self._process.wait()

    async def stop(self, within: float = 30) -> None:
        """SIGTERM (they save the world), then SIGKILL after `within` seconds."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), within)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def error(self, message: str) -> DemoError:
        """A DemoError with the tail of their log."""
        try:
            tail = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        except FileNotFoundError:
            tail = []
        return DemoError("\n".join([message, f"---- {self.log_path} (tail) ----", *tail]))


# -- the first start's setup ---------------------------------------------------------------------


async def add_account(client: HassClient, kind: str, service: Json) -> str:
    """Add one account by its config flow, filling each step from the simulators' form inputs.

    Code sign-ins (Trakt, SIMKL, Plex) are approved by the simulators on their first poll.
    An account that exists already is fine (a bootstrap that stopped half-way runs again).
    """
    forms: dict[str, Json] = service.get("form", {})
    flow = await client.config_flow(DOMAIN)
    await flow.choose(kind)
    for _ in range(20):
        if flow.type == "create_entry":
            return str(flow.result["title"])
        if flow.type == "abort":
            if flow.result.get("reason") == "already_configured":
                return f"{kind} (already there)"
            raise FlowError(f"{kind}: the flow aborted: {flow.result}")
        if flow.result.get("errors"):
            raise FlowError(f"{kind}: {flow.step_id} shows errors: {flow.result}")
        if flow.type == "menu":
            await flow.choose(forms[str(flow.step_id)]["next_step_id"])
        elif flow.type in ("progress", "progress_done"):
            await flow.wait(within=120)
        else:  # a form: what the simulators say to enter, else what the form suggests
            await flow.submit({**flow.defaults(), **forms.get(str(flow.step_id), {})})
    raise FlowError(f"{kind}: the flow did not finish: {flow.result}")


async def sync_entry_id(client: HassClient) -> str:
    """The sync entry's id, made first if there is none."""
    for entry in await client.config_entries(DOMAIN):
        if "pair" in (entry.get("supported_subentry_types") or {}):
            return str(entry["entry_id"])
    flow = await client.config_flow(DOMAIN)
    await flow.choose("sync")
    flow.expect("form", "sync")
    await flow.submit()
    flow.expect("create_entry")
    return str(flow.result["result"]["entry_id"])


async def use_anime_map(client: HassClient, sync_id: str, url: str) -> str:
    """Point the sync entry's anime id mapping list at the simulators' (the demo stays offline)."""
    flow = await client.options_flow(sync_id)
    flow.expect("form", "sync")
    await flow.submit({"anime_map_url": url})
    flow.expect("create_entry")
    return url


async def add_pair(client: HassClient, sync_id: str, pair: Pair, unique_ids: dict[str, str]) -> str:
    """Add a pair through the subentry flow, the form's defaults for everything else."""
    flow = await client.subentry_flow(sync_id, "pair")
    flow.expect("form", "user")
    await flow.submit(
        {
            **flow.defaults(),
            "name": pair.name,
            "source": unique_ids[pair.source],
            "target": unique_ids[pair.target],
            "features": list(pair.features),
            "mode": pair.mode,
            "dry_run": False,
            **({"follow_players": list(pair.follows)} if pair.follows else {}),
        }
    )
    if flow.type == "abort" and flow.result.get("reason") == "already_configured":
        return "already there"
    flow.expect("create_entry")
    return "added"


async def bootstrap(client: HassClient, info: Json) -> None:
    """Onboard, then add the accounts, the sync entry and the pairs."""
    if await client.onboarded():
        await client.login(USERNAME, PASSWORD)
    else:
        say(f"demo: onboarding (owner {USERNAME!r})")
        await client.onboard(name=NAME, username=USERNAME, password=PASSWORD)
    await client.wait_running()
    services: dict[str, Json] = info["services"]
    for kind in ACCOUNTS:
        say(f"demo: adding the {kind} account: {await add_account(client, kind, services[kind])}")
    await client.wait_running(entries_of=DOMAIN)
    sync_id = await sync_entry_id(client)
    say(
        f"demo: anime id mapping list: {await use_anime_map(client, sync_id, info['anime_map_url'])}"
    )
    await asyncio.sleep(0.5)  # the new option reloads the sync entry
    await client.wait_running(entries_of=DOMAIN)
    unique_ids = {kind: str(services[kind]["unique_id"]) for kind in ACCOUNTS}
    for pair in PAIRS:
        since = datetime.now(UTC).replace(microsecond=0)  # last_run is shown in seconds
        say(f"demo: pair {pair.name}: {await add_pair(client, sync_id, pair, unique_ids)}")
        # Each new pair reloads the sync entry, and every pair runs again. The next pair (and
        # its reload) waits until those runs are over: a reload that closed the state store
        # while a run still read it has crashed Home Assistant (SIGSEGV in sqlite3).
        await asyncio.sleep(0.5)
        await client.wait_running(entries_of=DOMAIN)
        await wait_for_runs(client, since)


async def pair_states(client: HassClient) -> dict[str, dict[str, str]]:
    """Each pair's entities' states by translation key, by the pair's (device) name."""
    entities = await client.entities(DOMAIN)
    states = {s["entity_id"]: str(s["state"]) for s in await client.get("/api/states")}
    pairs: dict[str, dict[str, str]] = {}
    for entry in await client.config_entries(DOMAIN):
        if "pair" not in (entry.get("supported_subentry_types") or {}):
            continue
        for device in await client.devices(str(entry["entry_id"])):
            mine = {
                str(e["translation_key"]): states.get(e["entity_id"], "unknown")
                for e in entities
                if e["device_id"] == device["id"]
            }
            if "last_result" in mine:
                pairs[str(device["name"])] = mine
    return pairs


def _ran_since(states: dict[str, str], since: datetime | None) -> bool:
    """Whether a pair is idle with a run (after `since`) behind it, or unavailable."""
    if states.get("last_result") == "unavailable":
        return True
    if states.get("running") != "off" or states.get("last_result") in (None, "unknown"):
        return False
    if since is None:
        return True
    try:
        return datetime.fromisoformat(states.get("last_run", "")) >= since
    except ValueError:
        return False


async def wait_for_runs(
    client: HassClient, since: datetime | None, within: float = 120
) -> dict[str, dict[str, str]]:
    """Wait until every pair is idle after a run (since `since`), or `within` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        pairs = await pair_states(client)
        if pairs and all(_ran_since(states, since) for states in pairs.values()):
            return pairs
        if time.monotonic() > deadline:
            say(f"demo: some pairs are still busy after {within:.0f} s; carrying on")
            return pairs
        await asyncio.sleep(0.5)


async def pair_results(client: HassClient, since: datetime) -> list[str]:
    """One line per pair once each ran since `since` (startup runs every pair): its result."""
    pairs = await wait_for_runs(client, since)
    return [
        f"{name}: {states['last_result']}; its last run planned {states.get('planned_adds')}"
        f" adds, {states.get('planned_removes')} removals, {states.get('planned_updates')}"
        " updates"
        for name, states in sorted(pairs.items())
    ]


# -- the whole demo ---------------------------------------------------------------------------


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on a local port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def saved_sim_port(marker: Path) -> int | None:
    """The simulators' port of the first start: the accounts point there."""
    try:
        return int(json.loads(marker.read_text(encoding="utf-8"))["sim_port"])
    except FileNotFoundError, KeyError, ValueError, TypeError:
        return None


def check_ports(port: int, sim_port: int) -> None:
    """Fail early when a port the demo needs is taken."""
    for needed in (port, *range(sim_port, sim_port + 9)):
        if port_busy(needed):
            raise DemoError(
                f"port {needed} is in use (an earlier demo still running?); stop it, or set "
                "CROSSWATCH_DEMO_PORT / CROSSWATCH_DEMO_SIM_PORT"
            )


async def start(simulators: Simulators, hass: HassProcess, *, configured: bool) -> Json:
    """Start the simulators and Home Assistant; the simulators' announcement.

    Configured accounts reach for the simulators as soon as Home Assistant starts, so then the
    simulators go first; before the first setup, both start at once.
    """
    say(f"demo: starting the simulators (log: {simulators.log_path})")
    if configured:
        info = await simulators.start()
        say(f"demo: starting Home Assistant (log: {hass.log_path})")
        await hass.start(wait_for=DOMAIN)
        return info
    say(f"demo: starting Home Assistant (log: {hass.log_path})")
    simulated = asyncio.ensure_future(simulators.start())
    running = asyncio.ensure_future(hass.start(wait_for=None))
    try:
        announced = await simulated
        await running
    except BaseException:
        simulated.cancel()
        running.cancel()
        raise
    return announced


async def set_up(client: HassClient, info: Json, *, configured: bool) -> None:
    """Bootstrap on the first start; log in and wait for the entries on later ones."""
    if configured:
        await client.login(USERNAME, PASSWORD)
        await client.wait_running(entries_of=DOMAIN, within=120)
    else:
        say("demo: first start: setting Home Assistant up")
        await bootstrap(client, info)


def mark_set_up(marker: Path, sim_port: int) -> None:
    """Remember that the first start's setup is done, and where the simulators listen."""
    stamp = {
        "username": USERNAME,
        "password": PASSWORD,
        "sim_port": sim_port,
        "at": datetime.now(UTC).isoformat(),
    }
    marker.write_text(json.dumps(stamp) + "\n", encoding="utf-8")


async def until_one_exits(hass: HassProcess, simulators: Simulators) -> str:
    """Wait until Home Assistant or the simulators exit by themselves; which one did."""
    waits = [asyncio.ensure_future(hass.wait()), asyncio.ensure_future(simulators.wait())]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return "Home Assistant" if waits[0] in done else "the simulators"


async def run(
    directory: Path,
    port: int,
    sim_port: int,
    hosts: Sequence[str],
    public: str,
    *,
    watch_every: float = 0,
) -> int:
    """Run the demo until a signal; the exit code."""
    started, since = time.monotonic(), datetime.now(UTC).replace(microsecond=0)
    config, marker = directory / "config", directory / MARKER
    if (saved := saved_sim_port(marker)) is not None and saved != sim_port:
        say(f"demo: the accounts use the simulators on port {saved}, so they listen there again")
        sim_port = saved
    check_ports(port, sim_port)
    task = asyncio.current_task()
    assert task is not None
    stopping = asyncio.Event()

    def on_signal() -> None:
        if stopping.is_set():
            say("demo: still stopping ...")
            return
        stopping.set()
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, on_signal)

    write_config(
        config, port, name="CrossWatch demo", hosts=hosts,
        components={"crosswatch": CROSSWATCH, "crosswatch_demo_player": PLAYER},
        extra=player_configuration(sim_port),
    )  # fmt: skip
    simulators = Simulators(
        directory / "simulators", sim_port, directory / "simulators.log", watch_every=watch_every
    )
    hass = HassProcess(config, port, log_path=directory / "hass.log")
    try:
        configured = marker.exists()
        info = await start(simulators, hass, configured=configured)
        async with HassClient(hass.url) as client:
            await set_up(client, info, configured=configured)
            if not configured:
                mark_set_up(marker, sim_port)
            results = await pair_results(client, since)
        url = f"http://{public}:{port}"
        say()
        say(f"CrossWatch demo ready in {time.monotonic() - started:.0f} s:  {url}")
        say(f"  login: {USERNAME} / {PASSWORD}")
        for line in results:
            say(f"  {line}")
        say(f"  the integration: {url}/config/integrations/integration/{DOMAIN}")
        if watch_every:
            say(
                f"  the simulated user watches one more title on Plex every {watch_every:g} s"
                f" ({simulators.log_path.name} names it): Sync now on Plex → Trakt history"
                " carries it over"
            )
        say("Ctrl-C stops Home Assistant and the simulators; script/demo --reset starts over.")
        which = await until_one_exits(hass, simulators)
        say(f"demo: {which} stopped by itself; stopping the rest")
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        return 0
    else:
        return 1
    finally:
        say("demo: stopping Home Assistant and the simulators ...")
        code = await hass.stop()
        await simulators.stop()
        say(f"demo: stopped (Home Assistant exited with {code})")


def reset(directory: Path, port: int, sim_port: int) -> None:
    """Delete the demo's state (never while it runs)."""
    if port_busy(port) or port_busy(sim_port):
        raise DemoError("the demo seems to be running: stop it before --reset")
    shutil.rmtree(directory, ignore_errors=True)
    say(f"demo: deleted {directory}")


def seconds(text: str) -> float:
    """A number of seconds, 0 or more (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def main(argv: list[str] | None = None) -> int:
    """The command line (script/demo passes its environment on as options)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.realhass.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env = os.environ.get
    parser.add_argument("--dir", default=str(REPO / ".demo"), help="where the demo keeps state")
    # String defaults go through `type` too, so a bad environment value is reported as a usage
    # error naming the option, not as a traceback.
    parser.add_argument("--port", type=int, default=env("CROSSWATCH_DEMO_PORT", "8123"))
    parser.add_argument(
        "--sim-port",
        type=int,
        default=env("CROSSWATCH_DEMO_SIM_PORT", "8301"),
        help="the simulators' first port (they take ten; kept after the first start)",
    )
    parser.add_argument(
        "--host",
        action="append",
        help="an address for Home Assistant to listen on (default 127.0.0.1; 0.0.0.0 for all)",
    )
    parser.add_argument(
        "--watch-every",
        type=seconds,
        default=env("CROSSWATCH_DEMO_WATCH_EVERY", "120"),
        metavar="SECONDS",
        help="the simulated user plays one more title on Plex this often (0: never)",
    )
    parser.add_argument("--reset", action="store_true", help="delete the demo's state first")
    args = parser.parse_args(argv)
    directory = Path(args.dir).resolve()
    hosts = args.host or env("CROSSWATCH_DEMO_HOST", "127.0.0.1").split(",")
    public = "localhost" if hosts == ["127.0.0.1"] or "0.0.0.0" in hosts else hosts[0]  # noqa: S104
    try:
        if args.reset:
            reset(directory, args.port, args.sim_port)
        return asyncio.run(
            run(directory, args.port, args.sim_port, hosts, public, watch_every=args.watch_every)
        )
    except (DemoError, HassError, ApiError, FlowError, TimeoutError) as err:
        sys.stderr.write(f"demo: {err}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
