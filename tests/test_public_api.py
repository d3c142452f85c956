"""Each package's `__all__` is sorted and lists every public name it defines."""

import importlib
import types

import pytest

PACKAGES = [
    "lawloop.agent",
    "lawloop.tools",
    "lawloop.tools.sr",
    "lawloop.experiments",
    "lawloop.storage",
]


@pytest.mark.parametrize("name", PACKAGES, ids=str)
def test_all_is_sorted_and_complete(name):
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(
        exported, key=lambda s: (not s.isupper(), s)
    ) or exported == sorted(exported)
    root = ".".join(name.split(".")[:2])  # lawloop.agent: names defined in the package
    public = {  # names the package defines itself (typing helpers imported for annotations aside)
        k
        for k, v in vars(module).items()
        if not k.startswith("_")
        and not isinstance(v, types.ModuleType)
        and str(getattr(v, "__module__", root)).startswith(root)
    }
    assert public <= set(exported), f"not in __all__: {sorted(public - set(exported))}"
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing `{item}`"
