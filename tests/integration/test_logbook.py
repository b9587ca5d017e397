"""The logbook line of a sync names a few titles per action and counts the rest."""

import pytest

from custom_components.crosswatch.engine.payloads import Feature
from custom_components.crosswatch.engine.plan import Action
from custom_components.crosswatch.engine.runs import ChangedTitle, RunChanges
from custom_components.crosswatch.logbook import synced_message


def title(name: str, action: Action, service: str = "Trakt (alice)") -> ChangedTitle:
    return ChangedTitle(name, action, service, Feature.WATCHLIST)


def test_a_few_titles_per_action_are_named_and_the_rest_counted() -> None:
    names = ["Heat (1995)", "Alien (1979)", "Dune (2021)", "Up (2009)"]
    changes = RunChanges(
        added=5,
        removed=1,
        titles=(
            *(title(n, Action.ADD) for n in names),
            title("Jaws (1975)", Action.REMOVE, "SIMKL (bob)"),
        ),
    )

    assert synced_message(changes) == (
        "added Heat (1995) to Trakt (alice), Alien (1979) to Trakt (alice), Dune (2021) to"
        " Trakt (alice) and 2 more titles; removed Jaws (1975) from SIMKL (bob)"
    )


def test_counts_without_named_titles_and_one_more_title() -> None:
    assert synced_message(RunChanges(updated=2)) == "updated 2 titles"
    one_more = RunChanges(added=2, titles=(title("Heat (1995)", Action.ADD),))
    assert synced_message(one_more) == "added Heat (1995) to Trakt (alice) and 1 more title"
    assert synced_message(RunChanges()) == "changed nothing"


def test_changes_survive_their_json_form() -> None:
    changes = RunChanges(1, 0, 0, (title("Heat (1995)", Action.ADD),))
    assert RunChanges.from_dict(changes.as_dict()) == changes
    assert RunChanges.from_dict({"added": "x"}) is None
    assert RunChanges.from_dict(None) is None


@pytest.fixture(autouse=True)
def entries_settled_before_teardown() -> None:
    """No Home Assistant here: nothing to let finish (overrides the package's fixture)."""
