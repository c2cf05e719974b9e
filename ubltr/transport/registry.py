"""Provider names -> (client class, fake handler class), imported lazily.

Adding a provider is one line in :data:`PROVIDERS` (see docs/transport.md,
"Adding a provider"): ``"name": ("module:ClientClass", "module:FakeHandlerClass")``.
Entries whose modules are not importable yet are reported by :func:`available`
and skipped by the reliability harness, so a provider can land in steps.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

import httpx

from .base import BaseClient, ProviderError, check_secret

PROVIDERS: dict[str, tuple[str, str]] = {
    "nilvera": ("ubltr.transport.nilvera:NilveraClient", "ubltr.transport.fake.nilvera:NilveraFake"),
    "hepsiburada": ("ubltr.transport.hepsiburada:HepsiburadaClient",
                    "ubltr.transport.fake.hepsiburada:HepsiburadaFake"),
    "propars": ("ubltr.transport.propars:ProparsClient", "ubltr.transport.fake.propars:ProparsFake"),
    "bizimhesap": ("ubltr.transport.bizimhesap:BizimHesapClient",
                   "ubltr.transport.fake.bizimhesap:BizimHesapFake"),
    "logo": ("ubltr.transport.logo:LogoClient", "ubltr.transport.fake.logo:LogoFake"),
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _entry(name: str) -> tuple[str, str]:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def client_class(name: str) -> type[BaseClient]:
    """The client class registered for ``name``."""
    return _load(_entry(name)[0])


def fake_class(name: str) -> type:
    """The fake handler class (a :class:`ubltr.transport.fake.server.Handler`) for ``name``."""
    return _load(_entry(name)[1])


def available() -> list[str]:
    """Registered providers whose client and fake both import."""
    out = []
    for name in PROVIDERS:
        try:
            client_class(name)
            fake_class(name)
        except (ImportError, AttributeError):
            continue
        out.append(name)
    return out


def resolve_config(name: str, config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge a configuration mapping with ``UBLTR_<NAME>_<KEY>`` environment variables.

    Environment wins for every key the client declares secret (credentials belong in
    the environment; a config file may still hold them for local fakes).
    """
    env = os.environ if environ is None else environ
    cls = client_class(name)
    merged = dict(config)
    for key in cls.secret_keys:
        value = env.get(f"UBLTR_{name.upper()}_{key.upper()}")
        if value:
            merged[key] = value
    return merged


def make_client(name: str, config: Mapping[str, Any], http: httpx.Client | None = None) -> BaseClient:
    """A ready client; builds an ``httpx.Client`` with the configured ``timeout`` when none is given."""
    cfg = resolve_config(name, config)
    for key in client_class(name).secret_keys:  # before any client or request exists
        value = cfg.get(key)
        check_secret(name, key, value if isinstance(value, str) else None)
    if http is None:
        timeout = float(cfg.get("timeout", 30.0))
        http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
    return client_class(name).from_config(cfg, http)
