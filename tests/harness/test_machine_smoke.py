"""A quick, fixed-size play of the combined-quirk machine, for development and timing."""

import os
import time

from .test_combined_quirks import run_machine
from .world import Rig


def test_combined_quirk_machine_plays_a_few_examples(served: Rig) -> None:
    # Only run on request: the profile-sized test above is the one that counts.
    examples = int(os.environ.get("HARNESS_SMOKE_EXAMPLES", "0"))
    if not examples:
        return
    started = time.perf_counter()
    try:
        run_machine(served, max_examples=examples)
    finally:
        spent = time.perf_counter() - started
        print(f"\n{examples} examples in {spent:.1f} s: {examples / spent:.2f} examples/s")
