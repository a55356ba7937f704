"""Named errors that tell the user how to fix the problem (never built-in names like IndexError)."""
from __future__ import annotations


class VerbatimError(Exception):
    """Base: the CLI prints str(error) as one line and exits non-zero, no traceback."""


class IndexNotBuiltError(VerbatimError):
    def __init__(self, path: str) -> None:
        super().__init__(f"no index at {path}: run `python -m index build --db {path} [PATH ...]`")


class IndexCorruptError(VerbatimError):
    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"the index at {path} is unreadable ({why}): rebuild it with `python -m index build --db {path}`")


class IndexOutdatedError(VerbatimError):
    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"the index at {path} was built by another version ({why}): rebuild it with `python -m index build`")


class IndexBusyError(VerbatimError):
    def __init__(self, path: str) -> None:
        super().__init__(f"another build is writing {path}; wait for it to finish and try again")


class ConfigError(VerbatimError):
    """Missing or invalid configuration, e.g. an unset environment variable."""


class IndexWriteError(VerbatimError):
    """The file system refused a write (disk full, read-only folder, a file where a folder must be).

    Raised instead of a bare OSError / sqlite3.OperationalError so the CLI prints one line and the
    bot keeps serving the previous index, which the rolled-back build left intact."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"could not write the index at {path} ({why}); the previous index, if any, is intact: "
                         "free space or fix the folder's permissions, then build again")
