"""Constants shared by the Home Assistant glue of CrossWatch."""

from typing import Final

DOMAIN: Final = "crosswatch"

# The single "CrossWatch sync" entry owns the sync pairs; account entries are added later.
SYNC_ENTRY_UNIQUE_ID: Final = "crosswatch_sync"
SYNC_ENTRY_TITLE: Final = "CrossWatch sync"
