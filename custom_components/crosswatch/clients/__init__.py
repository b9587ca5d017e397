"""Async clients for the media services, on an injected aiohttp session.

One package per service (trakt, simkl, anilist, mediabrowser, plex), each with its client and
its sign-in, over the shared transport (`http.py`). Clients raise only their own errors
(`errors.py`) and import neither the engine, nor the providers, nor Home Assistant (a test
enforces it): the adapters in `providers/` translate their errors for the engine at one
boundary (`providers/client_errors.py`).
"""
