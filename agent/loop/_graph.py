"""The LangGraph graph of a campaign: one node per step of the loop.

The state holds ids and counters only; what a node produces is written to
the provenance store, where the next node reads it. Compiled with a SQLite
checkpointer and run with `durability="sync"`, a campaign killed at any
instant resumes at the node it was in, and that node, being idempotent,
finds its own rows instead of writing them twice.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any, Protocol

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from lawloop.agent.loop import _formalize_node, _propose_node, _search_node
from lawloop.agent.loop._nodes import Loop

__all__ = ["CampaignState", "NodeHook", "build_graph"]


class CampaignState(TypedDict):
    """The checkpointed state: small, primitive, and never the record itself."""

    campaign_id: str
    """The campaign this thread runs."""
    iteration: int
    """Index of the iteration in progress."""
    design_sha: str
    """Artifact holding the inputs chosen by `design` for this iteration."""
    design_reason: str
    """Why those inputs (recorded with the run)."""
    iter_started: float
    """Wall-clock time the iteration began (for the time budget)."""
    elapsed_s: float
    """Campaign work time of finished iterations (a resumed run's clock starts from it)."""
    done: bool
    """The campaign has stopped (accepted a law or spent its budget)."""
    stop_reason: str
    """Why it stopped."""


def design(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Choose what to measure in this iteration."""
    sha, reason = runtime.context.design(state["iteration"])
    return {"design_sha": sha, "design_reason": reason, "iter_started": time.time()}


def run_experiments(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Measure the designed inputs on the backend."""
    runtime.context.run_experiments(
        state["iteration"], state["design_sha"], state["design_reason"]
    )
    return {}


def propose(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Ask the planner for hypotheses."""
    _propose_node.propose(runtime.context, state["iteration"])
    return {}


def formalize(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Parse, check and deduplicate the planner's hypotheses."""
    _formalize_node.formalize(runtime.context, state["iteration"])
    return {}


def search(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Widen the search with symbolic regression (within the time left)."""
    _search_node.search(runtime.context, state["iteration"])
    return {}


def fit(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Fit and score every open hypothesis."""
    runtime.context.fit(state["iteration"])
    return {}


def decide(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
    """Judge the rivals: accept, reject, stop, or go round again."""
    k = state["iteration"]
    loop = runtime.context
    elapsed = (
        loop.clock.elapsed_s()
        if loop.clock is not None
        else state["elapsed_s"] + max(0.0, time.time() - state["iter_started"])
    )
    done, reason = loop.decide(k, elapsed)
    return {
        "iteration": k + 1,
        "done": done,
        "stop_reason": reason,
        "elapsed_s": elapsed,
    }


def _next(state: CampaignState) -> str:
    return END if state["done"] else "design"


class NodeHook(Protocol):
    """Called around every node: the runner's stop check and progress view.

    `before` runs after the previous node's checkpoint is written, so a hook
    that raises there (a stop request) leaves the campaign at a clean node
    boundary. Both must be cheap: they run seven times an iteration.
    """

    def before(self, node: str, state: Mapping[str, Any], loop: Loop) -> None:
        """A node is about to start."""

    def after(
        self,
        node: str,
        state: Mapping[str, Any],
        update: Mapping[str, Any],
        loop: Loop,
    ) -> None:
        """A node returned `update`."""


class Node(Protocol):
    """A node function, as LangGraph calls it (`runtime` by name)."""

    def __call__(self, state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
        """Run the node."""


def _hooked(name: str, fn: Node, hook: NodeHook) -> Node:
    """`fn` with `hook` called before and after it."""

    def node(state: CampaignState, runtime: Runtime[Loop]) -> dict[str, Any]:
        hook.before(name, state, runtime.context)
        update = fn(state, runtime)
        hook.after(name, state, update, runtime.context)
        return update

    node.__name__ = node.__qualname__ = name
    node.__doc__ = fn.__doc__
    return node


def build_graph(
    hook: NodeHook | None = None,
) -> StateGraph[CampaignState, Loop, Any, Any]:
    """The campaign loop: design, run_experiments, propose, formalize, search, fit, decide.

    Args:
        hook: Called around every node (see `NodeHook`); `None` for none.
    """
    graph: StateGraph[CampaignState, Loop, Any, Any] = StateGraph(
        CampaignState, context_schema=Loop
    )
    steps = [
        ("design", design),
        ("run_experiments", run_experiments),
        ("propose", propose),
        ("formalize", formalize),
        ("search", search),
        ("fit", fit),
        ("decide", decide),
    ]
    for name, fn in steps:
        graph.add_node(name, fn if hook is None else _hooked(name, fn, hook))
    graph.add_edge(START, "design")
    for (a, _), (b, _) in itertools.pairwise(steps):
        graph.add_edge(a, b)
    graph.add_conditional_edges("decide", _next, ["design", END])
    return graph
