"""Ctrl-C during training: the first asks the loop to stop at the end of its step and
save, so that the run resumes exactly where it stopped; a second is the usual kill, for a
step that hangs."""

from __future__ import annotations

import signal
import threading

from charloom.errors import CharloomError


class Interrupt:
    """Ctrl-C asks the loop to stop after the current step and save; a second one kills."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _signum, _frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Interrupted(CharloomError):
    """The run stopped at a user's Ctrl-C, its checkpoint saved: exit 130, as a shell's."""

    exit_code = 130
