"""The error types a user sees.

Every problem a user can fix (a bad condition file, a missing sequence, an encoder that is not installed)
is raised as a :class:`BenchError` whose message is one line naming the file, key, sequence or codec and
saying what to do. The CLI prints that line and exits non-zero; nothing else prints tracebacks at users.
"""

from __future__ import annotations

import difflib
import errno


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


class EnvironmentProblem(BenchError):
    """The machine, not the codec: a full disk, a read-only folder, a permission. Never recorded as a job's
    failure (a plain rerun would skip it): the run stops, and the jobs it hit are coded by the next run."""


_ENVIRONMENT_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                       errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                       errno.EPERM: "operation not permitted"}
_ENVIRONMENT_TEXT = ("No space left on device", "Disk quota exceeded", "Read-only file system")


def environment_problem(error: BaseException, what: str = "",
                        consequence: str = "nothing half-written is left") -> EnvironmentProblem | None:
    """An EnvironmentProblem naming the path (or WHAT) and the cause, if ERROR is one (an OSError with such an
    errno, or a tool's message saying so); else None."""
    if isinstance(error, OSError) and error.errno in _ENVIRONMENT_ERRNOS:
        where = error.filename or what or "a file"
        return EnvironmentProblem(f"{where}: {_ENVIRONMENT_ERRNOS[error.errno]}; {_TO_DO.get(error.errno, 'fix that')} "
                                  f"and run again ({consequence})")
    text = f"{error} {getattr(error, 'stderr_tail', '')}"
    for phrase, number in zip(_ENVIRONMENT_TEXT, (errno.ENOSPC, errno.EDQUOT, errno.EROFS), strict=True):
        if phrase in text:
            return EnvironmentProblem(f"{what or 'a tool'}: {phrase.lower()}; {_TO_DO.get(number, 'fix that')} and run "
                                      f"again ({consequence})")
    return None


_TO_DO = {errno.ENOSPC: "free space on that file system (df -h shows how much is left there)",
          errno.EDQUOT: "free space within your quota there (or raise it)"}


def known_names(name: str, known: list[str], what: str) -> str:
    """What to say of the known WHAT (codecs, adapters) beside an unknown NAME: all of them while they are few;
    past that, the near ones (a typo) and where the full list is, so that the message stays one readable line."""
    if len(known) <= 12:
        return f"known {what}: {', '.join(known) or 'none'}"
    close = difflib.get_close_matches(name, known, n=3)
    return (f"did you mean {' or '.join(close)}? " if close else "") + f"{len(known)} known {what}: `evaluate.py ls`"
