"""The packaging files: the PyInstaller spec, the desktop entry and the AppStream metainfo."""

from __future__ import annotations

import ast
import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.transformer_explorer.TransformerExplorer"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"


def test_spec_compiles_and_bundles_the_resources_as_the_package():
    source = (PACKAGING / "transformer-explorer.spec").read_text(encoding="utf-8")
    tree = ast.parse(source, filename="transformer-explorer.spec")
    compile(tree, "transformer-explorer.spec", "exec")
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= calls
    # The resources land where importlib.resources looks for explorer.resources.
    assert '"explorer", "resources"' in source
    assert "transformers" in source  # excluded from the bundle


def test_build_and_smoke_scripts_compile():
    for name in ("build.py", "smoke.py", "render_icons.py", "launcher.py"):
        path = PACKAGING / name
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    assert parser.sections()[0] == "Desktop Entry"
    return parser["Desktop Entry"]


def test_desktop_entry_has_the_required_keys():
    entry = _desktop_entry()
    for key in ("Type", "Name", "Exec", "Icon", "Categories"):
        assert entry.get(key), f"{key} missing from {DESKTOP.name}"
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "transformer-explorer"
    assert entry["Icon"] == "transformer-explorer"
    assert entry["Categories"].endswith(";")
    assert {"Education", "Science"} & set(entry["Categories"].split(";"))
    assert entry["Terminal"] == "false"


def test_metainfo_has_the_required_elements():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    for tag in ("name", "summary", "metadata_license", "project_license"):
        assert (root.findtext(tag) or "").strip(), f"<{tag}> missing"
    assert root.find("description/p") is not None
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    rating = root.find("content_rating")
    assert rating is not None and rating.get("type", "").startswith("oars-")
    assert root.findtext("provides/binary") == "transformer-explorer"
    # AppStream asks for a short summary without a trailing full stop.
    summary = root.findtext("summary")
    assert len(summary) <= 80 and not summary.endswith(".")
