"""The Python packages a real Home Assistant needs for our configuration, and installing them.

The test requirements bring Home Assistant's core, not what its default integrations install
at their first start (the frontend above all: without it Home Assistant starts in recovery mode
and loads no custom integration). Home Assistant runs here with `--skip-pip`, so these are
installed beforehand, with the versions the installed Home Assistant's manifests pin, read from
them: nothing to keep in step when Home Assistant is upgraded.

    python -m tests.realhass.requirements            install what is missing (uv, else pip)
    python -m tests.realhass.requirements --check    list what is missing; exit 1 if anything
"""

import argparse
import importlib.util
import json
from pathlib import Path
import subprocess
import sys

from homeassistant import bootstrap, components
from homeassistant.util.package import is_installed

from .process import CONFIGURED_DOMAINS, INCLUDED_DOMAINS


def domains() -> set[str]:
    """The integrations that load: the default ones, ours, and their dependencies."""
    base = Path(components.__file__).parent
    seen: set[str] = set()
    todo = [*bootstrap.DEFAULT_INTEGRATIONS, *CONFIGURED_DOMAINS, *INCLUDED_DOMAINS]
    while todo:
        domain = todo.pop()
        manifest = base / domain / "manifest.json"
        if domain in seen or not manifest.exists():
            continue
        seen.add(domain)
        todo.extend(json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", []))
    return seen


def needed() -> list[str]:
    """Every requirement of those integrations, as their manifests pin it."""
    base = Path(components.__file__).parent
    requirements: set[str] = set()
    for domain in domains():
        manifest = json.loads((base / domain / "manifest.json").read_text(encoding="utf-8"))
        requirements.update(manifest.get("requirements", []))
    return sorted(requirements)


def missing() -> list[str]:
    """The requirements not installed (in the pinned version)."""
    return [requirement for requirement in needed() if not is_installed(requirement)]


def install(requirements: list[str]) -> None:
    """Install into this interpreter's environment with Home Assistant's constraints."""
    constraints = Path(bootstrap.__file__).parent / "package_constraints.txt"
    if importlib.util.find_spec("uv") is not None:
        command = [sys.executable, "-m", "uv", "pip", "install", "--python", sys.executable]
    else:
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run(  # noqa: S603 - our own interpreter, pinned requirements
        [*command, "--quiet", "--constraint", str(constraints), *requirements], check=True
    )


def main(argv: list[str] | None = None) -> int:
    """Install (or, with --check, list) what is missing."""
    parser = argparse.ArgumentParser(prog="python -m tests.realhass.requirements")
    parser.add_argument("--check", action="store_true", help="only list what is missing")
    args = parser.parse_args(argv)
    absent = missing()
    if args.check or not absent:
        sys.stdout.write("".join(f"{requirement}\n" for requirement in absent))
        return 1 if absent else 0
    sys.stderr.write(f"realhass: installing {', '.join(absent)}\n")
    install(absent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
