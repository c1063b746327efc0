"""Whether the CLI should run tracked Prefect flows: only when a Prefect API is configured."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def prefect_api_url() -> str | None:
    """The configured `PREFECT_API_URL` from the environment or the active Prefect profile.

    Read without importing prefect: the import alone costs ~3 s here, and a one-off
    `passive ingest` must answer in a few seconds (DESIGN.md, command line).
    """
    if "PREFECT_API_URL" in os.environ:
        return os.environ["PREFECT_API_URL"] or None
    home = Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    profiles_file = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml"))
    try:
        profiles = tomllib.loads(profiles_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    value = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(value) if value else None
