"""Screenshots of the running demo for the README: integration, pair, repair, to-do, calendar.

The to-do list is the Trakt account's watchlist; the calendar shows its upcoming episodes.

    python -m tests.realhass.screenshots [--url http://127.0.0.1:8123] [--dir .demo] [--out docs/screenshots]

The repair needs something to decide, so the demo's SIMKL user first takes eight films off
their watchlist through SIMKL's own API, as they would on simkl.com. The Trakt ⇄ SIMKL pair
then wants to remove them from Trakt too (after a second run confirms the loss); that is more
than its deletion budget, so the removals are held and a repair asks the user. Nothing is approved: the demo stays as it was,
with the decision waiting.

Headless Chromium (Debian's `chromium` package) is driven by Playwright; script/screenshots
installs both when they are missing.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any

import aiohttp

from .api import HassClient, Json
from .demo import PASSWORD, USERNAME, say

DOMAIN = "crosswatch"
CHROMIUM = "/usr/bin/chromium"
# Chromium on a closed network: no background connections, no component updates.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WATCHLIST_PAIR = "Trakt ⇄ SIMKL watchlist"
SHOWN_PAIR = "Plex → Trakt history"
FILMS_TAKEN_OFF = 8
SHOWN_ACCOUNT = "Trakt"  # whose watchlist and calendar are shown


async def until[T](probe: Callable[[], Awaitable[T | None]], what: str, within: float = 90) -> T:
    """Poll `probe` until it returns something, or fail naming `what`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.5)
    raise TimeoutError(f"screenshots: {what} did not happen within {within:.0f} s")


async def pair_devices(client: HassClient) -> dict[str, Json]:
    """The pair devices of the sync entry, by name."""
    for entry in await client.config_entries(DOMAIN):
        if "pair" in (entry.get("supported_subentry_types") or {}):
            return {str(d["name"]): d for d in await client.devices(str(entry["entry_id"]))}
    raise RuntimeError("screenshots: the demo has no CrossWatch sync entry; is it set up?")


async def entity_of(client: HassClient, device: Json, translation_key: str) -> str:
    """The entity id of one of a device's entities."""
    for entity in await client.entities(DOMAIN):
        if entity["device_id"] == device["id"] and entity["translation_key"] == translation_key:
            return str(entity["entity_id"])
    raise RuntimeError(f"screenshots: {device['name']} has no {translation_key} entity")


async def held_repair(client: HassClient) -> Json | None:
    """CrossWatch's held-removals repair, if one is open."""
    issues: Json = await client.ws("repairs/list_issues")
    for issue in issues.get("issues", []):
        if issue.get("domain") == DOMAIN and str(issue.get("issue_id", "")).startswith("held_"):
            return dict(issue)
    return None


