"""`BackendWrapper`: the base of the wrappers `make` puts round a backend (cf. Gymnasium `Wrapper`)."""

from __future__ import annotations

from typing import Any

from lawloop.experiments._api import ExperimentBackend


class BackendWrapper(ExperimentBackend):
    """A backend that wraps another and forwards what it does not override.

    Cross-cutting behaviour (measurement noise, blinding) lives in wrappers
    rather than in `ExperimentBackend`: `make` builds the backend and wraps
    it, as `gymnasium.make` wraps an environment. A subclass overrides what
    it changes; everything else reads through to the wrapped backend: every
    public attribute, property and method that `ExperimentBackend` declares
    (`inputs`, `id`, `run_batch`, ...) and, through `__getattr__`, the
    instance attributes (`device`, `options`) and a backend's own extras.
    Private names are never forwarded. `unwrapped` is the innermost backend.

    Example:
        >>> from lawloop import experiments
        >>> class Shouting(BackendWrapper):
        ...     @property
        ...     def id(self) -> str | None:
        ...         return (self.backend.id or "").upper()
        >>> lab = Shouting(experiments.make("core/Pendulum-v0", blind=False, device="cpu"))
        >>> lab.id, lab.inputs == lab.unwrapped.inputs
        ('CORE/PENDULUM-V0', True)
        >>> lab
        <Shouting<Noisy<Pendulum id='core/Pendulum-v0' device='cpu'>>>
    """

    def __init__(self, backend: ExperimentBackend) -> None:
        """Wrap `backend`.

        The base initializer is not called: the device, options and
        generator are the wrapped backend's, read through.

        Args:
            backend: The backend (or wrapper) to wrap.
        """
        self._backend = backend

    @property
    def backend(self) -> ExperimentBackend:
        """The backend this wrapper wraps directly (maybe another wrapper)."""
        return self._backend

    @property
    def unwrapped(self) -> ExperimentBackend:
        """The innermost backend, under every wrapper."""
        return self._backend.unwrapped

    def __getattr__(self, name: str) -> Any:
        """Forward attributes the classes do not declare (`device`, a backend's extras)."""
        # Private attributes are the wrapped backend's own business (and may
        # hold the truth); `_backend` itself missing must not recurse.
        if name.startswith("_"):
            msg = (
                f"`{type(self).__name__}` does not forward private attribute `{name}`."
            )
            raise AttributeError(msg)
        return getattr(self._backend, name)

    def __repr__(self) -> str:
        """Show the chain of wrappers, e.g. `<Blinded<Noisy<Pendulum ...>>>`."""
        return f"<{type(self).__name__}{self._backend!r}>"


class _ReadThrough:
    """A class attribute of `BackendWrapper` that reads one name from the wrapped backend."""

    def __init__(self, name: str) -> None:
        """Forward `name`."""
        self.name = name

    def __get__(self, wrapper: BackendWrapper | None, owner: type) -> Any:
        """The wrapped backend's value (on the class: this descriptor)."""
        if wrapper is None:
            return self
        # `_backend`, not `backend`: `Blinded` hides the latter from the agent.
        return getattr(wrapper._backend, self.name)


def _install_read_through() -> None:
    """Forward every public name `ExperimentBackend` declares that `BackendWrapper` does not.

    The base class's declarations (`inputs = ()`, `run_batch`, the `rng`
    property) would otherwise shadow `__getattr__` and answer for the
    wrapper itself. Being non-data descriptors, these lose to a subclass's
    own definition and to an attribute set on a wrapper instance: an
    override wins.
    """
    for name in vars(ExperimentBackend):
        if not name.startswith("_") and name not in vars(BackendWrapper):
            setattr(BackendWrapper, name, _ReadThrough(name))


_install_read_through()
