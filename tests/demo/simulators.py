"""Serve the demo's simulated world: seven services and the anime id mapping list, kept between runs.

    python -m tests.demo.simulators --state-dir .demo/simulators --host 127.0.0.1 --base-port 8301

Ports, from `--base-port` on (`--base-port 0`: a free port each, for tests):

    +0 Trakt         +3 Jellyfin      +6 plex.tv (PINs, account, resources)
    +1 SIMKL         +4 Emby          +7 Plex Discover (watchlist)
    +2 AniList       +5 Plex server   +8 Plex metadata service
    +9 the anime id mapping list (GitHub's raw file host: `anime_map_url` in the announcement)
    +10 MDBList

When every port listens, one JSON line goes to stdout (and the same object to
`<state-dir>/world.json`): each service's base URL and what its config flow asks for
(client ids and secrets the simulators accept, user names and passwords, the AniList token and
MDBList API key, the
Plex tokens and URLs), the unique id the account entry will get, and counts of the world. See
`announcement()` for the fields. Logs go to stderr.

Sign-ins need no human: Trakt and SIMKL (AUTH V2) device codes and Plex PINs are approved on
their first poll. Jellyfin and Emby take the demo user's password; AniList takes the demo token.

The world is pickled to `<state-dir>/world.pickle` on start (when seeded fresh), every
`--save-every` seconds, and on SIGINT/SIGTERM, always by writing a temporary file and renaming
it. A later run loads it, so tokens Home Assistant holds stay valid and its sync baselines still
describe the services; it seeds a fresh world only when the file is absent (or with `--fresh`).
The simulators' clocks follow the wall clock while served, and Trakt dates its tokens by it.
At every start the next episodes of the shows the user follows are dated from the wall clock
(`world.schedule_upcoming`), so the calendars always show the coming week.

With `--watch-every SECONDS`, the demo user goes on watching: one more title is played on Plex
that often (`activity.py`), and logged, so the next sync has something to carry over.
"""

import argparse
import asyncio
from collections.abc import Callable
import contextlib
import copyreg
from datetime import UTC, datetime
import io
import itertools
import json
import logging
import os
from pathlib import Path
import pickle
import signal
import sys
import time
from typing import Any, Final

from aiohttp import web

from tests.simulators import (
    anilist as anilist_sim,
    anime_lists,
    mdblist as mdblist_sim,
    plex as plex_sim,
    simkl as simkl_sim,
    trakt as trakt_sim,
)
from tests.simulators.mediabrowser import mediabrowser_app
from tests.simulators.openapi import RECORDED

from . import activity, world as demo
from .world import World

LOGGER = logging.getLogger("crosswatch.demo.simulators")

# Endpoint names in port order.
ENDPOINTS: Final = (
    "trakt",
    "simkl",
    "anilist",
    "jellyfin",
    "emby",
    "plex",
    "plex_tv",
    "plex_discover",
    "plex_metadata",
    "anime_lists",
    "mdblist",
)
STATE_FILE: Final = "world.pickle"
INFO_FILE: Final = "world.json"
DEFAULT_SAVE_EVERY: Final = 30.0
FORMAT_VERSION: Final = 2  # bump when a saved world can no longer be loaded (2: saved dates)

type Ready = Callable[[dict[str, Any]], None]


class LoadError(Exception):
    """The saved world cannot be loaded (another format, or code that changed under it)."""


# -- persistence --------------------------------------------------------------------------------


def _reduce_count(counter: itertools.count[int]) -> tuple[Any, tuple[int, ...]]:
    """itertools.count no longer pickles (Python 3.14): rebuild it from its repr."""
    inner = repr(counter).removeprefix("count(").removesuffix(")")
    return itertools.count, tuple(int(part) for part in inner.split(","))


