"""Run a real Home Assistant (`python -m homeassistant`) with CrossWatch from the working tree.

The configuration is minimal, like config/configuration.yaml: the UI, the config panel and
diagnostics, all of which load from the test requirements, so Home Assistant starts with
`--skip-pip` and needs no network; and, as Home Assistant's default configuration has them,
automations, scripts and scenes from their own files, which are the user's and kept. Its output
goes to a log file whose tail comes with every failure.
"""

import asyncio
from collections.abc import Mapping, Sequence
import contextlib
from datetime import UTC, datetime
import importlib
import json
from pathlib import Path
import signal
import socket
import sys
import time
from types import TracebackType
from typing import IO, Any, Self

import aiohttp

REPO = Path(__file__).resolve().parents[2]
CROSSWATCH = REPO / "custom_components" / "crosswatch"
# Not default_config: several of its integrations need hardware or binaries. The UI, the config
# panel, history and diagnostics; requirements.py installs what they (and the defaults) need.
CONFIGURED_DOMAINS = ("frontend", "config", "history", "logbook", "system_health")

# Included as Home Assistant's own default configuration includes them: the UI's automation,
# script and scene editors write these files. Created empty when missing, never rewritten.
USER_FILES = {"automations.yaml": "[]\n", "scripts.yaml": "", "scenes.yaml": ""}
INCLUDED_DOMAINS = ("automation", "script", "scene")  # the domains those files configure

CONFIGURATION = """\
# Written by tests/realhass/process.py; rewritten on every start.
# Your automations, scripts and scenes go in automations.yaml, scripts.yaml and scenes.yaml
# (the UI's editors write them there): those files are kept.
homeassistant:
  name: {name}
  unit_system: metric
  time_zone: UTC
  country: US
  latitude: 52.37
  longitude: 4.89
  elevation: 0

{http}
{integrations}
{includes}
logger:
  default: warning
  logs:
    homeassistant.setup: info
    homeassistant.core: info
    custom_components.crosswatch: {crosswatch_level}
{extra}"""


class HassError(RuntimeError):
    """Home Assistant did not start, stop or answer as expected; carries its log's tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(
    config_dir: Path,
    port: int,
    *,
    name: str = "CrossWatch",
    hosts: Sequence[str] = ("127.0.0.1",),
    debug: bool = True,
    components: Mapping[str, Path] | None = None,
    extra: str = "",
) -> None:
    """Write configuration.yaml and link the custom integrations into `custom_components/`.

    configuration.yaml is the demo's (its port, its log levels), rewritten every time; the files
    it includes for automations, scripts and scenes are the user's: created when missing, kept
    as they are otherwise. `components` maps each custom integration's domain to its folder
    (CrossWatch's, from the working tree, by default); `extra` is YAML appended to the
    configuration.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    for file_name, empty in USER_FILES.items():
        user_file = config_dir / file_name
        if not user_file.exists():
            user_file.write_text(empty, encoding="utf-8")
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION.format(
            name=name,
            http=http_settings(config_dir, port, hosts),
            integrations="".join(f"{domain}:\n" for domain in CONFIGURED_DOMAINS),
            includes="".join(
                f"{domain}: !include {file_name}\n"
                for domain, file_name in zip(INCLUDED_DOMAINS, USER_FILES, strict=True)
            ),
            crosswatch_level="debug" if debug else "info",
            extra=extra,
        ),
        encoding="utf-8",
    )
    folder = config_dir / "custom_components"
    if folder.is_symlink() or folder.is_file():
        folder.unlink()  # an older layout linked the whole folder to the working tree's
    folder.mkdir(exist_ok=True)
    for domain, target in (components or {"crosswatch": CROSSWATCH}).items():
        link = folder / domain
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            raise HassError(f"{link} exists and is not a link to {target}; remove it")
        link.symlink_to(target, target_is_directory=True)


