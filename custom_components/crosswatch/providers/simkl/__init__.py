"""SIMKL as a CrossWatch provider; the adapter lives in `adapter.py` (see its docstring)."""

from .adapter import CAPABILITIES, SimklAccount, SimklProvider, fetch_account

__all__ = ["CAPABILITIES", "SimklAccount", "SimklProvider", "fetch_account"]
