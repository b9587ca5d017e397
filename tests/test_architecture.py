"""The engine, the clients and the providers never import Home Assistant; only the store sees SQLite.

The clients (clients/) stand alone: they import neither the engine, nor the providers (the
adapters that translate their errors for the engine), nor Home Assistant.

Two independent checks keep Home Assistant out: a static one over every module's syntax tree
(direct imports, relative imports that climb into the Home Assistant glue, and dynamic imports
by name), and a runtime one that imports every module in a fresh interpreter where importing
`homeassistant` fails. The same static walk keeps SQLite inside the state store's modules, and
the store out of the providers and the values they share with the engine.
"""

import ast
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "crosswatch"
PURE_PACKAGES = ("engine", "clients", "providers")
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


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module `source` imports, by line, with relative imports made absolute.

    `from x import y` counts as importing `x.y` too, since `y` may be a submodule.
    """
    found: list[tuple[int, str]] = []
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
            else:
                stem = node.module or ""
            # `from .. import x` names only submodules (its stem is the glue's package).
            targets = [stem] if node.module else []
            targets += [f"{stem}.{a.name}" for a in node.names]
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
        found += [(getattr(node, "lineno", 0), target) for target in targets]
    return found


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Describe every import in `source` that reaches Home Assistant or its glue."""
    found: list[str] = []
    for line, target in imports(source, module, is_package):
        reaches_ha = target == "homeassistant" or target.startswith("homeassistant.")
        reaches_glue = target.startswith(PACKAGE) and not _is_pure(target)
        if reaches_ha or reaches_glue:
            found.append(f"{module}:{line} imports {target}")
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


def imports_in_isolation(modules: list[str], blocked: tuple[str, ...], who: str) -> None:
    """Import `modules` in a fresh interpreter where `blocked` packages cannot be imported.

    Stand-ins replace the parent packages, so only the modules' own code runs: the
    integration's __init__ is Home Assistant glue and may import it.
    """
    parents = [("custom_components", str(REPO / "custom_components")), (PACKAGE, str(INTEGRATION))]
    program = textwrap.dedent(
        f"""
        import importlib, importlib.abc, sys, types

        for name, path in {parents!r}:
            parent = types.ModuleType(name)
            parent.__path__ = [path]
            sys.modules[name] = parent

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in {blocked!r}):
                    raise ImportError({who!r} + " imported " + name)
                return None

        sys.meta_path.insert(0, Block())
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


def test_every_pure_module_imports_with_home_assistant_blocked() -> None:
    modules = [module_name(path) for path in pure_modules()]
    imports_in_isolation(modules, ("homeassistant",), "engine/providers")


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


# -- SQLite stays in the state store ----------------------------------------------------------

ENGINE = INTEGRATION / "engine"
# The state store's own modules: the only ones that speak SQLite.
STORE_MODULES = (f"{PACKAGE}.engine.store", f"{PACKAGE}.engine.schema")


def is_store_module(module: str) -> bool:
    """Whether `module` is one of the state store's own modules (store, store_*, schema)."""
    return module in STORE_MODULES or module.startswith(f"{PACKAGE}.engine.store_")


def integration_modules() -> list[Path]:
    """Every Python file of the integration."""
    return sorted(INTEGRATION.rglob("*.py"))


@pytest.mark.parametrize(
    "path", integration_modules(), ids=lambda p: str(p.relative_to(INTEGRATION))
)
def test_only_the_store_imports_sqlite(path: Path) -> None:
    module = module_name(path)
    found = imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    sqlite = [t for _, t in found if t == "sqlite3" or t.startswith("sqlite3.")]
    assert is_store_module(module) or sqlite == []


def store_free_modules() -> list[Path]:
    """The providers, and the engine modules whose values they share with the engine."""
    shared = [ENGINE / name for name in ("provider.py", "cursor.py", "records.py")]
    return sorted([*shared, *(INTEGRATION / "providers").rglob("*.py")])


@pytest.mark.parametrize(
    "path", store_free_modules(), ids=lambda p: str(p.relative_to(INTEGRATION))
)
def test_providers_and_their_engine_values_do_not_import_the_store(path: Path) -> None:
    found = imports(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert [target for _, target in found if is_store_module(target)] == []


@pytest.mark.parametrize(
    "source",
    [
        "from ..engine.store import StateStore",
        "from ..engine import store",
        "from ..engine.schema import MIGRATIONS",
        "from ..engine.store_baselines import BaselineTables",
        "from custom_components.crosswatch.engine.store import StateStore",
    ],
)
def test_checker_sees_each_way_of_reaching_the_store(source: str) -> None:
    found = imports(source, f"{PACKAGE}.providers.trakt")
    assert any(is_store_module(target) for _, target in found)


# -- the clients stand alone ------------------------------------------------------------------

CLIENTS = INTEGRATION / "clients"


def client_modules() -> list[Path]:
    """Every Python file under clients/."""
    return sorted(CLIENTS.rglob("*.py"))


def reaches_beyond_the_clients(target: str) -> bool:
    """Whether an import reaches the integration outside clients/ (engine, providers, glue)."""
    inside = target == f"{PACKAGE}.clients" or target.startswith(f"{PACKAGE}.clients.")
    return (target == PACKAGE or target.startswith(f"{PACKAGE}.")) and not inside


def test_the_clients_have_modules_to_check() -> None:
    assert client_modules(), "clients/ should exist and hold Python modules"


@pytest.mark.parametrize("path", client_modules(), ids=lambda p: str(p.relative_to(INTEGRATION)))
def test_a_client_imports_neither_the_engine_nor_the_providers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    found = imports(source, module_name(path), path.name == "__init__.py")
    assert [target for _, target in found if reaches_beyond_the_clients(target)] == []
    assert [target for _, target in found if target.split(".")[0] == "homeassistant"] == []


@pytest.mark.parametrize(
    "source",
    [
        "from ...engine.provider import ProviderError",
        "from ... import engine",
        "from ...providers import trakt",
        "from ...errors import form_error",
        "from custom_components.crosswatch.engine import items",
    ],
)
def test_checker_sees_a_client_reaching_beyond_the_clients(source: str) -> None:
    found = imports(source, f"{PACKAGE}.clients.trakt.client")
    assert any(reaches_beyond_the_clients(target) for _, target in found)


@pytest.mark.parametrize(
    "source", ["from ..http import HttpClient", "from . import auth", "from ..errors import X"]
)
def test_checker_allows_a_client_its_siblings(source: str) -> None:
    found = imports(source, f"{PACKAGE}.clients.trakt.client")
    assert not any(reaches_beyond_the_clients(target) for _, target in found)


def test_every_client_imports_with_the_engine_and_providers_blocked() -> None:
    modules = [module_name(path) for path in client_modules()]
    blocked = ("homeassistant", f"{PACKAGE}.engine", f"{PACKAGE}.providers")
    imports_in_isolation(modules, blocked, "clients/")
