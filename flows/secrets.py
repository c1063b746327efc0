"""Network credentials as Prefect Secret blocks (`passive-<network>-<field>`), else env / .env."""

from __future__ import annotations

from typing import Any, cast

from connectors import API_NETWORKS
from connectors.settings import AmazonSettings, NetworkSettings
from flows.pull_steps import PullInputError, secret_block_name
from schemas.networks import AMAZON

PREFIX = "passive"


def secret_networks() -> list[str]:
    """Every network with credentials: the paged API networks and Amazon's Creators API."""
    return sorted([*API_NETWORKS, AMAZON])


def settings_class(network: str) -> type[NetworkSettings]:
    """The settings class of a network with credentials, or a usage error naming the known."""
    if network == AMAZON:
        # The Creators API pulls report files, not windows of records: not an ApiNetwork.
        return AmazonSettings
    try:
        return API_NETWORKS[network].settings_class
    except KeyError:
        known = ", ".join(secret_networks())
        raise PullInputError(f"unknown network {network!r}; API networks: {known}") from None


def credential_fields(network: str) -> tuple[str, ...]:
    """The settings a network needs to authenticate, e.g. ('account_sid', 'auth_token')."""
    return tuple(settings_class(network).credential_fields)


def block_name(network: str, field: str) -> str:
    """The Secret block holding one setting: passive-impact-auth-token."""
    return secret_block_name(network, field)


def read_secret(name: str) -> str | None:
    """A Secret block's value, or None when no such block exists."""
    from prefect.blocks.system import Secret

    try:
        block = cast("Secret[Any]", Secret.load(name))  # sync call: not a coroutine here
    except ValueError as error:
        if "Unable to find block document" in str(error):
            return None
        raise
    value = block.get()
    return None if value is None else str(value)


# The blocks read by the current flow run, per network: a pull reads them in every window's
# task (so they never become task inputs), one API call per setting each time; a run reads
# them once. Keyed by the flow run, so the next run sees a block changed meanwhile.
_read_in_run: dict[tuple[str, str], dict[str, Any]] = {}


def secret_overrides(network: str) -> dict[str, Any]:
    """Settings found in Secret blocks, to pass over the environment's (blocks win)."""
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    if run_id and (run_id, network) in _read_in_run:
        return dict(_read_in_run[run_id, network])
    found: dict[str, Any] = {}
    for field in credential_fields(network):
        value = read_secret(block_name(network, field))
        if value:
            found[field] = value
    if run_id:
        for key in [k for k in _read_in_run if k[0] != run_id]:
            del _read_in_run[key]
        _read_in_run[run_id, network] = dict(found)
    return found


def store_secret(name: str, value: str) -> None:
    """Create or replace a Secret block (Prefect stores it encrypted)."""
    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=True)


def stored_blocks(network: str) -> dict[str, bool]:
    """Which of a network's Secret blocks exist (block name -> exists); values stay unread."""
    return {
        block_name(network, field): read_secret(block_name(network, field)) is not None
        for field in credential_fields(network)
    }
