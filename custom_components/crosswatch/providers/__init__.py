"""The engine adapters: each service's client (`..clients`) as the engine's Provider.

Client errors become the engine's at one boundary (`client_errors.py`). Nothing under this
package may import Home Assistant (a test enforces it).
"""
