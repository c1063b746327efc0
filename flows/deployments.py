"""The deployments of prefect.yaml, read once so `passive serve` and `prefect deploy` agree."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; prefect uses it too

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Schedule

PROJECT_DIR = Path(__file__).resolve().parents[1]
PREFECT_YAML = PROJECT_DIR / "prefect.yaml"

# Parameters that name files: `passive serve` makes them absolute against its own working
# directory, so a served run reads and writes exactly where the user started it.
PATH_PARAMETERS = ("inbox", "db")


@dataclass(frozen=True)
class DeploymentSpec:
    """One `deployments:` entry of prefect.yaml, as plain data."""

    name: str
    entrypoint: str
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: tuple[dict[str, Any], ...] = ()
    concurrency_limit: dict[str, Any] | int | None = None


def project_directory() -> dict[str, str]:
    """Pull step for prefect.yaml: run in the project directory of the installed code.

    A process worker starts each run in a temporary directory; moving to the clone that the
    worker's virtualenv imports `flows` from works on every machine without a hard-coded path.
    """
    os.chdir(PROJECT_DIR)
    return {"directory": str(PROJECT_DIR)}


def load_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Read the deployments of a prefect.yaml (anchors and merge keys resolved by PyYAML)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs = []
    for entry in document.get("deployments") or []:
        specs.append(
            DeploymentSpec(
                name=entry["name"],
                entrypoint=entry["entrypoint"],
                description=" ".join(str(entry.get("description") or "").split()),
                tags=tuple(entry.get("tags") or ()),
                parameters=dict(entry.get("parameters") or {}),
                schedules=tuple(dict(s) for s in entry.get("schedules") or ()),
                concurrency_limit=entry.get("concurrency_limit"),
            )
        )
    return specs


def to_schedule(entry: dict[str, Any]) -> Schedule:
    """A prefect.yaml schedule entry (cron, interval or rrule) as a Prefect Schedule."""
    from prefect.schedules import Cron, Interval, RRule

    common: dict[str, Any] = {
        "timezone": entry.get("timezone"),
        "active": entry.get("active", True),
        "parameters": entry.get("parameters"),
        "slug": entry.get("slug"),
    }
    if "cron" in entry:
        return Cron(entry["cron"], day_or=entry.get("day_or", True), **common)
    if "interval" in entry:
        return Interval(entry["interval"], anchor_date=entry.get("anchor_date"), **common)
    if "rrule" in entry:
        return RRule(entry["rrule"], **common)
    raise ValueError(f"schedule needs cron, interval or rrule: {entry!r}")


def with_overrides(
    spec: DeploymentSpec, overrides: dict[str, Any], base: Path | None = None
) -> dict[str, Any]:
    """The spec's parameters with `overrides` applied (only names the flow takes).

    With `base`, file parameters become absolute against it (see PATH_PARAMETERS).
    """
    parameters = dict(spec.parameters)
    for key, value in overrides.items():
        if key in parameters and value is not None:
            parameters[key] = value
    if base is not None:
        for key in PATH_PARAMETERS:
            value = parameters.get(key)
            if value:
                parameters[key] = str((base / str(value)).resolve())
    return parameters


def with_summary_link(description: str, link: str | None) -> str:
    """A deployment's description followed by the link to the latest income summary."""
    if not link:
        return description
    return f"{description}\n\nIncome summary, latest: [{link}]({link})".strip()


def runner_deployments(
    specs: list[DeploymentSpec],
    *,
    overrides: dict[str, Any] | None = None,
    base: Path | None = None,
    summary_link: str | None = None,
) -> list[RunnerDeployment]:
    """The specs as deployments `prefect.serve` can run from this process.

    With `summary_link`, each description ends with it: the deployment page (where a user
    lands first) is then one click from the latest income summary.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import RunnerDeployment
    from prefect.flows import Flow, load_flow_from_entrypoint
    from prefect.types.entrypoint import EntrypointType

    deployments = []
    for spec in specs:
        flow: Flow[..., Any] = load_flow_from_entrypoint(
            spec.entrypoint, use_placeholder_flow=False
        )
        limit: int | ConcurrencyLimitConfig | None
        if isinstance(spec.concurrency_limit, dict):
            limit = ConcurrencyLimitConfig(**spec.concurrency_limit)
        else:
            limit = spec.concurrency_limit
        deployment = cast(
            RunnerDeployment,
            flow.to_deployment(
                name=spec.name,
                description=with_summary_link(spec.description, summary_link) or None,
                tags=list(spec.tags),
                parameters=with_overrides(spec, overrides or {}, base),
                schedules=[to_schedule(s) for s in spec.schedules] or None,
                concurrency_limit=limit,
                # Module paths import from the installed project whatever the working directory.
                entrypoint_type=EntrypointType.MODULE_PATH,
            ),
        )
        deployments.append(deployment)
    return deployments
