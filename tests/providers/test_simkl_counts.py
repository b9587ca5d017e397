"""SIMKL's watched and rated items, counted from its cached library once per change of it.

The account's health check asks for the counts every 15 minutes. Counting builds a snapshot of
the cached library (100,000 titles in a large account, unpacked from rest): done again only
when the library changed, never for a library that merely rested.
"""

from typing import Any

import aiohttp
import pytest

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.snapshot import Snapshot
from tests.providers.conftest import Serve
from tests.providers.test_simkl_support import make_rig, seeded_state

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_counts_are_built_once_per_change_of_the_library(
    serve: Serve, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig(serve, session, seeded_state())
    provider = rig.provider
    for feature in Feature:
        await provider.read(feature, None)
    built: list[Feature] = []
    snapshot = provider._snapshot  # what counting costs is the point here

    async def counted_snapshot(*args: Any) -> Snapshot:
        built.append(args[1])  # the feature
        return await snapshot(*args)

    monkeypatch.setattr(provider, "_snapshot", counted_snapshot)

    first = await provider.count_items(ask=True)
    await provider.rest()
    again = await provider.count_items(ask=True)

    assert again == first
    assert sorted(built) == sorted([Feature.HISTORY, Feature.RATINGS])  # once each, at first
    rating = first.counted[Feature.RATINGS]

    rig.state.user_rates(101, 6)  # the user rates one more title
    await provider.read(Feature.RATINGS, None)  # a read pulls the change into the library
    built.clear()
    changed = await provider.count_items(ask=True)

    assert changed.counted[Feature.RATINGS] == rating + 1
    assert built == [Feature.RATINGS]  # built again for the changed library only
