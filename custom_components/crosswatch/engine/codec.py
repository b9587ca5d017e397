"""Items and payloads to and from compact JSON, for the state store.

Items are stored by their tokens, which are already normalized: decoding never re-parses ids,
so a million baseline rows load without a million trips through the id normalizers.
"""

from datetime import datetime
import json
from typing import Any

from .items import MatchTier, MediaItem, MediaType
from .payloads import Feature, Listed, Payload, Rated, Watched
from .plan import Action, Evidence, Operation, PairSide, Reason


def encode_item(item: MediaItem) -> str:
    """An item as compact JSON."""
    fields: dict[str, Any] = {"t": item.type.value, "k": list(item.tokens)}
    if item.local_tokens:
        fields["l"] = list(item.local_tokens)
    if item.title is not None:
        fields["n"] = item.title
    if item.year is not None:
        fields["y"] = item.year
    if item.season is not None:
        fields["s"] = item.season
    if item.episode is not None:
        fields["e"] = item.episode
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def decode_item(text: str) -> MediaItem:
    """The item `encode_item` wrote."""
    fields = json.loads(text)
    return MediaItem.from_tokens(
        MediaType(fields["t"]),
        title=fields.get("n"),
        year=fields.get("y"),
        season=fields.get("s"),
        episode=fields.get("e"),
        tokens=tuple(fields["k"]),
        local_tokens=tuple(fields.get("l", ())),
    )


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def encode_payload(payload: Payload) -> str:
    """A payload as compact JSON."""
    match payload:
        case Listed(listed_at=listed_at):
            fields: dict[str, Any] = {"w": _when(listed_at)}
        case Watched(plays=plays, play_count=count, last_watched_at=last):
            fields = {"p": [p.isoformat() for p in plays], "c": count, "a": _when(last)}
        case Rated(value=value, rated_at=rated_at):
            fields = {"v": value, "r": _when(rated_at)}
    return json.dumps(fields, separators=(",", ":"))


def decode_payload(text: str) -> Payload:
    """The payload `encode_payload` wrote."""
    fields = json.loads(text)
    if "v" in fields:
        return Rated(fields["v"], _moment(fields["r"]))
    if "c" in fields:
        plays = tuple(datetime.fromisoformat(p) for p in fields["p"])
        return Watched(plays, fields["c"], _moment(fields["a"]))
    return Listed(_moment(fields["w"]))


def encode_operation(op: Operation) -> str:
    """An operation as JSON (held operations wait in the store for a decision)."""
    return json.dumps(
        {
            "side": op.side.value,
            "feature": op.feature.value,
            "action": op.action.value,
            "item": encode_item(op.item),
            "reason": op.reason.value,
            "match": op.match.value,
            "evidence": op.evidence.as_dict(),
            "payload": encode_payload(op.payload) if op.payload is not None else None,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_operation(text: str) -> Operation:
    """The operation `encode_operation` wrote."""
    fields = json.loads(text)
    payload = fields["payload"]
    return Operation(
        PairSide(fields["side"]),
        Feature(fields["feature"]),
        Action(fields["action"]),
        decode_item(fields["item"]),
        Reason(fields["reason"]),
        MatchTier(fields["match"]),
        Evidence.from_dict(fields["evidence"]),
        decode_payload(payload) if payload is not None else None,
    )
