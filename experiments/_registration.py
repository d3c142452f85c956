"""Backend registry: `register`, `spec`, `make`, `list_backends` (cf. Gymnasium)."""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Callable, Mapping
from importlib import metadata as importlib_metadata
from typing import Any

from lawloop.experiments._api import BackendSpec, EntryPoint, ExperimentBackend
from lawloop.experiments._blinded import Blinded
from lawloop.experiments._noise import NoiseModel
from lawloop.experiments._noisy import Noisy
from lawloop.experiments.errors import (
    BackendNotFoundError,
    BackendRegistrationError,
    ExperimentError,
    did_you_mean,
)

ID_RE = re.compile(r"^[a-z0-9_]+/[A-Za-z0-9_]+-v\d+$")
"""Backend ids: `namespace/Name-vN`."""
ENTRY_POINT_GROUP = "lawloop.experiments"
"""Entry-point group in which third-party packages declare backends."""
_BUILTIN_PREFIX = "lawloop.experiments.builtin"
_MODULE_CLASS_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

_registry: dict[str, BackendSpec] = {}


def _module_of(entry_point: EntryPoint) -> str:
    """Return the module an entry point lives in."""
    if isinstance(entry_point, str):
        return entry_point.partition(":")[0]
    return str(getattr(entry_point, "__module__", ""))


def register(
    id: str,
    entry_point: EntryPoint,
    *,
    nondeterministic: bool = False,
    kwargs: Mapping[str, Any] | None = None,
    description: str = "",
) -> BackendSpec:
    """Register a backend under a versioned id.

    Args:
        id: `namespace/Name-vN`; the `core/` namespace is for built-ins.
        entry_point: `"pkg.module:Class"` or a callable returning a backend.
        nondeterministic: Whether equal seeds may give different results.
        kwargs: Extra constructor keyword arguments.
        description: One line for listings.

    Returns:
        The registered spec.

    Raises:
        BackendRegistrationError: For a malformed id, a `core/` id outside
            the built-ins, or an id already registered differently.
    """
    if not isinstance(id, str) or not ID_RE.match(id):
        msg = f"Backend id `{id}` is malformed; use `namespace/Name-vN`, e.g. `mylab/Pendulum-v0`."
        raise BackendRegistrationError(msg)
    if id.startswith("core/") and not _module_of(entry_point).startswith(
        _BUILTIN_PREFIX
    ):
        msg = f"Backend id `{id}` uses the `core/` namespace, which is reserved for built-ins; pick your own namespace."
        raise BackendRegistrationError(msg)
    new = BackendSpec(
        id, entry_point, nondeterministic, dict(kwargs or {}), description
    )
    old = _registry.get(id)
    if old is not None and old != new:
        msg = f"Backend id `{id}` is already registered to `{old.entry_point}`; bump the version or pick another id."
        raise BackendRegistrationError(msg)
    _registry[id] = new
    return new


@functools.cache
def _entry_points() -> dict[str, str]:
    """Backend ids declared by installed distributions (cached)."""
    return {
        ep.name: ep.value
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
    }


def _refresh_entry_points() -> None:
    """Forget cached entry points (after installing a plugin at run time)."""
    _entry_points.cache_clear()


def spec(id: str) -> BackendSpec:
    """Look up the spec of a registered or entry-point backend.

    Args:
        id: A backend id, or `module:Class`.

    Returns:
        The spec.

    Raises:
        BackendNotFoundError: With the closest known id.
    """
    if id in _registry:
        return _registry[id]
    if id in _entry_points():
        value = _entry_points()[id]
        if not ID_RE.match(id):
            msg = f"Entry point `{id}` in group `{ENTRY_POINT_GROUP}` is not a valid id `namespace/Name-vN`."
            raise BackendRegistrationError(msg)
        if id.startswith("core/"):
            msg = f"Entry point `{id}` = `{value}` uses the reserved `core/` namespace."
            raise BackendRegistrationError(msg)
        return BackendSpec(id, value)
    if _MODULE_CLASS_RE.match(id):
        return BackendSpec(id, id)
    known = sorted(set(_registry) | set(_entry_points()))
    msg = (
        f"Backend `{id}` is not registered.{did_you_mean(id, known)} "
        "Run `python run.py backends list` to see available backends, "
        "or name a class directly as `module:Class`."
    )
    raise BackendNotFoundError(msg)


