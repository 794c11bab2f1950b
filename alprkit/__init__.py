"""alprkit: plugin-based automatic licence plate recognition.

``alprkit.Reader`` and ``alprkit.components`` (the Python API, :mod:`alprkit.api`) load on
first use, so ``import alprkit`` stays instant and pulls in no model library.
"""

__all__ = ["Reader", "components"]


def __getattr__(name):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'alprkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
