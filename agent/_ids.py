"""Deterministic row ids and random streams, so re-run nodes repeat themselves."""

from __future__ import annotations

import uuid

import numpy as np

__all__ = ["NODE_STREAMS", "node_id", "node_seed"]

# Each node that draws random numbers gets its own stream index, so adding a
# draw to one node never shifts another's numbers.
NODE_STREAMS = {"design": 1, "run_experiments": 2, "search": 3, "fit": 4, "propose": 5}


def node_id(campaign_id: str, iteration: int, node: str, index: int | str = 0) -> str:
    """The id of a row written by `node` in `iteration`: the same on every re-run."""
    return str(uuid.uuid5(uuid.UUID(campaign_id), f"{iteration}/{node}/{index}"))


def node_seed(campaign_seed: int, iteration: int, node: str) -> int:
    """A 32-bit seed for `node` in `iteration`, split from the campaign seed."""
    seq = np.random.SeedSequence([campaign_seed, iteration, NODE_STREAMS[node]])
    return int(seq.generate_state(1, dtype=np.uint32)[0])
