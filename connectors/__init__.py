"""Connectors: fetch or parse raw records per network; the registry of API networks."""

from __future__ import annotations

from typing import Any

from connectors import awin, cj, impact
from connectors.base import ApiNetwork

API_NETWORKS: dict[str, ApiNetwork[Any]] = {
    "impact": impact.API,
    "awin": awin.API,
    "cj": cj.API,
}
"""Network name -> its ApiNetwork (pull, settings_class, account) for the flows."""

__all__ = ["API_NETWORKS", "ApiNetwork"]