def list_backends() -> list[BackendSpec]:
    """List registered and entry-point backends, sorted by id.

    Returns:
        One spec per known id.
    """
    ids = sorted(set(_registry) | set(_entry_points()))
    return [spec(i) for i in ids]


def describe(id: str) -> str:
    """What a backend measures: the first line of its class's docstring.

    Imports the backend's module. A backend that cannot be loaded is
    described by the reason, so a listing never fails on one broken plugin.
    """
    try:
        factory = _load(spec(id))
    except ExperimentError as exc:
        return f"(cannot be loaded: {exc})"
    doc = (getattr(factory, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _load(entry: BackendSpec) -> Callable[..., ExperimentBackend]:
    """Import a spec's entry point and check that it builds backends."""
    target = entry.entry_point
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        msg = f"Cannot import module `{module_name}` for backend `{entry.id}`: {exc}."
        if entry.id == target:
            raise BackendNotFoundError(msg) from exc
        raise BackendRegistrationError(msg) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            msg = f"Module `{module_name}` has no attribute `{attr}`.{did_you_mean(part, names)}"
            raise BackendNotFoundError(msg)
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, ExperimentBackend)):
        msg = (
            f"Entry point `{target}` of backend `{entry.id}` is `{obj!r}`, which is not a subclass "
            "of `experiments.ExperimentBackend`; point it at a backend class."
        )
        raise BackendRegistrationError(msg)
    return obj


def _default_device(factory: Callable[..., ExperimentBackend]) -> str:
    """Pick `cuda` when the backend supports it and torch sees a GPU, else `cpu`."""
    devices = tuple(getattr(factory, "metadata", {}).get("devices", ("cpu",)))
    if "cuda" not in devices:
        return "cpu"
    import torch  # heavy: only torch backends pay for it  # noqa: PLC0415 - loaded only when used (heavy or optional)

    return "cuda" if torch.cuda.is_available() else "cpu"


def make(
    id: str | BackendSpec,
    *,
    noise: float = 0.0,
    noise_model: str = "gaussian",
    noise_offset: float = 0.0,
    options: Mapping[str, str] | None = None,
    device: str | None = None,
    blind: bool = True,
) -> ExperimentBackend:
    """Build a backend.

    Args:
        id: A registered id, an entry-point name in `lawloop.experiments`,
            `module:Class`, or a `BackendSpec`.
        noise: Relative noise level gamma; for `gaussian` the standard
            deviation is gamma times the RMS of the clean observable.
        noise_model: `gaussian`, `heteroscedastic` (standard deviation gamma
            times the value) or `poisson` (counts drawn from the value); see
            `NoiseModel`.
        noise_offset: A systematic shift of every measurement, in units of
            the RMS of the clean observable.
        options: Backend options (`--option KEY=VALUE`); each backend parses its own.
        device: Torch device; `None` picks `cuda` when available, else `cpu`.
        blind: Wrap in `Blinded`, hiding `ground_truth` (the default).

    Returns:
        The backend, with `id` and `spec` set, wrapped in `Noisy` and (unless
        `blind=False`) in `Blinded`: `<Blinded<Noisy<Pendulum ...>>>`.

    Raises:
        BackendNotFoundError: For an unknown id (with a suggestion).
        BackendRegistrationError: If the entry point is not a backend class.
        ExperimentError: For a bad noise level, model or offset.
        InvalidDesignError: For unknown or malformed options.
    """
    entry = id if isinstance(id, BackendSpec) else spec(id)
    if not (isinstance(noise, int | float) and math.isfinite(noise) and noise >= 0):
        msg = f"`noise` must be a finite number >= 0, got {noise!r}."
        raise ExperimentError(msg)
    try:
        model = NoiseModel(noise_model, float(noise), float(noise_offset))  # type: ignore[arg-type]  # checked in __post_init__
    except (TypeError, ValueError) as exc:
        raise ExperimentError(str(exc)) from None
    factory = _load(entry)
    backend = factory(
        device=device if device is not None else _default_device(factory),
        options=dict(options or {}),
        **entry.kwargs,
    )
    if not isinstance(backend, ExperimentBackend):
        msg = f"Entry point of `{entry.id}` returned `{type(backend).__name__}`, not an `ExperimentBackend`."
        raise BackendRegistrationError(msg)
    backend.spec = entry
    backend.id = entry.id
    # Blinding goes outside the noise, so that it hides the noise model too.
    noisy = Noisy(backend, model)
    return Blinded(noisy) if blind else noisy
