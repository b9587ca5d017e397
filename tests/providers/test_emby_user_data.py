"""Emby only: why ratings are written with the whole user data."""

import aiohttp

from tests.simulators.mediabrowser import Flavour

from .conftest import Serve
from .test_mediabrowser_support import WATCHED, make_rig


async def test_emby_resets_what_a_bare_user_data_body_leaves_out(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """Why the Emby flavour sends the whole user data back: the simulator's model of Emby."""
    rig = await make_rig(serve, session, Flavour.EMBY)
    rig.state.watch(rig.user, rig.library.matrix, WATCHED)
    rig.state.favorite(rig.user, rig.library.matrix)

    await rig.client.call(
        "POST",
        f"/Users/{rig.user.id}/Items/{rig.library.matrix}/UserData",
        json_body={"Rating": 5.0},
    )

    data = rig.state.user_data(rig.user.id, rig.library.matrix)
    assert (data.rating, data.played, data.is_favorite) == (5.0, False, False)
