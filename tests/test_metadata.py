"""The repository is what HACS and Home Assistant expect to find.

hassfest is not shipped with Home Assistant's wheel, so the rules it would enforce on these
files are checked here.
"""

import json
from pathlib import Path
import re
from typing import Any

from PIL import Image
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "crosswatch"

QUALITY_SCALE_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
        "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "entity-event-setup", "entity-unique-id", "has-entity-name",
        "runtime-data", "test-before-configure", "test-before-setup", "unique-config-entry",
        # Added to Bronze in 2026.
        "docs-triggers", "docs-conditions",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_keys_are_ordered_as_hassfest_expects() -> None:
    keys = list(load_json(INTEGRATION / "manifest.json"))
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_declares_what_a_hacs_integration_needs() -> None:
    manifest = load_json(INTEGRATION / "manifest.json")
    assert manifest["domain"] == "crosswatch"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "cloud_polling"
    assert manifest["requirements"] == []
    assert manifest["codeowners"]
    assert {"dependencies", "documentation", "integration_type", "issue_tracker"} <= set(manifest)
    major, minor, patch = (int(part) for part in manifest["version"].split("."))
    assert (major, minor, patch) >= (0, 0, 0)


def test_hacs_json_has_only_known_keys_and_none_deprecated() -> None:
    hacs = load_json(REPO / "hacs.json")
    # render_readme is deprecated: HACS shows the README of every repository now.
    known = {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "hacs", "persistent_directory",
    }  # fmt: skip
    assert set(hacs) <= known
    assert hacs["homeassistant"] == "2026.3.0"


def test_minimum_lane_pins_the_home_assistant_hacs_declares() -> None:
    """The compatibility lane must test the release line hacs.json promises."""
    import importlib.metadata  # noqa: PLC0415

    declared = load_json(REPO / "hacs.json")["homeassistant"]
    lane = (REPO / "requirements_test_ha_min.txt").read_text(encoding="utf-8")
    assert "pytest-homeassistant-custom-component==0.13.320" in lane
    installed = importlib.metadata.version("homeassistant")
    assert tuple(int(p) for p in installed.split(".")[:2]) >= tuple(
        int(p) for p in declared.split(".")[:2]
    )


def test_quality_scale_lists_every_rule_with_an_honest_status() -> None:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))[
        "rules"
    ]
    expected = {rule for tier in QUALITY_SCALE_RULES.values() for rule in tier}
    assert set(rules) == expected
    for name, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "todo", "exempt"}, name
        if status == "exempt":
            assert isinstance(value, dict), f"{name} is exempt without a comment"
            assert value.get("comment"), f"{name} is exempt without a comment"


@pytest.mark.parametrize(
    ("image", "size"),
    [
        ("icon.png", (256, 256)),
        ("icon@2x.png", (512, 512)),
        ("dark_icon.png", (256, 256)),
        ("dark_icon@2x.png", (512, 512)),
        ("logo.png", None),
        ("logo@2x.png", None),
        ("dark_logo.png", None),
        ("dark_logo@2x.png", None),
    ],
)
def test_brand_images_fit_home_assistants_brand_rules(
    image: str, size: tuple[int, int] | None
) -> None:
    with Image.open(INTEGRATION / "brand" / image) as picture:
        assert picture.format == "PNG"
        if size is not None:
            assert picture.size == size
        else:
            # Logos: the shortest side between 128 and 256 px (x2 variants up to 512).
            assert 128 <= min(picture.size) <= 512


def flow_sources() -> dict[str, str]:
    files = [INTEGRATION / "config_flow.py", *sorted((INTEGRATION / "flows").glob("*.py"))]
    return {path.name: path.read_text(encoding="utf-8") for path in files}


def test_every_translated_flow_step_has_a_handler() -> None:
    translations = load_json(INTEGRATION / "translations" / "en.json")
    source = "\n".join(flow_sources().values())
    for step in translations["config"]["step"]:
        assert f"async_step_{step}" in source, step
    for step in translations["config_subentries"]["pair"]["step"]:
        assert f"async_step_{step}" in source, step


def test_every_form_step_abort_and_progress_of_the_flows_is_translated() -> None:
    translations = load_json(INTEGRATION / "translations" / "en.json")
    config = translations["config"]
    pair = translations["config_subentries"]["pair"]
    options = translations.get("options", {"step": {}, "abort": {}})
    for name, source in flow_sources().items():
        section = {"pair.py": pair, "options.py": options}.get(name, config)
        steps, aborts = section.get("step", {}), section.get("abort", {})
        for step in re.findall(r'show_(?:form|code|retry)\(\s*(?:step_id=)?"(\w+)"', source):
            assert step in steps, (name, step)
        for reason in re.findall(r'reason="(\w+)"', source):
            assert reason in aborts, (name, reason)
        for action in re.findall(r'"(\w+)_wait"', source):
            assert f"wait_for_{action}" in config["progress"], (name, action)
    assert {"already_configured", "wrong_account", "reauth_successful"} <= set(config["abort"])


def test_icons_json_is_valid_json() -> None:
    assert isinstance(load_json(INTEGRATION / "icons.json"), dict)
