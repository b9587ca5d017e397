"""Trakt as an engine provider (see `adapter`); the names other modules use, re-exported."""

from .adapter import NO_USABLE_ID, TraktProvider, format_time, item_of, parse_time

__all__ = ["NO_USABLE_ID", "TraktProvider", "format_time", "item_of", "parse_time"]
