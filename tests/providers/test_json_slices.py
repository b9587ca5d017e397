"""Large replies are decoded in slices that hand the event loop back, to the same result."""

import asyncio
from collections.abc import Callable, Coroutine
import json
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.crosswatch.clients.errors import CrossWatchInvalidResponseError
from custom_components.crosswatch.clients.http import (
    SLICED_DECODE_AT,
    HttpClient,
    JsonValue,
    RetryPolicy,
)
from custom_components.crosswatch.clients.json_slices import decode_in_slices

from .conftest import Serve

JSON: st.SearchStrategy[JsonValue] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(), inner, max_size=6),
    max_leaves=40,
)


def finish[T](work: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that only ever yields to the loop, without an event loop of its own.

    `asyncio.run` would replace the event loop that Home Assistant's test plugin set up for
    the tests that follow.
    """
    while True:
        try:
            work.send(None)
        except StopIteration as done:
            result: T = done.value
            return result


def ticking(step: float) -> Callable[[], float]:
    """A clock that moves `step` seconds at every reading: every slice is used up at once."""
    now = 0.0

    def clock() -> float:
        nonlocal now
        now += step
        return now

    return clock


@given(JSON, st.sampled_from([None, 1, 4]))
def test_a_document_decodes_in_slices_exactly_as_json_loads_decodes_it(
    document: JsonValue, indent: int | None
) -> None:
    text = json.dumps(document, indent=indent)

    sliced = finish(decode_in_slices(text, clock=ticking(1.0)))

    assert sliced == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ["[1, 2", "[1 2]", '{"a" 1}', "{a: 1}", '{"a": 1,}', "[1] [2]", '{"rows": [1, ]}', ""],
)
def test_text_that_is_not_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - json.loads raises exactly this kind
        json.loads(text)
    with pytest.raises(ValueError):  # noqa: PT011
        finish(decode_in_slices(text))


async def test_the_event_loop_runs_between_the_slices_of_a_long_list() -> None:
    rows = [{"id": n, "title": f"Film {n}", "ids": {"imdb": f"tt{n:07d}"}} for n in range(5_000)]
    turns = 0
    decoding = True

    async def other_work() -> None:
        nonlocal turns
        while decoding:
            turns += 1
            await asyncio.sleep(0)

    beside = asyncio.create_task(other_work())
    decoded = await decode_in_slices(json.dumps({"movies": rows}), clock=ticking(1.0))
    decoding = False
    await beside

    assert decoded == {"movies": rows}
    assert turns >= 5_000  # a turn after every row, as every slice was used up at once


@pytest.mark.usefixtures("socket_enabled")
async def test_a_large_json_reply_reaches_the_client_decoded(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    rows = [{"id": n, "title": "A film", "year": 1999} for n in range(40_000)]
    body = json.dumps(rows).encode()
    assert len(body) > SLICED_DECODE_AT

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/rows", handler)
    http = HttpClient(session, await serve(app), service="Example", retry=RetryPolicy(backoff=0))

    reply = await http.request("GET", "/rows")

    assert reply.decoded is not None
    assert reply.json() == rows


@pytest.mark.usefixtures("socket_enabled")
async def test_a_large_reply_that_is_not_json_still_says_so_when_read(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    body = b"[" + b"1," * SLICED_DECODE_AT + b"oops]"

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/broken", handler)
    http = HttpClient(session, await serve(app), service="Example", retry=RetryPolicy(backoff=0))

    reply = await http.request("GET", "/broken")

    with pytest.raises(CrossWatchInvalidResponseError, match="not JSON"):
        reply.json()
