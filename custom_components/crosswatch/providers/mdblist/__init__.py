"""MDBList as a CrossWatch provider (`adapter.py`): reads in `adapter.py`, writes in `writes.py`."""

from .adapter import CAPABILITIES, MdblistAccount, MdblistProvider, fetch_account

__all__ = ["CAPABILITIES", "MdblistAccount", "MdblistProvider", "fetch_account"]
