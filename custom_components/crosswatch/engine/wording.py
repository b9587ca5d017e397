"""Counts in the engine's messages (events, plan notes, errors), in words that agree: "1 item"."""


def count_of(count: int, singular: str, plural: str | None = None) -> str:
    """`count` and the noun it counts: "1 item", "2 items" ("1 play", "3 plays")."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
