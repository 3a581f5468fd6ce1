"""Conversation operations on a `lionrx.Session` (lionpride's ``lionpride.operations``)."""

from lionrx.operations._communicate import communicate

__all__ = ["communicate"]
