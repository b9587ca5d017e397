"""The engine and the provider clients never import Home Assistant.

Two independent checks: a static one over every module's syntax tree (direct imports, relative
imports that climb into the Home Assistant glue, and dynamic imports by name), and a runtime one
that imports every module in a fresh interpreter where importing `homeassistant` fails.
"""

import ast
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "crosswatch"
PURE_PACKAGES = ("engine", "providers")
PACKAGE = "custom_components.crosswatch"


def module_name(path: Path) -> str:
    """Dotted module name of a file under the repository root."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_pure(module: str) -> bool:
    return any(
        module == f"{PACKAGE}.{package}" or module.startswith(f"{PACKAGE}.{package}.")
        for package in PURE_PACKAGES
    )


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Describe every import in `source` that reaches Home Assistant or its glue."""
    found: list[str] = []
    own_package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
                # `from .. import x` may name submodules: check each as a module too.
                targets = [stem] if node.module else [f"{stem}.{a.name}" for a in node.names]
            else:
                targets = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
        ):
            targets = [node.args[0].value]
        for target in targets:
            reaches_ha = target == "homeassistant" or target.startswith("homeassistant.")
            reaches_glue = target.startswith(PACKAGE) and not _is_pure(target)
            if reaches_ha or reaches_glue:
                found.append(f"{module}:{getattr(node, 'lineno', 0)} imports {target}")
    return found


def pure_modules() -> list[Path]:
    """Every Python file under engine/ and providers/."""
    return sorted(
        path for package in PURE_PACKAGES for path in (INTEGRATION / package).rglob("*.py")
    )


def test_engine_and_providers_have_modules_to_check() -> None:
    assert pure_modules(), "engine/ and providers/ should exist and hold Python modules"


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(INTEGRATION)))
def test_module_does_not_import_home_assistant(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert forbidden_imports(source, module_name(path), path.name == "__init__.py") == []


def test_every_pure_module_imports_with_home_assistant_blocked() -> None:
    modules = [module_name(path) for path in pure_modules()]
    parents = [("custom_components", str(REPO / "custom_components")), (PACKAGE, str(INTEGRATION))]
    program = textwrap.dedent(
        f"""
        import importlib, importlib.abc, sys, types

        # Stand-ins for the parent packages, so that only engine/ and providers/ code runs:
        # the integration's own __init__ is Home Assistant glue and may import it.
        for name, path in {parents!r}:
            parent = types.ModuleType(name)
            parent.__path__ = [path]
            sys.modules[name] = parent

        class BlockHomeAssistant(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "homeassistant" or name.startswith("homeassistant."):
                    raise ImportError("engine/providers imported " + name)
                return None

        sys.meta_path.insert(0, BlockHomeAssistant())
        for name in {modules!r}:
            importlib.import_module(name)
        """
    )
    completed = subprocess.run(  # noqa: S603 - our own interpreter and program
        [sys.executable, "-c", program],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import homeassistant", f"{PACKAGE}.engine.plan"),
        ("from homeassistant.core import HomeAssistant", f"{PACKAGE}.engine.plan"),
        ("import homeassistant.helpers.aiohttp_client as c", f"{PACKAGE}.providers.trakt"),
        ("from .. import coordinator", f"{PACKAGE}.engine.plan"),
        ("from ..const import DOMAIN", f"{PACKAGE}.providers.trakt"),
        ("from custom_components.crosswatch import entity", f"{PACKAGE}.engine.plan"),
        ("import importlib\nimportlib.import_module('homeassistant.core')", f"{PACKAGE}.engine.x"),
        ("__import__('homeassistant')", f"{PACKAGE}.engine.x"),
        ("def f():\n    from homeassistant import core", f"{PACKAGE}.engine.x"),
    ],
)
def test_checker_catches_each_way_of_reaching_home_assistant(source: str, module: str) -> None:
    assert forbidden_imports(source, module)


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from ..engine import items", f"{PACKAGE}.providers.trakt"),
        ("from . import snapshot", f"{PACKAGE}.engine.plan"),
        ("import aiohttp\nimport sqlite3", f"{PACKAGE}.providers.trakt"),
        ("from custom_components.crosswatch.engine import plan", f"{PACKAGE}.providers.x"),
    ],
)
def test_checker_allows_imports_within_the_pure_layers(source: str, module: str) -> None:
    assert forbidden_imports(source, module) == []
