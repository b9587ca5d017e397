"""AniList: the GraphQL client, its typed replies, and the pasted-token sign-in."""

from .client import (
    API_URL,
    AniListClient,
    GraphQLError,
    authorize_url,
    tokens_from_pin,
    validate_token,
)
from .models import ListEntry, LiveEntry, LiveMedia, SavedEntry, ScoreFormat, Viewer

__all__ = [
    "API_URL",
    "AniListClient",
    "GraphQLError",
    "ListEntry",
    "LiveEntry",
    "LiveMedia",
    "SavedEntry",
    "ScoreFormat",
    "Viewer",
    "authorize_url",
    "tokens_from_pin",
    "validate_token",
]
