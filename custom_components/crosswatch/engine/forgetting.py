"""Which stored records belong to one item a user names, so that they can be forgotten.

A user fixing one wrong entry names it as they see it: by an id (`imdb:tt0133093`, `tmdb:603`,
`trakt:12601`) or by the label CrossWatch shows in plans and lists ("The Matrix (1999)",
"Dark (2017) S01E02"). An id names the item that carries it, whatever its type: `tmdb:603`
stands for TMDB's film 603 and its show 603 alike, as the user cannot say which TMDB meant.
A label names every item that reads exactly so (letter case aside).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from .ids import Namespace
from .items import MediaItem, MediaType

_TYPED = (MediaType.MOVIE, MediaType.SHOW, MediaType.ANIME)


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """What the user named: the tokens an id makes, or a label."""

    text: str
    tokens: frozenset[str]
    label: str | None  # lower-cased; None when the text is an id

    @classmethod
    def parse(cls, text: str) -> ItemMatch:
        """An id `namespace:value` (any namespace CrossWatch knows), else a label.

        Raises ValueError for empty text.
        """
        text = text.strip()
        if not text:
            raise ValueError("name an item by an id (imdb:tt0133093) or as it is listed")
        namespace, _, value = text.partition(":")
        if namespace.lower() in {n.value for n in Namespace} and value.strip():
            tokens: set[str] = {text}  # a token already (e.g. 'tmdb:movie:603')
            for kind in _TYPED:
                item = MediaItem.create(kind, ids={namespace.lower(): value.strip()})
                tokens.update(item.tokens)
                tokens.update(item.local_tokens)
            return cls(text, frozenset(tokens), None)
        return cls(text, frozenset(), text.casefold())

    @property
    def hint(self) -> tuple[str, ...]:
        """Texts one of which a stored row's JSON holds if it may match (to narrow a query)."""
        if self.label is None:
            return tuple(sorted(self.tokens))
        return (self.text.split(" (")[0].casefold(),)

    def matches(self, item: MediaItem) -> bool:
        """Whether `item` is what the user named."""
        if self.label is not None:
            return item.label().casefold() == self.label
        return any(t in self.tokens for t in (*item.tokens, *item.local_tokens, item.key))


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What `forget_item` forgot: the items it matched, and the records per kind."""

    items: tuple[str, ...]  # their labels, sorted
    records: Mapping[str, int]  # kind of record -> rows forgotten

    @property
    def any(self) -> bool:
        """Whether anything was forgotten."""
        return any(self.records.values())
