"""Trakt as an engine provider: the adapter, and the names other modules use from it.

`adapter` is the provider the engine drives; `cache` keeps what earlier reads showed, `entries`
maps Trakt's records to entries, `writes` builds sync bodies and reads their replies.
"""

from .adapter import NO_USABLE_ID, TraktProvider, format_time, item_of, parse_time

__all__ = ["NO_USABLE_ID", "TraktProvider", "format_time", "item_of", "parse_time"]
