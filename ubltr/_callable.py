"""Let a stage module be called as its main function.

``ubltr.validate``, ``ubltr.sign`` and ``ubltr.parse`` are modules (``import
ubltr.sign as m`` and ``from ubltr.validate import Report`` keep working) and also the
functions of the brief: ``ubltr.validate(xml)``, ``ubltr.sign(xml, key, chain)``,
``ubltr.parse(xml)``.  Each module calls :func:`callable_module` at its end.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable


def callable_module(name: str, func: Callable[..., Any]) -> None:
    module = sys.modules[name]

    class _CallableModule(types.ModuleType):
        __doc__ = module.__doc__

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

    module.__class__ = _CallableModule
