"""A media player for the CrossWatch demo: it plays films from the demo's Plex server.

Only the demo installs it (tests/realhass/demo.py links it into the demo's configuration).
It stands in for the living-room player a person has at home: what it plays comes from the
simulated Plex server, a play runs faster than real time (a two-hour film in about half a
minute), and when it reaches the end the player tells Plex, as a real Plex app does, and goes
idle with its position at the end. CrossWatch follows it like any other `media_player`.
"""

DOMAIN = "crosswatch_demo_player"
