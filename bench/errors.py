"""The error types a user sees.

Every problem a user can fix (a bad condition file, a missing sequence, an encoder that is not installed)
is raised as a :class:`BenchError` whose message is one line naming the file, key, sequence or codec and
saying what to do. The CLI prints that line and exits non-zero; nothing else prints tracebacks at users.
"""

from __future__ import annotations


class BenchError(Exception):
    """A problem the user can act on; ``str(error)`` is the whole message."""


class ConditionError(BenchError):
    """A test-condition or codec-descriptor file is invalid (names the file and the key path)."""


class DataError(BenchError):
    """A sequence file is missing, has the wrong size, or holds too few frames."""


class AdapterError(BenchError):
    """A codec adapter failed: the tool is missing, crashed, or produced wrong output."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail
