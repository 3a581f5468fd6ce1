"""`ServiceRegistry`: the models a session can use, by unique name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from lionrx._errors import ConfigurationError

__all__ = ["NamedModel", "ServiceRegistry"]


@runtime_checkable
class NamedModel(Protocol):
    """What the registry needs of a model: a ``name`` (an `lionrx.services.iModel` has one)."""

    @property
    def name(self) -> str: ...


class ServiceRegistry:
    """Models by name (``session.services``). Names are unique: registering a second model
    under a taken name is an error unless ``update=True``, so one model never silently
    replaces another."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def register(self, model: Any, *, name: str | None = None, update: bool = False) -> None:
        """Add ``model`` under ``name`` (default: ``model.name``).

        Raises `lionrx.errors.ConfigurationError` if the name is taken by another model and
        ``update`` is False (registering the same object again is a no-op).
        """
        key = name if name is not None else getattr(model, "name", None)
        if not isinstance(key, str) or not key:
            raise ConfigurationError(
                f"cannot register {type(model).__name__}: it has no name (pass name=...)"
            )
        existing = self._models.get(key)
        if existing is not None and existing is not model and not update:
            raise ConfigurationError(
                f"a model named {key!r} is already registered in this session; give the new "
                f"model its own name (e.g. iModel(..., name='{key}-2')) or pass update=True "
                "to replace it"
            )
        self._models[key] = model

    def get(self, name: str, default: Any = ...) -> Any:
        """The model registered as ``name``; raises `ConfigurationError` listing the known
        names when there is none (or returns ``default`` if given)."""
        try:
            return self._models[name]
        except KeyError:
            if default is not ...:
                return default
            known = ", ".join(repr(n) for n in self._models) or "none"
            raise ConfigurationError(
                f"no model named {name!r} in this session (registered: {known})"
            ) from None

    def unregister(self, name: str) -> Any:
        """Remove and return the model registered as ``name``."""
        model = self.get(name)
        del self._models[name]
        return model

    def list_names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._models)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._models
        return any(m is item for m in self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._models))

    def __repr__(self) -> str:
        return f"ServiceRegistry({self.list_names()!r})"
