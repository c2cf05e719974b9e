"""ubltr as an HTTP service and a web page (``ubltr serve``; needs the ``serve`` extra:
``pip install 'ubltr[serve]'``, i.e. starlette + uvicorn).

>>> from ubltr.serve import create_app, Settings
>>> app = create_app(Settings(max_body=5_000_000, timeout=30))   # any ASGI server runs it
"""

from __future__ import annotations

from .app import ApiError, Settings, create_app

__all__ = ["create_app", "Settings", "ApiError"]