def dumps(world: World) -> bytes:
    """The world as bytes."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, itertools.count: _reduce_count}
    pickler.dump({"format": FORMAT_VERSION, "world": world})
    return buffer.getvalue()


def loads(data: bytes) -> World:
    """A world from `dumps`; ValueError when it is of another format."""
    saved = pickle.loads(data)  # noqa: S301 - our own state file
    if not isinstance(saved, dict) or saved.get("format") != FORMAT_VERSION:
        raise ValueError("the saved world is of another format")
    world = saved["world"]
    if not isinstance(world, World):
        raise TypeError("the saved state holds no world")
    return world


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def save(world: World, state_dir: Path) -> None:
    """Save the world (dropping what the simulators record for tests, which only grows)."""
    forget_recordings(world)
    write_atomically(state_dir / STATE_FILE, dumps(world))


def load_or_seed(
    state_dir: Path, *, seed: int = demo.SEED, fresh: bool = False
) -> tuple[World, bool]:
    """The saved world, or a new one (saved at once); whether it was seeded now."""
    path = state_dir / STATE_FILE
    if path.exists() and not fresh:
        try:
            world = loads(path.read_bytes())
        except (
            ValueError,
            TypeError,
            pickle.UnpicklingError,
            AttributeError,
            ImportError,
            EOFError,
        ) as err:
            raise LoadError(f"{path}: {err!r}") from err
        _add_new_attributes(world, demo.build_world(world.seed))
        return world, False
    world = demo.build_world(seed)
    save(world, state_dir)
    return world, True


def _add_new_attributes(saved: object, current: object, depth: int = 2) -> None:
    """Give a saved world the attributes simulators gained since it was saved (their defaults).

    A simulator that grew a field (a quirk, a counter) would otherwise fail on the first request
    that reads it; a renamed or retyped one still needs `--fresh`.
    """
    mine, theirs = getattr(saved, "__dict__", None), getattr(current, "__dict__", None)
    if mine is None or theirs is None or type(saved) is not type(current):
        return
    for name, value in theirs.items():
        if name not in mine:
            mine[name] = value
        elif depth > 0:
            _add_new_attributes(mine[name], value, depth - 1)


def forget_recordings(world: World) -> None:
    """Empty the request logs the simulators keep for tests' assertions."""
    world.trakt.headers_seen.clear()
    world.simkl.headers_seen.clear()
    world.simkl.calls.clear()
    world.plex.writes.clear()
    world.anilist.mutations.clear()
    world.anime_lists.requests.clear()


# -- serving ------------------------------------------------------------------------------------


def sync_clocks(world: World, now: float | None = None) -> None:
    """Move every simulator's clock on to the wall clock (never back)."""
    epoch = time.time() if now is None else now
    moment = datetime.fromtimestamp(epoch, UTC)
    world.trakt._clock = max(world.trakt._clock, moment)
    world.simkl.now = max(world.simkl.now, moment)
    world.anilist.now = max(world.anilist.now, int(epoch))
    world.plex.now = max(world.plex.now, int(epoch))
    world.mdblist.now = max(world.mdblist.now, moment)


def prepare(world: World) -> None:
    """Ready a seeded or loaded world for serving in real time."""
    world.trakt.issued_at = time.time  # Home Assistant judges token expiry by the wall clock
    world.trakt.auto_approve = world.simkl.auto_approve = world.plex.auto_approve = True
    world.plex.pins.clear()  # plex.tv's PIN ids restart with the app; old PINs are dead anyway
    sync_clocks(world)
    # The calendars show the coming week whenever the demo starts, however old the world.
    for line in demo.schedule_upcoming(world, datetime.now(UTC)):
        LOGGER.info("Upcoming episodes: %s", line)


def make_apps(world: World) -> dict[str, web.Application]:
    """One app per endpoint, in port order."""
    plex = plex_sim.make_apps(world.plex)
    apps = {
        "trakt": trakt_sim.make_app(world.trakt),
        "simkl": simkl_sim.add_calendar_routes(simkl_sim.simkl_app(world.simkl), world.simkl),
        "anilist": anilist_sim.build_app(world.anilist),
        "jellyfin": mediabrowser_app(world.jellyfin),
        "emby": mediabrowser_app(world.emby),
        "plex": plex.server,
        "plex_tv": plex.plex_tv,
        "plex_discover": plex.discover,
        "plex_metadata": plex.metadata,
        "anime_lists": anime_lists.make_app(world.anime_lists),
        "mdblist": mdblist_sim.mdblist_app(world.mdblist),
    }
    assert tuple(apps) == ENDPOINTS
    return apps


