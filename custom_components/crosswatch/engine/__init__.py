"""The sync engine: identity, snapshots, planning, guards, state and applying.

Pure Python. Nothing under this package may import Home Assistant (a test enforces it), so the
engine can be exercised at full speed and reused outside Home Assistant.
"""
