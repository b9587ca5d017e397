"""The logbook names what a sync changed: "added Heat (1995) to SIMKL (alice) and 2 more"."""

from collections.abc import Callable

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_ITEMS_SYNCED
from .engine.plan import Action
from .engine.runs import RunChanges
from .engine.wording import count_of

_NAMED = 3  # titles named per action; the rest are counted
_VERBS = ((Action.ADD, "added", "to"), (Action.REMOVE, "removed", "from"))


def synced_message(changes: RunChanges) -> str:
    """One line: per action, how many titles, the first few with the service they changed."""
    parts = []
    for action, verb, preposition in (*_VERBS, (Action.UPDATE, "updated", "on")):
        count = {
            Action.ADD: changes.added,
            Action.REMOVE: changes.removed,
            Action.UPDATE: changes.updated,
        }[action]
        if not count:
            continue
        named = [t for t in changes.titles if t.action is action][:_NAMED]
        listed = ", ".join(f"{t.title} {preposition} {t.service}" for t in named)
        rest = count - len(named)
        more = f" and {count_of(rest, 'more title')}" if rest and named else ""
        parts.append(f"{verb} {listed}{more}" if named else f"{verb} {count_of(count, 'title')}")
    return "; ".join(parts) or "changed nothing"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the runs that changed something."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        changes = RunChanges.from_dict(event.data.get("changes")) or RunChanges()
        return {
            LOGBOOK_ENTRY_NAME: str(event.data.get("pair", "CrossWatch")),
            LOGBOOK_ENTRY_MESSAGE: synced_message(changes),
        }

    async_describe_event(DOMAIN, EVENT_ITEMS_SYNCED, describe)
