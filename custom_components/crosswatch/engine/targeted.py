"""A targeted run: one played item synced within seconds of the end of its play.

When a followed media player finishes a play (playback.py), the pair runs for that one item
instead of reading the source's whole library. It is a normal run of the pipeline, the same
stages, guards, applier and records, with two differences:

- Side A (a media server) is read for the played item only, by the server's own id
  (`ItemReader.read_item`). The read is partial, so everything a partial read means holds: the
  side's baseline stands in for every other item, nothing is removed or held on its account,
  its baseline is not replaced (only a new item joins it, as a partial read's items always
  do), and no settled mark is set. Side B is read as always (the memo, its caches and
  activity checks), so its writes are verified by the same rules.
- The plan keeps only side B's operations on that item (`PairSpec.focus`): whatever else the
  baseline standing in would plan waits for the next full run, which plans it from a complete
  read.

The play is written and recorded (pending, then verified) like any other, so the next full
run finds it pending or verified and never sends it again; a reply lost on the way is
recorded as unknown and pending, never as synced. The run's status is `targeted`, never
`success`: one item says nothing of the rest of the pair.

The server is the witness that a play happened: a player's position is not. Its watched flag
may lag behind the end of the play, so `read_played` asks again, a bounded number of times,
until the item shows a play dated after the play began; if it never does, nothing is synced
(the next full run sees the play if the server records it later).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .capabilities import Capabilities
from .cursor import Checkpoint
from .payloads import Feature, Watched
from .plan import Action, Operation, PairSide, Plan
from .provider import ItemReader, Provider, Read, WriteRequest, WriteResult

# How often, and how long apart, the server is asked again for a play it does not show yet.
ATTEMPTS = 4
RETRY_DELAY = 5.0  # seconds; doubled after each attempt (5, 10, 20: 35 s in all)
# Clocks differ: a play dated this much before its start still counts as this play.
CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PlayedRead:
    """The server's read of a played item, and how many times it was asked."""

    read: Read | None  # None: the server never showed the play
    attempts: int


def shows_play(read: Read, since: datetime) -> bool:
    """Whether the read shows its item watched, last at or after `since` (less the slack)."""
    for entry in read.snapshot.entries.values():
        payload = entry.payload
        if not isinstance(payload, Watched):
            continue
        last = payload.last_watched_at
        if last is not None and last >= since - CLOCK_SLACK:
            return True
    return False


async def read_played(
    reader: ItemReader,
    local_id: str,
    *,
    since: datetime,
    attempts: int = ATTEMPTS,
    delay: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PlayedRead:
    """Read the played item until the server shows a play since `since`; at most `attempts`.

    A ProviderError of a read is raised: the caller reports it, and the next full run will
    see the play.
    """
    first_wait = RETRY_DELAY if delay is None else delay
    for attempt in range(1, attempts + 1):
        read = await reader.read_item(Feature.HISTORY, local_id)
        if shows_play(read, since):
            return PlayedRead(read, attempt)
        if attempt < attempts:
            await sleep(first_wait * 2 ** (attempt - 1))
    return PlayedRead(None, attempts)


class ItemSource:
    """Side A of a targeted run: the provider, whose history read is the one played item.

    Everything but the read is the provider's own (its key, name, writes), so records, memo
    busts and reauthentication name the account as in any run. Forgetting reads forgets
    nothing: the read is what it is.
    """

    def __init__(self, provider: Provider, read: Read) -> None:
        """Serve `read` for the history of `provider`."""
        self._provider = provider
        self._read = read

    @property
    def key(self) -> str:
        """The provider's key."""
        return self._provider.key

    @property
    def name(self) -> str:
        """The provider's name."""
        return self._provider.name

    @property
    def capabilities(self) -> Capabilities:
        """The provider's capabilities (the run's spec narrows it to history)."""
        return self._provider.capabilities

    @property
    def requests_made(self) -> int:
        """The provider's request count."""
        return self._provider.requests_made

    async def health(self) -> None:
        """The provider's health."""
        await self._provider.health()

    async def read(self, feature: Feature, checkpoint: Checkpoint | None) -> Read:
        """The played item's read (history is the only feature a targeted run has)."""
        del checkpoint
        if feature is not Feature.HISTORY:
            raise ValueError(f"a targeted run reads history only, not {feature.value}")
        return self._read

    def forget_reads(self, feature: Feature | None = None, *, validated: bool = False) -> None:
        """Nothing to forget: the read was made for this run."""
        del feature, validated

    async def write(
        self, feature: Feature, action: Action, requests: Sequence[WriteRequest]
    ) -> Sequence[WriteResult]:
        """The provider's write (a targeted run plans none for side A)."""
        return await self._provider.write(feature, action, requests)


def focused(plan: Plan, focus: frozenset[str]) -> Plan:
    """Only side B's operations (and notes) on the focused item."""

    def on_item(op: Operation) -> bool:
        return op.side is PairSide.B and not focus.isdisjoint(
            (*op.item.tokens, *op.item.local_tokens)
        )

    notes = [
        note
        for note in plan.notes
        if not focus.isdisjoint((*note.item.tokens, *note.item.local_tokens))
    ]
    return Plan.of(plan.side_names, [op for op in plan.operations if on_item(op)], notes)
