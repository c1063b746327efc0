"""Connectors: fetch or parse raw records per network; the registry of declared API streams."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.stream import Stream

    API_NETWORKS: dict[str, Stream[Any]]

_API_MODULES = {"impact": "connectors.impact", "awin": "connectors.awin", "cj": "connectors.cj"}
_registry: dict[str, Any] = {}
# Networks whose reports are files rather than an API (`passive ingest`).
FILE_NETWORKS = ("amazon",)


def known_networks() -> tuple[str, ...]:
    """Every network the ledger can hold lines of, sorted (no connector is imported)."""
    return tuple(sorted((*FILE_NETWORKS, *_API_MODULES)))


def __getattr__(name: str) -> Any:
    # Built on first use: `passive ingest` of an Amazon file must not pay for importing httpx,
    # tenacity and the three API connectors (~0.3 s of a sub-second command; bench/).
    if name == "API_NETWORKS":
        if not _registry:
            _registry.update({n: import_module(m).API for n, m in _API_MODULES.items()})
        return _registry
    raise AttributeError(f"module 'connectors' has no attribute {name!r}")


__all__ = ["API_NETWORKS", "FILE_NETWORKS", "known_networks"]