def http_settings(config_dir: Path, port: int, hosts: Sequence[str]) -> str:
    """Where Home Assistant listens: YAML for older versions, its settings store for newer.

    Since 2026.10 Home Assistant keeps these settings in `.storage/http` and takes YAML only
    as a trial it reverts (with a restart) unless a person confirms it within five minutes;
    a demo that moved off port 8123 would restart itself back onto it. So where the store
    exists its stable settings are written directly, as a confirmed configuration would be.
    """
    settings: dict[str, Any] = {"server_port": port}
    if hosts:
        settings["server_host"] = list(hosts)
    try:
        http_config = importlib.import_module("homeassistant.components.http.config")
    except ImportError:  # before 2026.10: YAML is the only place
        hosts_line = f"  server_host: [{', '.join(hosts)}]\n" if hosts else ""
        return f"http:\n  server_port: {port}\n{hosts_line}"
    stable = dict(http_config.HTTP_STORAGE_SCHEMA(settings))
    stable.update(created_at=datetime.now(UTC).isoformat(), error=None, error_message=None)
    store = config_dir / ".storage" / http_config.STORAGE_KEY
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(
        json.dumps(
            {
                "version": http_config.STORAGE_VERSION,
                "minor_version": http_config.STORAGE_MINOR_VERSION,
                "key": http_config.STORAGE_KEY,
                "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return ""


class HassProcess:
    """One Home Assistant process on a config directory; start, wait until ready, stop."""

    def __init__(
        self,
        config_dir: Path,
        port: int,
        *,
        python: str | None = None,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """Bind to a config directory (see write_config) and the port it names."""
        self.config_dir = config_dir
        self.port = port
        self.python = python or sys.executable
        self.log_path = log_path or config_dir / "hass.out.log"
        self.url = f"http://{host}:{port}"
        self._process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._process.pid if self._process else None

    async def start(self, *, within: float = 120, wait_for: str | None = "crosswatch") -> None:
        """Start Home Assistant and wait until its frontend answers.

        With `wait_for`, also wait until the log says that integration is set up (CrossWatch is
        set up only once it has a config entry; pass None before the first one exists). Its
        entries may still be loading: HassClient.wait_running waits for those.
        """
        if self._process is not None:
            raise HassError("already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self._log.write(f"\n==== starting Home Assistant on port {self.port}\n".encode())
        self._log.flush()
        self._process = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "homeassistant",
            "--config",
            str(self.config_dir),
            "--skip-pip",
            # Not the working tree: its own custom_components package would hide the config's,
            # and with it every custom integration but CrossWatch.
            cwd=self.config_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches whoever started it, who stops
            # it with SIGTERM; Home Assistant never sees two stop requests.
            start_new_session=True,
        )
        try:
            await self._wait_ready(within, wait_for)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, within: float, wait_for: str | None) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not await self._answers(session, "/manifest.json"):
                self._check_alive()
                self._check_recovery_mode()
                if time.monotonic() > deadline:
                    raise self.error(f"Home Assistant did not answer within {within:.0f} s")
                await asyncio.sleep(0.25)
        self._check_recovery_mode()
        if wait_for is None:
            return
        # Only the log says so without a login (the onboarding API is gone once onboarded).
        while f"Setup of domain {wait_for} took" not in self._log_since_start():
            self._check_alive()
            self._check_recovery_mode()
            if time.monotonic() > deadline:
                raise self.error(f"{wait_for} was not set up within {within:.0f} s")
            await asyncio.sleep(0.25)

    async def _answers(self, session: aiohttp.ClientSession, path: str) -> bool:
        try:
            async with session.get(self.url + path) as response:
                return response.status == 200
        except aiohttp.ClientError, TimeoutError:
            return False

    def _log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode("utf-8", errors="replace")

    def _check_recovery_mode(self) -> None:
        if "Activating recovery mode" in self._log_since_start():
            raise self.error(
                "Home Assistant started in recovery mode, without custom integrations: are the "
                "requirements of its default integrations (its frontend) installed? "
                "`python -m tests.realhass.requirements` installs them"
            )

    def _check_alive(self) -> None:
        if self._process is not None and self._process.returncode is not None:
            raise self.error(f"Home Assistant exited with {self._process.returncode}")

    async def stop(self, *, within: float = 30) -> int | None:
        """SIGTERM, then SIGKILL after `within` seconds; the exit code (None if never started)."""
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), within)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            return process.returncode
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    async def wait(self) -> int:
        """Wait until the process exits by itself (or is stopped); its exit code."""
        process = self._process
        if process is None:
            raise HassError("not started")
        return await process.wait()

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the captured output."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log_errors(self) -> list[str]:
        """The ERROR lines of the captured output, and tracebacks' first lines."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if " ERROR (" in line]

    def error(self, message: str) -> HassError:
        """A HassError with the log's tail attached."""
        return HassError(f"{message}\n---- {self.log_path} (tail) ----\n{self.log_tail()}")

    async def __aenter__(self) -> Self:
        """Start (waiting for CrossWatch only if the config already has entries)."""
        await self.start(wait_for=None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()
