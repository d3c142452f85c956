"""Imports flow one way, between packages and between the rooms of `agent`.

Packages: experiments, tools, storage and prompts know nothing of the rest;
agent uses those four; the CLI (`lawloop.cli`) and the Python API
(`lawloop`) sit on top. Inside agent the rooms are ordered
science < planners < views < loop < audit: a room imports only rooms
before it (and agent's shared leaves: errors, ids, clock, settings,
liveness). Every import names the installed package (`lawloop.tools`,
never `tools`): a bare name would load a second copy of the module.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BARE = {"agent", "tools", "experiments", "storage", "prompts", "run"}
PACKAGES = {
    "experiments": set(),
    "tools": set(),
    "storage": set(),
    "prompts": set(),
    "agent": {"experiments", "tools", "storage", "prompts"},
    "cli": {"agent", "experiments", "tools", "storage", "prompts", "api"},
    "api": {"agent", "storage", "experiments"},
}
ROOMS = {
    "": set(),  # agent's shared leaves
    "science": set(),
    "planners": {"science"},
    "views": {"science", "planners"},
    "loop": {"science", "planners", "views"},
    "audit": {"science", "planners", "views", "loop"},
}


def _package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "lawloop":
        return "cli" if parts[1] == "cli" else "api"
    return parts[0]


def _imported(path: Path) -> set[str]:
    """Dotted names of project modules and packages `path` imports."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if (
                node.module != "lawloop"
            ):  # `from lawloop import tools` names lawloop.tools
                found.add(node.module)
            if node.module == "lawloop" or node.module.startswith("lawloop.agent"):
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return {n for n in found if n.split(".")[0] in BARE | {"lawloop"}}


def _sources() -> list[Path]:
    folders = [
        *(ROOT / p for p in PACKAGES if p not in {"cli", "api"}),
        ROOT / "lawloop",
    ]
    return sorted(
        p for f in folders for p in f.rglob("*.py") if "__pycache__" not in p.parts
    )


def _package_named(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "lawloop":
        return None
    if len(parts) == 1:
        return "api"
    return parts[1] if parts[1] in PACKAGES else "api"


def _room(dotted: str) -> str:
    parts = dotted.split(".")  # lawloop.agent.<room or leaf>...
    return parts[2] if len(parts) > 2 and parts[2] in ROOMS else ""


def test_no_module_imports_a_project_package_by_its_bare_name():
    bad = [
        f"{p.relative_to(ROOT)} imports {sorted(n for n in _imported(p) if n.split('.')[0] in BARE)}"
        for p in [
            *_sources(),
            *(ROOT / "tests").rglob("*.py"),
            *(ROOT / "benchmarks").glob("*.py"),
        ]
        if any(n.split(".")[0] in BARE for n in _imported(p))
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", sorted(PACKAGES), ids=str)
def test_package_imports_only_what_the_layering_allows(package):
    bad = []
    sources = [p for p in _sources() if _package_of(p) == package]
    assert sources
    for path in sources:
        used = {_package_named(n) for n in _imported(path)} - {None, package}
        wrong = used - PACKAGES[package]
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(map(str, wrong))}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("room", sorted(ROOMS), ids=lambda r: r or "leaves")
def test_agent_rooms_import_only_the_rooms_before_them(room):
    bad = []
    folder = ROOT / "agent" / room if room else ROOT / "agent"
    sources = sorted(folder.glob("*.py"))
    if not room:  # the package's face re-exports every room
        sources = [p for p in sources if p.name != "__init__.py"]
    assert sources
    for path in sources:
        used = {_room(n) for n in _imported(path) if n.startswith("lawloop.agent.")} - {
            room,
            "",
        }
        wrong = used - ROOMS[room]
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports rooms {sorted(wrong)}")
    assert not bad, "\n".join(bad)


def test_the_layering_check_sees_a_forbidden_import(tmp_path):
    """The checks above can fail: an import of the loop from science is found."""
    probe = tmp_path / "_layering_probe.py"
    probe.write_text("from lawloop.agent.loop import _graph\nimport tools\n")
    names = _imported(probe)
    assert "tools" in names
    assert {_room(n) for n in names if n.startswith("lawloop.agent.")} == {"loop"}
    assert "loop" not in ROOMS["science"]


def test_importing_the_cli_loads_no_heavy_package():
    code = "import sys, run; heavy = [m for m in ('torch', 'pyoperon', 'langgraph', 'sympy', 'openai') if m in sys.modules]; print(heavy)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
