"""A Python kernel with a memory limit, for grading untrusted notebooks.

The grading job puts a ``python3`` kernelspec first on ``JUPYTER_PATH`` whose command is
``python -m course_admin.kernel -f {connection_file}``; this sets ``RLIMIT_AS`` to
``COURSE_KERNEL_MEMORY_MB`` megabytes (when set) and starts ipykernel, so a memory bomb gets a
``MemoryError`` in its own cell instead of taking the machine down.
"""

from __future__ import annotations

import os
import resource


def limit_memory() -> None:
    """Apply ``COURSE_KERNEL_MEMORY_MB`` (if set and positive) as the address-space limit."""
    megabytes = int(os.environ.get("COURSE_KERNEL_MEMORY_MB", "0") or 0)
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    """Limit memory, then run ipykernel with this process's arguments."""
    limit_memory()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
