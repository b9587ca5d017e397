"""Work that grows with a reply's size, done in a worker thread instead of the event loop.

Turning 100,000 rows into items and indexing them takes seconds of pure Python: on Home
Assistant's event loop that would freeze every automation for as long. In a worker thread
the interpreter hands the lock back to the loop every few milliseconds (`sys.getswitchinterval`),
so the loop keeps running. (A C call that never lets go, such as `json.loads` of a large body,
does not profit: see `json_slices`.)

The loop's default executor is Home Assistant's own (`hass.async_add_executor_job` uses it
too). Small work stays on the loop: a thread hop costs more than a few hundred rows.
The work must not touch state the loop may change meanwhile: give it values, take a value back.
"""

import asyncio
from collections.abc import Callable
from typing import Final

# Rows (or items) from which work goes to a worker thread: a few milliseconds of keying.
OFF_LOOP_FROM: Final = 1_000


async def off_loop[T](work: Callable[[], T], *, size: int) -> T:
    """`work()`, in the loop's default executor when `size` is at least OFF_LOOP_FROM."""
    if size < OFF_LOOP_FROM:
        return work()
    return await asyncio.get_running_loop().run_in_executor(None, work)
