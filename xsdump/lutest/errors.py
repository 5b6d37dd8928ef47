"""What can stop ``lu-test`` short of a verdict: the set-up or a daemon."""

from __future__ import annotations


class LuTestError(Exception):
    """An error of the live-update test that is not a divergence: one line
    for the user, exit status 2."""


class SetupError(LuTestError):
    """The daemons or the hypervisor fake cannot be made available here;
    the message says why."""


class DaemonError(LuTestError):
    """A daemon did not start, died, or stopped answering; the message ends
    with the tail of its log."""


class UpdateRefused(Exception):
    """The daemon declined the live update; ``answer`` is what it said."""

    def __init__(self, answer: str):
        super().__init__(answer)
        self.answer = answer
