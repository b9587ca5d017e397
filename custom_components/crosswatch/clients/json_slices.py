"""Decode a large JSON reply in slices, so the event loop runs between them.

`json.loads` of a 30 MB reply holds Home Assistant's event loop for seconds, and a worker
thread does not help: the decoder holds the interpreter lock for the whole call (measured, see
docs/benchmarks.md). So a large body is decoded here in the loop's own thread, but piecewise:
the containers near the top (a list of 100,000 rows, or an object holding such lists) are walked
in Python, each element of a list is decoded whole by the C decoder (a row: a film, an episode),
and the walk hands the loop back whenever a slice has used its time. The result equals
`json.loads` of the same text.
"""

import asyncio
from collections.abc import Callable, Generator
import json
import re
import time
from typing import Final

# A decoded JSON document: what `json.loads` returns, without `Any`.
type JsonValue = bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None

# Containers this deep or deeper are decoded whole, whatever they hold (a document of nested
# lists must not turn the walk into a slow pure-Python decoder).
WALKED_DEPTH: Final = 4
SLICE_SECONDS: Final = 0.005
_SPACE: Final = re.compile(r"[ \t\n\r]*")
_SPACE_CHARACTERS: Final = frozenset(" \t\n\r")
_DECODER: Final = json.JSONDecoder()

type Step = Generator[None, None, tuple[JsonValue, int]]


async def decode_in_slices(
    text: str, *, slice_seconds: float = SLICE_SECONDS, clock: Callable[[], float] = time.monotonic
) -> JsonValue:
    """`json.loads(text)`, giving the event loop a turn after every `slice_seconds` of work.

    Raises ValueError (`json.JSONDecodeError`) for text that is not JSON, as `json.loads` does.
    """
    walk = _Walk(text, slice_seconds, clock)
    steps = walk.value(skip(text, 0), 0)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            finished: tuple[JsonValue, int] = done.value
            value, end = finished
            break
        await asyncio.sleep(0)
        walk.started = clock()
    if skip(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, skip(text, end))
    return value


def skip(text: str, index: int) -> int:
    """The index of the first character at or after `index` that is not white space."""
    if text[index : index + 1] not in _SPACE_CHARACTERS:
        return index  # the common case: compact JSON
    match = _SPACE.match(text, index)
    return match.end() if match else index


class _Walk:
    """One decode: the text, and the time the current slice started."""

    def __init__(self, text: str, slice_seconds: float, clock: Callable[[], float]) -> None:
        self.text = text
        self.slice = slice_seconds
        self.clock = clock
        self.started = clock()

    def _due(self) -> bool:
        return self.clock() - self.started >= self.slice

    def value(self, index: int, depth: int, *, row: bool = False) -> Step:
        """The JSON value starting at `index` (no white space before it), and where it ends.

        Lists and objects are walked, except an object that is a `row` of a list: a list's
        objects are its rows, each small, decoded whole.
        """
        opener = self.text[index : index + 1]
        if depth < WALKED_DEPTH and opener == "[":
            return self._array(index + 1, depth)
        if depth < WALKED_DEPTH and opener == "{" and not row:
            return self._object(index + 1, depth)
        return self._whole(index)

    def _whole(self, index: int) -> Step:
        value, end = _DECODER.raw_decode(self.text, index)
        if self._due():
            yield
        return value, end

    def _array(self, index: int, depth: int) -> Step:
        items: list[JsonValue] = []
        index = skip(self.text, index)
        if self.text[index : index + 1] == "]":
            return items, index + 1
        while True:
            item, index = yield from self.value(index, depth + 1, row=True)
            items.append(item)
            index = skip(self.text, index)
            separator = self.text[index : index + 1]
            if separator == "]":
                return items, index + 1
            if separator != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", self.text, index)
            index = skip(self.text, index + 1)

    def _object(self, index: int, depth: int) -> Step:
        members: dict[str, JsonValue] = {}
        index = skip(self.text, index)
        if self.text[index : index + 1] == "}":
            return members, index + 1
        while True:
            if self.text[index : index + 1] != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", self.text, index
                )
            key, index = _DECODER.raw_decode(self.text, index)  # a string: decoded whole
            index = skip(self.text, index)
            if self.text[index : index + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", self.text, index)
            member, index = yield from self.value(skip(self.text, index + 1), depth + 1)
            members[key] = member
            index = skip(self.text, index)
            separator = self.text[index : index + 1]
            if separator == "}":
                return members, index + 1
            if separator != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", self.text, index)
            index = skip(self.text, index + 1)
