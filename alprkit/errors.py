"""Errors that describe a user mistake.

The CLI prints an ``AlprkitError`` as one line (``alprkit: error: ...``) and exits
with status 2; anything else is a bug and keeps its traceback.
"""


class AlprkitError(Exception):
    """A mistake in the user's input, files or configuration; the message names it.

    The message is kept on one line: a value quoted in it (``data=`` with a newline) has its
    control characters escaped, as :func:`shown_path` does for paths.
    """

    def __init__(self, *args):
        if len(args) == 1 and isinstance(args[0], str):
            args = (_one_line(args[0]),)
        super().__init__(*args)


class ConfigError(AlprkitError):
    """A wrong config key or value."""


class InputError(AlprkitError):
    """An unreadable, empty or unusable input file."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{shown_path(path)}: {reason}")


def shown_path(path) -> str:
    """``path`` as one line: a file name may hold a newline or other control characters, which are
    escaped (``\\n``); other letters, Chinese ones included, stay as they are."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


def _one_line(text: str) -> str:
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class LabelError(InputError):
    """A dataset label that is malformed or uses characters outside its charset."""


class UnknownComponentError(AlprkitError):
    """A registry name that nobody registered."""


class DuplicateComponentError(AlprkitError):
    """Two plugins registered the same name for the same kind."""


class MissingExtraError(AlprkitError):
    """A feature needs a package of an extra that is not installed (``pip install 'alprkit[train]'``)."""
