"""Which process records a crawl run, and whether that process is still there (Linux ``/proc``).

A one-off crawl killed with SIGKILL, or cut off from its database when it came to record its end, leaves its
run ``running``; the next run on the host records it as failed once its process is known to be gone. A pid
alone cannot say so: pids are reused, containers sharing a host name have pid namespaces of their own, and
``hidepid`` hides other users' processes. So a run keeps its owner as the boot, the pid namespace and the
process's start in clock ticks since boot (none of which a wall-clock step moves), and only a process that is
certainly gone counts: another boot, no such pid, or a pid started at another tick. Elsewhere than Linux
there is no owner and runs are never judged.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def owner_of_this_process() -> str | None:
    """``"<boot id> <pid namespace> <start tick>"`` of the calling process; None without ``/proc``."""
    try:
        return f"{_boot_id()} {os.readlink(PROC / 'self' / 'ns' / 'pid')} {_state_and_start_tick('self')[1]}"
    except (OSError, ValueError, IndexError):
        return None


def is_gone(owner: str, pid: int) -> bool:
    """Whether process ``pid`` that recorded ``owner`` has certainly ended (False when it cannot be told)."""
    try:
        boot, namespace, tick = owner.split(" ")
        if boot != _boot_id():
            return True  # the machine restarted since
        if namespace != os.readlink(PROC / "self" / "ns" / "pid"):
            return False  # another container's process: not visible from here
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists
    try:
        state, started = _state_and_start_tick(str(pid))
    except OSError:
        return False  # hidden (hidepid) or ended this instant: say nothing
    return state == "Z" or started != tick  # a zombie, or the pid now belongs to a newer process


def _boot_id() -> str:
    return (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()


def _state_and_start_tick(pid: str) -> tuple[str, str]:
    """Fields 3 and 22 of ``/proc/<pid>/stat``: the state (Z: a zombie), and when the process started, in clock
    ticks since boot. The fields are counted after the command name, which may hold spaces and parentheses."""
    fields = (PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], fields[19]
