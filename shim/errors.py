"""Errors that end a verb with systemctl's message and exit code.

Verbs raise `ShimError` for anything the user did wrong or the machine refused; `cli.main` prints the
message on stderr and exits with the code. Anything else escaping is a bug, and `cli.main` still
turns it into one line on stderr rather than a traceback.
"""

EXIT_FAILURE = 1


class ShimError(Exception):
    """A failure with the exact text systemctl prints (on stderr) and its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.message = message
        self.code = code
