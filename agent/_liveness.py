"""Whether a campaign's runner is alive: read from its lease, by the loop and the views alike.

On the same machine (one kernel and PID namespace, where pids mean the same
thing) a dead holder is seen at once: its pid is gone. Elsewhere the lease's
heartbeat decides.
"""

from __future__ import annotations

import os
from pathlib import Path

from lawloop.storage import LeaseRecord

__all__ = ["holder_alive", "holder_text", "process_node", "run_status"]


def process_node() -> str:
    """This process's kernel boot and PID namespace on Linux (where pids can be checked), else "".

    Two processes with the same value see the same pids: one can tell
    whether the other is alive. Host names alone would not do (containers
    share them with their host, yet not their pids).
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` of this namespace exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def holder_alive(lease: LeaseRecord) -> bool:
    """Whether a live process holds the lease: held, not lapsed, and (when checkable) its pid exists."""
    if not lease.held:
        return False
    node = process_node()
    if node and lease.node == node and lease.pid is not None:
        return _pid_alive(lease.pid)
    return True


def run_status(lease: LeaseRecord) -> str:
    """The status to show: a `running` campaign whose process is gone is `interrupted`."""
    if lease.status == "running" and not holder_alive(lease):
        return "interrupted"
    return lease.status


def holder_text(lease: LeaseRecord) -> str:
    """The holder in words: host, pid and the age of its last heartbeat."""
    age = (
        f", last heartbeat {(lease.checked_at - lease.heartbeat_at).total_seconds():.1f} s ago"
        if lease.heartbeat_at is not None
        else ""
    )
    return f"host `{lease.host}`, pid {lease.pid}{age}"
