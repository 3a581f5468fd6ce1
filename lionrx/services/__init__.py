"""Models as services (lionpride's ``lionpride.services``): `iModel` and `Calling`."""

from lionrx.services._calling import Calling, EventStatus, Execution
from lionrx.services._imodel import iModel

__all__ = ["Calling", "EventStatus", "Execution", "iModel"]
