"""The campaign's nodes in one object: the graph calls `Loop.design`, `Loop.fit`, `Loop.decide`, ...

Each node lives in its own module (`_design_node`, `_fit_node`,
`_decide_node`; `_propose_node`, `_formalize_node`, `_search_node` are
functions of a `Loop`), over the
shared context and queries of `LoopContext` (`_context`).
"""

from __future__ import annotations

from lawloop.agent.loop._context import DEFAULT_TOLERANCE
from lawloop.agent.loop._decide_node import DecideNodes
from lawloop.agent.loop._design_node import DesignNodes
from lawloop.agent.loop._fit_node import FitNodes

__all__ = ["DEFAULT_TOLERANCE", "Loop"]


class Loop(DesignNodes, FitNodes, DecideNodes):
    """One campaign's nodes, bound to its store, backend and configuration."""
