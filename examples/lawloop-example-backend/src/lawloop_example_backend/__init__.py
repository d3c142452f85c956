"""An example lawloop plugin: one experiment backend, declared by entry point.

lawloop finds `example/FallingBall-v0` through the entry-point group
`lawloop.experiments` in this package's `pyproject.toml`; nothing here
needs to be imported by hand.

Example:
    >>> from lawloop import experiments
    >>> lab = experiments.make("example/FallingBall-v0")
"""

from __future__ import annotations

from lawloop_example_backend.falling import BACKEND_ID, FallingBall

__all__ = ["BACKEND_ID", "FallingBall"]
