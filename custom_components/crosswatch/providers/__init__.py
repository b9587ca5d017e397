"""Async clients for the media services, on an injected aiohttp session.

Nothing under this package may import Home Assistant (a test enforces it).
"""