def announcement(world: World, urls: dict[str, str], *, fresh: bool) -> dict[str, Any]:
    """What a parent process needs: URLs, credentials, form inputs, unique ids, counts."""
    plex, jf, emby = world.plex, world.jellyfin, world.emby
    jf_user, emby_user = world.jellyfin_user(), world.emby_user()
    plex_advanced = {
        "plex_tv_url": urls["plex_tv"],
        "discover_url": urls["plex_discover"],
        "metadata_url": urls["plex_metadata"],
    }
    return {
        "ready": True,
        "pid": os.getpid(),
        "fresh": fresh,
        "seed": world.seed,
        "urls": urls,
        # The sync entry's option: where CrossWatch downloads the anime id mapping list.
        "anime_map_url": anime_lists.url(urls["anime_lists"]),
        "services": {
            "trakt": {
                "base_url": urls["trakt"],
                "client_id": trakt_sim.CLIENT_ID,
                "client_secret": trakt_sim.CLIENT_SECRET,
                "username": world.trakt.slug,
                "unique_id": f"trakt:{world.trakt.slug}",
                "sign_in": "device code, approved on its first poll",
                "form": {
                    "trakt": {
                        "client_id": trakt_sim.CLIENT_ID,
                        "client_secret": trakt_sim.CLIENT_SECRET,
                        "advanced": {"base_url": urls["trakt"]},
                    }
                },
            },
            "simkl": {
                "base_url": urls["simkl"],
                "client_id": simkl_sim.V2_CLIENT_ID,
                # The user's own token (a V1 one), for acting as the user on simkl.com.
                "access_token": simkl_sim.TOKEN,
                "username": world.simkl.name,
                "unique_id": f"simkl:{world.simkl.account_id}",
                "sign_in": "AUTH V2 device code, approved on its first poll",
                "form": {
                    "simkl": {
                        "client_id": simkl_sim.V2_CLIENT_ID,
                        "advanced": {"base_url": urls["simkl"]},
                    }
                },
            },
            "anilist": {
                "base_url": urls["anilist"],
                "client_id": demo.ANILIST_CLIENT_ID,
                "token": demo.ANILIST_TOKEN,
                "user_id": demo.ANILIST_USER_ID,
                "username": demo.USER,
                "score_format": demo.ANILIST_SCORE_FORMAT,
                "unique_id": f"anilist:{demo.ANILIST_USER_ID}",
                "sign_in": "pasted token",
                "form": {
                    "anilist": {
                        "client_id": demo.ANILIST_CLIENT_ID,
                        "advanced": {"base_url": urls["anilist"]},
                    },
                    "anilist_token": {"token": demo.ANILIST_TOKEN},
                },
            },
            "mdblist": {
                "base_url": urls["mdblist"],
                "api_key": world.mdblist.api_key,
                "user_id": world.mdblist.user_id,
                "username": world.mdblist.username,
                "unique_id": f"mdblist:{world.mdblist.user_id}",
                "sign_in": "API key",
                "form": {
                    "mdblist": {
                        "api_key": world.mdblist.api_key,
                        "advanced": {"base_url": urls["mdblist"]},
                    }
                },
            },
            "plex": {
                "server_url": urls["plex"],
                **plex_advanced,
                "server_token": plex.server_token,
                "account_token": plex.account_token,
                "machine_id": plex.machine_id,
                "server_name": plex.server_name,
                "username": plex.username,
                "account_uuid": plex.account_uuid,
                # plex_sign_in keys the entry by account and server, plex_direct by server only.
                "unique_id": f"plex:{plex.account_uuid}@{plex.machine_id}",
                "unique_id_direct": f"plex:{plex.machine_id}",
                "sign_in": "plex.tv PIN, approved on its first poll; one server, chosen by itself",
                "form": {
                    "plex": {"next_step_id": "plex_sign_in"},
                    "plex_sign_in": {"advanced": {**plex_advanced, "verify_ssl": True}},
                    "plex_direct": {
                        "server_url": urls["plex"],
                        "token": plex.server_token,
                        "advanced": {**plex_advanced, "verify_ssl": True},
                    },
                },
            },
            "jellyfin": {
                "url": urls["jellyfin"],
                "username": jf_user.name,
                "password": jf_user.password,
                "server_id": jf.server_id,
                "server_name": jf.server_name,
                "user_id": jf_user.id,
                "unique_id": f"jellyfin:{jf.server_id}:{jf_user.id}",
                "sign_in": "user name and password",
                "form": {
                    "jellyfin": {"next_step_id": "jellyfin_password"},
                    "jellyfin_password": {
                        "url": urls["jellyfin"],
                        "username": jf_user.name,
                        "password": jf_user.password,
                    },
                },
            },
            "emby": {
                "url": urls["emby"],
                "username": emby_user.name,
                "password": emby_user.password,
                "server_id": emby.server_id,
                "server_name": emby.server_name,
                "user_id": emby_user.id,
                "unique_id": f"emby:{emby.server_id}:{emby_user.id}",
                "sign_in": "user name and password",
                "form": {
                    "emby": {
                        "url": urls["emby"],
                        "username": emby_user.name,
                        "password": emby_user.password,
                    }
                },
            },
        },
        "world": demo.describe(world),
    }


