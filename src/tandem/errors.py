"""One exception type for every user-facing error.

The CLI prints `error: <message>` for a TandemError and exits 2, never a traceback. Messages say what
was wrong (file, field, line) and what to do about it.
"""


class TandemError(Exception):
    """A problem with the user's input, files or configuration, with a message that says what to do."""


class InputTooLong(TandemError):
    """An input (source, target or requested decode) longer than the model's positions allow."""
