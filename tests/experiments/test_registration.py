import re
import sys
import textwrap

import pytest

from lawloop import experiments
from lawloop.experiments import (
    BackendNotFoundError,
    BackendRegistrationError,
    BackendSpec,
    Blinded,
    InvalidDesignError,
    list_backends,
    make,
    register,
    spec,
)
from lawloop.experiments._registration import _refresh_entry_points, _registry


@pytest.fixture
def clean_registry():
    saved = dict(_registry)
    yield
    _registry.clear()
    _registry.update(saved)


def test_builtins_are_listed():
    ids = [s.id for s in list_backends()]
    assert {"core/Formula-v0", "core/Pendulum-v0"} <= set(ids)
    assert ids == sorted(ids)


def test_import_experiments_does_not_import_torch():
    import subprocess

    code = "import sys, experiments; experiments.list_backends(); print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_make_unknown_id_suggests_closest_match():
    with pytest.raises(
        BackendNotFoundError, match=re.escape("Did you mean `core/Pendulum-v0`?")
    ):
        make("core/Pendulum-v1")


def test_make_unknown_id_without_close_match_says_how_to_list():
    with pytest.raises(BackendNotFoundError, match=re.escape("backends list")) as info:
        make("zzz/Nothing-v9")
    assert "Did you mean" not in str(info.value)


@pytest.mark.usefixtures("clean_registry")
def test_register_and_make_a_third_party_backend():
    register(
        "testlab/Square-v0", "lawloop_test_backends:Square", description="y = a x^2"
    )
    assert spec("testlab/Square-v0").entry_point == "lawloop_test_backends:Square"
    lab = make("testlab/Square-v0", blind=False)
    assert lab.id == "testlab/Square-v0"
    assert lab.spec == spec("testlab/Square-v0")
    assert lab.ground_truth() == {"y": "a*x**2"}


@pytest.mark.usefixtures("clean_registry")
@pytest.mark.parametrize(
    "bad",
    ["Square-v0", "testlab/Square", "testlab/Square-V0", "Test/Square-v0"],
    ids=str,
)
def test_register_rejects_malformed_ids(bad):
    with pytest.raises(BackendRegistrationError, match="malformed"):
        register(bad, "lawloop_test_backends:Square")


@pytest.mark.usefixtures("clean_registry")
def test_core_namespace_is_reserved_for_builtins():
    with pytest.raises(BackendRegistrationError, match="reserved"):
        register("core/Square-v0", "lawloop_test_backends:Square")


@pytest.mark.usefixtures("clean_registry")
def test_registering_an_id_twice_differently_fails():
    register("testlab/Square-v0", "lawloop_test_backends:Square")
    register("testlab/Square-v0", "lawloop_test_backends:Square")  # identical: fine
    with pytest.raises(BackendRegistrationError, match="already registered"):
        register("testlab/Square-v0", "lawloop_test_backends:Diverging")


def test_make_by_module_and_class():
    lab = make("lawloop_test_backends:Square", noise=0.5)
    assert isinstance(lab, Blinded)
    assert lab.id == "lawloop_test_backends:Square"
    assert lab.noise == 0.5
    assert lab.device == "cpu"  # a NumPy backend never asks for CUDA


def test_make_module_class_with_a_typo_suggests_the_class():
    with pytest.raises(BackendNotFoundError, match=re.escape("Did you mean `Square`?")):
        make("lawloop_test_backends:Sqare")


def test_make_rejects_a_class_that_is_not_a_backend():
    with pytest.raises(BackendRegistrationError, match="not a subclass"):
        make("lawloop_test_backends:NotABackend")


def test_make_rejects_negative_noise():
    with pytest.raises(experiments.ExperimentError, match="noise"):
        make("core/Pendulum-v0", noise=-1.0, device="cpu")


def test_options_are_parsed_with_clear_errors():
    with pytest.raises(InvalidDesignError, match=re.escape("Did you mean `damping`?")):
        make("core/Pendulum-v0", options={"dampin": "0.1"}, device="cpu")
    with pytest.raises(
        InvalidDesignError, match="bad value 'abc' for option `damping`"
    ):
        make("core/Pendulum-v0", options={"damping": "abc"}, device="cpu")
    with pytest.raises(InvalidDesignError, match="max_amplitude"):
        make("core/Pendulum-v0", options={"max_amplitude": "3.5"}, device="cpu")
    with pytest.raises(InvalidDesignError, match="takes no options"):
        make("lawloop_test_backends:Square", options={"x": "1"})


def test_blinded_backend_hides_the_truth_but_forwards_the_rest():
    lab = make("core/Pendulum-v0", device="cpu")
    assert not hasattr(lab, "ground_truth")
    with pytest.raises(AttributeError):
        lab._formula  # noqa: B018
    truth = make("core/Pendulum-v0", device="cpu", blind=False).ground_truth()
    assert truth == {"T": "2*pi*sqrt(L/g)"}
    assert [v.name for v in lab.inputs] == ["L", "theta0", "m", "g"]
    assert lab.observables[0].name == "T"
    assert lab.id == "core/Pendulum-v0"
    assert isinstance(lab, experiments.ExperimentBackend)


def test_make_accepts_a_spec():
    lab = make(
        BackendSpec("testlab/Direct-v0", "lawloop_test_backends:Square"), blind=False
    )
    assert lab.id == "testlab/Direct-v0"


def test_entry_point_backends_are_found(tmp_path, monkeypatch):
    dist = tmp_path / "fakelab-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakelab\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """
            [lawloop.experiments]
            fakelab/Square-v0 = lawloop_test_backends:Square
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _refresh_entry_points()
    try:
        assert "fakelab/Square-v0" in [s.id for s in list_backends()]
        lab = make("fakelab/Square-v0", blind=False)
        assert lab.id == "fakelab/Square-v0"
        with pytest.raises(
            BackendNotFoundError, match=re.escape("Did you mean `fakelab/Square-v0`?")
        ):
            make("fakelab/Square-v1")
    finally:
        monkeypatch.undo()
        _refresh_entry_points()
