"""SIMKL as a CrossWatch provider (`adapter.py`), split by job.

`adapter.py` is what the engine calls; `cache.py` keeps the buckets SIMKL's activities say to
pull; `parse.py` turns the client's rows into items; `writes.py` builds write objects and reads
their outcomes.
"""

from .adapter import CAPABILITIES, SimklAccount, SimklProvider, fetch_account

__all__ = ["CAPABILITIES", "SimklAccount", "SimklProvider", "fetch_account"]