async def take_films_off_simkl_watchlist(simkl: Json, count: int) -> list[str]:
    """As the user would on simkl.com: take `count` films off the SIMKL watchlist."""
    headers = {
        "simkl-api-key": str(simkl["client_id"]),
        "Authorization": f"Bearer {simkl['access_token']}",
    }
    base = str(simkl["base_url"])
    # Every SIMKL call names its app in the URL (SIMKL answers 412 without).
    app = {"app-name": "crosswatch-screenshots", "app-version": "1.0"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{base}/sync/all-items/movies/plantowatch", params=app) as reply:
            reply.raise_for_status()
            listed = (await reply.json()) or {}
        films = [row["movie"] for row in listed.get("movies", [])][:count]
        body = {"movies": [{"ids": {"simkl": film["ids"]["simkl"]}} for film in films]}
        async with session.post(f"{base}/sync/history/remove", json=body, params=app) as reply:
            reply.raise_for_status()
    return [str(film.get("title")) for film in films]


async def make_removals_wait(client: HassClient, world: Json) -> Json:
    """A held-removals repair: SIMKL loses films, the two-way pair wants them gone on Trakt."""
    existing = await held_repair(client)
    if existing is not None:
        return existing
    titles = await take_films_off_simkl_watchlist(world["services"]["simkl"], FILMS_TAKEN_OFF)
    say(f"screenshots: took {len(titles)} films off the SIMKL watchlist: {', '.join(titles)}")
    device = (await pair_devices(client))[WATCHLIST_PAIR]
    sync_now = await entity_of(client, device, "sync_now")
    # A loss this large is doubted by the first run and confirmed by the next run's reads.
    for _ in range(2):
        await client.call("button", "press", {"entity_id": sync_now})
        await asyncio.sleep(10)
    return await until(lambda: held_repair(client), "the held-removals repair")


async def account_entity(client: HassClient, domain: str, account: str) -> str:
    """The entity id of the CrossWatch `domain` entity (todo, calendar) of one account."""
    for entity in await client.entities(DOMAIN):
        entity_id = str(entity["entity_id"])
        if entity_id.startswith(f"{domain}."):
            state = await client.state(entity_id)
            if account in str(state["attributes"].get("friendly_name", "")):
                return entity_id
    raise RuntimeError(f"screenshots: no {domain} entity of the {account} account")


def shoot(url: str, out: Path, shown: Shown) -> None:
    """Log in as the demo user and take the screenshots."""
    # Installed by script/screenshots alone, so it is no test dependency.
    from playwright.sync_api import sync_playwright  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        page.goto(url)
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{url}/**", timeout=30_000)
        page.wait_for_selector("home-assistant-main", state="attached", timeout=30_000)

        page.goto(f"{url}/config/integrations/integration/{DOMAIN}")
        page.get_by_text(SHOWN_PAIR).first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=out / "integration.png")

        page.goto(f"{url}/config/devices/device/{shown.device_id}")
        page.get_by_text("Planned adds").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=out / "pair-device.png")

        page.goto(f"{url}/config/repairs")
        page.get_by_text(shown.repair_title).first.click(timeout=30_000)
        page.get_by_text("Approve").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "repair.png")

        page.goto(f"{url}/todo?entity_id={shown.todo}")
        page.get_by_text(shown.first_on_watchlist).first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "todo.png")

        page.goto(f"{url}/calendar")
        page.get_by_text(shown.first_upcoming).first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "calendar.png")
        browser.close()


@dataclass(frozen=True, slots=True)
class Shown:
    """What the screenshots show, and a text each page shows once it has loaded."""

    device_id: str  # the shown pair's device
    repair_title: str
    todo: str  # the shown account's watchlist (todo entity)
    first_on_watchlist: str
    first_upcoming: str  # the summary of the calendar's next event


async def first_upcoming(client: HassClient, calendar: str) -> str | None:
    """The summary of the calendar's next event within the month shown, if it has one."""
    state = await client.state(calendar)
    summary = state["attributes"].get("message")
    return str(summary) if summary else None


async def prepare(url: str, directory: Path) -> Shown:
    """What the screenshots show, making the repair if needed."""
    world = json.loads((directory / "simulators" / "world.json").read_text(encoding="utf-8"))
    async with HassClient(url) as client:
        await client.login(USERNAME, PASSWORD)
        device = (await pair_devices(client))[SHOWN_PAIR]
        repair = await make_removals_wait(client, world)
        todo = await account_entity(client, "todo", SHOWN_ACCOUNT)
        items = await client.call(
            "todo", "get_items", {"entity_id": todo, "status": "needs_action"}, response=True
        )
        listed = items[todo]["items"]
        if not listed:
            raise RuntimeError(f"screenshots: the {SHOWN_ACCOUNT} watchlist is empty")
        calendar = await account_entity(client, "calendar", SHOWN_ACCOUNT)
        upcoming = await until(lambda: first_upcoming(client, calendar), f"an event on {calendar}")
    placeholders: dict[str, Any] = repair.get("translation_placeholders") or {}
    return Shown(
        str(device["id"]),
        f"removals wait for your decision ({placeholders.get('pair')})",
        todo,
        str(listed[0]["summary"]),
        upcoming,
    )


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots of a running demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--dir", type=Path, default=Path(".demo"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    url = str(args.url).rstrip("/")
    shoot(url, args.out, asyncio.run(prepare(url, args.dir)))
    for name in ("integration", "pair-device", "repair", "todo", "calendar"):
        say(f"screenshots: {args.out / name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
