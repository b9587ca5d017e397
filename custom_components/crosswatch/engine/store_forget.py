"""Forgetting one item: every record a pair keeps of it, so that its next run plans it afresh.

What a pair remembers of an item (its baseline entry, a tombstone, a rejection waiting for its
retry, a quarantine, a write awaited, a removal the user kept, ids it learned, a shadow of a
write) decides what the next run does with it. When one of those is wrong, the user forgets
the item: the next run sees it as if for the first time, from both sides' reads. Nothing on a
service changes, and nothing else of the pair is touched but its settled marks (a settled run
would not plan at all).
"""

from collections.abc import Iterable, Sequence
import json
from types import MappingProxyType
from typing import Final

from .codec import decode_item
from .forgetting import Forgotten, ItemMatch
from .items import MediaItem
from .store_connection import StoreConnection

# Tables with one row per (pair, feature, side, key) and the item as JSON, by what users call them.
_ITEM_TABLES: Final = (
    ("baseline", "baseline_entry"),
    ("tombstones", "tombstone"),
    ("unresolved", "unresolved"),
    ("quarantined", "blackbox"),
    ("awaited_writes", "pending"),
    ("kept", "kept"),
)

type _Place = tuple[str, str, str]  # feature, side, key


class ForgettingTables(StoreConnection):
    """Forget one item of one pair (on one side, for one feature, or everywhere)."""

    def forget_item(
        self, pair: str, match: ItemMatch, *, side: str | None = None, feature: str | None = None
    ) -> Forgotten:
        """Delete every record of the items `match` names; what was forgotten."""
        scope, params = _scope(pair, side, feature)
        records: dict[str, int] = {}
        labels: set[str] = set()
        tokens: set[str] = set(match.tokens)
        places: set[_Place] = set()
        with self.transaction() as db:
            for kind, table in _ITEM_TABLES:
                hint_sql, hint_params = _hints("item", match.hint)
                found: set[_Place] = set()
                for feature_, side_, key, text in db.execute(
                    f"SELECT feature, side, key, item FROM {table} WHERE {scope}{hint_sql}",  # noqa: S608
                    (*params, *hint_params),
                ):
                    item = decode_item(text)
                    if match.matches(item):
                        found.add((feature_, side_, key))
                        labels.add(item.label())
                        tokens.update((*item.tokens, *item.local_tokens, item.key))
                db.executemany(
                    f"DELETE FROM {table} WHERE pair=? AND feature=? AND side=? AND key=?",  # noqa: S608
                    [(pair, *place) for place in found],
                )
                records[kind] = len(found)
                places |= found
            records["learned_ids"] = self._forget_tokens(
                db_scope=(scope, params), table="learned_ids", column="key", places=places,
                tokens=tokens, pair=pair,
            )  # fmt: skip
            records["shadows"] = self._forget_tokens(
                db_scope=(scope, params), table="shadow", column="local_token", places=places,
                tokens=tokens, pair=pair,
            )  # fmt: skip
            if any(records.values()):
                db.execute(f"DELETE FROM settled WHERE {scope}", params)  # noqa: S608
        return Forgotten(tuple(sorted(labels)), MappingProxyType(records))

    def forget_presence(self, pair: str, feature: str, items: Iterable[MediaItem]) -> int:
        """Forget the pair's baseline entries, awaited writes, tombstones and kept removals.

        Of `items`, on both sides, for a restore: the user wants these items back, so what the
        pair remembers of their having been there, of its own removal of them (which a read
        still showing them would be taken to lag behind) and of their deletion must not take
        them away again. Baseline and awaited rows are found by key (an item's key is one of
        its tokens), the small tombstone and kept tables by every token. Returns the rows
        forgotten.
        """
        tokens = {t for item in items for t in (*item.tokens, *item.local_tokens, item.key)}
        if not tokens:
            return 0
        forgotten = 0
        with self.transaction() as db:
            named = sorted(tokens)
            for start in range(0, len(named), 500):  # SQLite's limit on bound parameters
                chunk = named[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for table in ("baseline_entry", "pending"):
                    forgotten += db.execute(
                        f"DELETE FROM {table} WHERE pair=? AND feature=? AND key IN ({marks})",  # noqa: S608
                        (pair, feature, *chunk),
                    ).rowcount
            for table in ("tombstone", "kept"):
                doomed = [
                    (side, key)
                    for side, key, text in db.execute(
                        f"SELECT side, key, item FROM {table} WHERE pair=? AND feature=?",  # noqa: S608
                        (pair, feature),
                    )
                    if key in tokens or not tokens.isdisjoint(_tokens_of(text))
                ]
                db.executemany(
                    f"DELETE FROM {table} WHERE pair=? AND feature=? AND side=? AND key=?",  # noqa: S608
                    [(pair, feature, side, key) for side, key in doomed],
                )
                forgotten += len(doomed)
        return forgotten

    def _forget_tokens(
        self,
        *,
        db_scope: tuple[str, Sequence[str]],
        table: str,
        column: str,
        places: set[_Place],
        tokens: set[str],
        pair: str,
    ) -> int:
        """Rows of a table keyed by a token, with the item's tokens as JSON, that are the item's."""
        scope, params = db_scope
        keys = {key for _, _, key in places} | tokens
        if not keys:
            return 0
        named = sorted(keys)
        tests = " OR ".join("instr(lower(tokens), ?) > 0" for _ in named)
        doomed: list[tuple[str, str, str]] = []
        for feature, side, key, text in self._db.execute(
            f"SELECT feature, side, {column}, tokens FROM {table} WHERE {scope}"  # noqa: S608
            f" AND ({column} IN ({', '.join('?' for _ in named)}) OR {tests})",
            (*params, *named, *(token.lower() for token in named)),
        ):
            held = json.loads(text)
            if key in keys or any(t in tokens for t in held):
                doomed.append((feature, side, key))
        self._db.executemany(
            f"DELETE FROM {table} WHERE pair=? AND feature=? AND side=? AND {column}=?",  # noqa: S608
            [(pair, *row) for row in doomed],
        )
        return len(doomed)


def _scope(pair: str, side: str | None, feature: str | None) -> tuple[str, list[str]]:
    where, params = "pair=?", [pair]
    if side is not None:
        where, params = f"{where} AND side=?", [*params, side]
    if feature is not None:
        where, params = f"{where} AND feature=?", [*params, feature]
    return where, params


def _hints(column: str, hints: Sequence[str]) -> tuple[str, list[str]]:
    """A filter keeping rows whose column holds one of the hints (in any letter case)."""
    if not hints:
        return " AND 0", []
    tests = " OR ".join(f"instr(lower({column}), ?) > 0" for _ in hints)
    return f" AND ({tests})", [hint.lower() for hint in hints]


def _tokens_of(text: str) -> set[str]:
    item = decode_item(text)
    return {*item.tokens, *item.local_tokens, item.key}
