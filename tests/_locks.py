"""The store's cross-process write lock (``<file>.writelock``, ``flock``) held by a real other
process, for the tests of group commit: a child Python takes the lock, says so, and gives it
back when told to (or when the test ends).

    with LockHolder(db_path) as holder:   # returns once the child holds the lock
        ...                                # this process's writers must wait or poll
        holder.release()                   # optional: give it back before the block ends
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
)


class LockHolder:
    """A child process holding ``<db_path>.writelock`` from ``__enter__`` until :meth:`release`."""

    def __init__(self, db_path) -> None:
        self.lock_path = f"{db_path}.writelock"
        self._child: subprocess.Popen | None = None

    def __enter__(self) -> LockHolder:
        self._child = subprocess.Popen([sys.executable, "-c", CHILD, self.lock_path],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._child.stdout.readline().strip() == "held", "the child did not take the lock"
        return self

    def release(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(timeout=30)

    def __exit__(self, *exc) -> None:
        self.release()


def lock_is_free(db_path) -> bool:
    """True when another process could take the write lock now (checked through a second open
    file description, which ``flock`` treats as another process; given back at once)."""
    import fcntl

    fd = os.open(f"{db_path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