class Servers:
    """The ten endpoints of one world, listening."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.apps = make_apps(world)
        self.runners: list[web.AppRunner] = []

    async def start(self, host: str, base_port: int) -> dict[str, str]:
        """Listen on consecutive ports from `base_port` (0: any free ones); the base URLs."""
        urls: dict[str, str] = {}
        try:
            for offset, (name, app) in enumerate(self.apps.items()):
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self.runners.append(runner)
                site = web.TCPSite(runner, host, base_port + offset if base_port else 0)
                await site.start()
                port = runner.addresses[0][1]
                shown = f"[{host}]" if ":" in host else host
                urls[name] = f"http://{shown}:{port}"
        except BaseException:
            await self.stop()
            raise
        # plex.tv names the server's address among the account's resources.
        self.world.plex.connections = [
            {"protocol": "http", "address": host, "port": int(urls["plex"].rpartition(":")[2]),
             "uri": urls["plex"], "local": True, "relay": False, "IPv6": ":" in host},
        ]  # fmt: skip
        return urls

    def forget_requests(self) -> None:
        """Empty each app's recording of the requests it served."""
        for app in self.apps.values():
            if RECORDED in app:  # the anime id mapping list is a file, not an API with a spec
                app[RECORDED].clear()

    async def stop(self) -> None:
        """Stop listening."""
        for runner in reversed(self.runners):
            await runner.cleanup()
        self.runners.clear()


async def serve(
    state_dir: Path,
    host: str = "127.0.0.1",
    base_port: int = 8301,
    *,
    seed: int = demo.SEED,
    fresh: bool = False,
    save_every: float = DEFAULT_SAVE_EVERY,
    watch_every: float = 0,
    ready: Ready | None = None,
    stop: asyncio.Event | None = None,
) -> World:
    """Serve the world until `stop` is set; saved on the way out. Returns the world.

    `watch_every` (seconds; 0: never): alice plays one more title on Plex that often.
    """
    stop = stop or asyncio.Event()
    world, seeded = load_or_seed(state_dir, seed=seed, fresh=fresh)
    LOGGER.info("%s the world in %s", "Seeded" if seeded else "Loaded", state_dir)
    prepare(world)
    servers = Servers(world)
    urls = await servers.start(host, base_port)
    try:
        info = announcement(world, urls, fresh=seeded)
        info["state_dir"] = str(state_dir)
        write_atomically(state_dir / INFO_FILE, json.dumps(info, indent=2).encode())
        if ready is not None:
            ready(info)
        last_save = last_watch = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, save_every))
            sync_clocks(world)
            if watch_every > 0 and time.monotonic() - last_watch >= watch_every:
                last_watch = time.monotonic()
                watch(world)
            if time.monotonic() - last_save >= save_every:
                servers.forget_requests()
                save(world, state_dir)
                last_save = time.monotonic()
    finally:
        await servers.stop()
        save(world, state_dir)
        LOGGER.info("Saved the world in %s", state_dir)
    return world


def watch(world: World) -> None:
    """The simulated user finishes one more title on Plex (logged: what the next sync carries)."""
    play = activity.watch_next(world.plex)
    if play is not None:
        LOGGER.info("%s watched %s on Plex", demo.USER, play.label)


def _print_line(info: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(
        Path(args.state_dir),
        args.host,
        args.base_port,
        seed=args.seed,
        fresh=args.fresh,
        save_every=args.save_every,
        watch_every=args.watch_every,
        ready=_print_line,
        stop=stop,
    )


def main(argv: list[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.demo.simulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--state-dir", default=".demo/simulators", help="where the world is kept")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--base-port", type=int, default=8301, help="first port (0: any free)")
    parser.add_argument("--seed", type=int, default=demo.SEED, help="the seed of a fresh world")
    parser.add_argument("--fresh", action="store_true", help="seed anew, discarding a saved world")
    parser.add_argument("--save-every", type=float, default=DEFAULT_SAVE_EVERY, metavar="SECONDS")
    parser.add_argument("--watch-every", type=float, default=0, metavar="SECONDS",
                        help="alice plays one more title on Plex this often (0: never)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    try:
        asyncio.run(_main(args))
    except LoadError as err:
        LOGGER.error("Cannot load the saved world (%s); start with --fresh to seed anew", err)  # noqa: TRY400
        return 2
    except OSError as err:
        LOGGER.error("Cannot serve the simulators: %s", err)  # noqa: TRY400
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
