"""Imports flow one way: experiments, tools, storage, prompts know nothing of agent."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"agent", "tools", "experiments", "storage", "prompts", "run"}
ALLOWED = {
    "experiments": set(),
    "tools": set(),
    "storage": set(),
    "prompts": set(),
    "agent": {"experiments", "tools", "storage", "prompts"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


@pytest.mark.parametrize("package", sorted(ALLOWED), ids=str)
def test_package_imports_only_what_the_layering_allows(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        wrong = _imports(path) - ALLOWED[package] - {package}
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, "\n".join(bad)


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
