"""The Home Assistant glue keeps its directions and its types.

- The account side never reaches into the sync side: what an account shows of the pairs' work
  the sync side publishes to it (runtime.ACCOUNT_ACTIVITY).
- runtime.py, where both entry kinds and their runtime data are typed, is a leaf: it imports no
  other glue module at run time.
- No entry lookup falls back to Any: no `runtime: Any = entry.runtime_data`, no `getattr` of it.
"""

import ast
from pathlib import Path
import re

import pytest

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "crosswatch"
GLUE = sorted([*INTEGRATION.glob("*.py"), *INTEGRATION.glob("flows/*.py")])
# The sync side: the pairs' coordinator, the actions and repairs that drive it.
SYNC_SIDE = {"coordinator", "services", "repairs"}
ACCOUNT_SIDE = [INTEGRATION / "account_coordinator.py", INTEGRATION / "accounts.py"]


def glue_imports(path: Path, *, at_run_time: bool = False) -> set[str]:
    """The glue modules (by name, relative to the package) that a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if at_run_time:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                skipped.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level and id(node) not in skipped:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", ACCOUNT_SIDE, ids=lambda path: path.name)
def test_the_account_side_never_imports_the_sync_side(path: Path) -> None:
    assert not glue_imports(path) & SYNC_SIDE


def test_the_account_coordinator_never_touches_the_sync_runtime() -> None:
    source = (INTEGRATION / "account_coordinator.py").read_text(encoding="utf-8")
    assert "SyncRuntime" not in source
    assert "loaded_sync_runtime" not in source


def test_runtime_is_a_leaf_of_the_glue() -> None:
    # Only the engine and the constants; the coordinators are imported for type checking only.
    assert glue_imports(INTEGRATION / "runtime.py", at_run_time=True) <= {"const", "engine"}


@pytest.mark.parametrize("path", GLUE, ids=lambda path: str(path.relative_to(INTEGRATION)))
def test_no_entry_lookup_falls_back_to_any(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not re.search(r":\s*Any\s*=\s*[\w.]*runtime_data", source)
    assert 'getattr(entry, "runtime_data"' not in source
