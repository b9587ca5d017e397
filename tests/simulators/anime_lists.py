"""A simulator of the anime ID mapping list as GitHub's raw file host serves it.

Fribb's `anime-list-full.json` (see providers/anime_lists.py) is a file in a public repository,
served by raw.githubusercontent.com at `/Fribb/anime-lists/master/anime-list-full.json`:
- the body is the JSON list of records, with `Content-Type: text/plain; charset=utf-8` (the raw
  host serves every file as text);
- an `ETag` derived from the content; a request with `If-None-Match` equal to it gets `304 Not
  Modified` with no body. Reading chosen where the facts are uncertain: the raw host sends no
  `Last-Modified`, so only the ETag is offered (the loader handles both);
- an unknown path is `404` with the text body `404: Not Found`.

No source in ../shared/specs or ../shared/research/provider-facts-2026.md describes this host;
the behaviour above is what the loader's own tests (tests/providers/test_anime_lists.py) serve,
and what the list's README documents (a file in the repository, fetched raw).

For tests, `AnimeListsState` can also misbehave as a mirror or a proxy might: `status` answers
every request with that status (a 5xx outage, a 404 after a rename), and `body` replaces the
served content (HTML from a captive portal, a truncated download).
"""

from dataclasses import dataclass, field
import hashlib
import json
from typing import Any, Final

from aiohttp import web

PATH: Final = "/Fribb/anime-lists/master/anime-list-full.json"


@dataclass(slots=True)
class AnimeListsState:
    """The list's records, how the host misbehaves (if it does), and what it was asked."""

    records: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200  # anything else: every request gets it (an outage)
    body: bytes | None = None  # served instead of the records (a broken file)
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of each request

    def content(self) -> bytes:
        """What the file holds now."""
        if self.body is not None:
            return self.body
        return json.dumps(self.records, indent=2).encode()

    def etag(self) -> str:
        """The content's entity tag (a strong one, from its hash)."""
        return f'"{hashlib.sha256(self.content()).hexdigest()[:40]}"'

    def add(self, **ids: Any) -> None:
        """One record, in the list's field names (anilist_id=1, mal_id=1, tvdb_id=76885, ...)."""
        self.records.append(dict(ids))


def url(base: str) -> str:
    """The list's URL on a simulator served at `base`."""
    return f"{base}{PATH}"


def make_app(state: AnimeListsState) -> web.Application:
    """The raw file host, serving the one file."""

    async def serve_file(request: web.Request) -> web.Response:
        state.requests.append(dict(request.headers))
        if state.status != 200:
            return web.Response(status=state.status, text=f"{state.status}: the file host failed")
        etag = state.etag()
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=state.content(),
            headers={"ETag": etag, "Content-Type": "text/plain; charset=utf-8"},
        )

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404: Not Found")

    app = web.Application()
    app.router.add_get(PATH, serve_file)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
