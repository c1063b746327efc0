"""Account credentials as Prefect Secret blocks (`passive-<account>-<field>`), else env / .env.

Without passive.toml an API network's one account is named after it, so its blocks are
`passive-impact-auth-token` and so on, as before named accounts existed.
"""

from __future__ import annotations

import os
from typing import Any, cast

from connectors import API_NETWORKS
from connectors.accounts import Account, implicit_account
from connectors.settings import AmazonSettings, NetworkSettings
from flows.pull_steps import PullInputError, secret_block_name
from schemas.networks import AMAZON

PREFIX = "passive"


def secret_networks() -> list[str]:
    """Every network with credentials: the paged API networks and Amazon's Creators API."""
    return sorted([*API_NETWORKS, AMAZON])


def account_named(name: str, config: str | os.PathLike[str] | None = None) -> Account:
    """The account `secrets set NAME` means: passive.toml's, else the one named after a network
    (`impact`, or `amazon`: the Creators API credential of every store without a login)."""
    from flows.pull_steps import load_accounts

    found = load_accounts(config).named(name)
    if found is not None:
        return found
    if name in secret_networks():
        return implicit_account(name)
    known = ", ".join(
        sorted({*(a.name for a in load_accounts(config).accounts), *secret_networks()})
    )
    raise PullInputError(f"no account or network {name!r}; known: {known}")


def settings_class(network: str) -> type[NetworkSettings]:
    """The settings class of a network with credentials, or a usage error naming the known."""
    if network == AMAZON:
        # The Creators API pulls report files, not windows of records: not a declared Stream.
        return AmazonSettings
    try:
        return API_NETWORKS[network].settings_class
    except KeyError:
        known = ", ".join(secret_networks())
        raise PullInputError(f"unknown network {network!r}; API networks: {known}") from None


def credential_fields(network: str) -> tuple[str, ...]:
    """The settings a network needs to authenticate, e.g. ('account_sid', 'auth_token')."""
    return tuple(settings_class(network).credential_fields)


def block_name(owner: str, field: str) -> str:
    """The Secret block holding one setting of an account: passive-impact-auth-token."""
    return secret_block_name(owner, field)


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


# The blocks read by the current flow run: a pull reads them in every window's task (so they
# never become task inputs), one API call per setting each time; a run reads each once. Keyed
# by the flow run, so the next run sees a block changed meanwhile.
_read_in_run: dict[tuple[str, str], str | None] = {}


def _read_once_per_run(name: str) -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    if not run_id:
        return read_secret(name)
    if (run_id, name) not in _read_in_run:
        for key in [k for k in _read_in_run if k[0] != run_id]:
            del _read_in_run[key]
        _read_in_run[run_id, name] = read_secret(name)
    return _read_in_run[run_id, name]


def secret_overrides(network: str, account: Account | None = None) -> dict[str, Any]:
    """An account's settings found in Secret blocks, to pass over the environment's (blocks
    win); `account` defaults to the one named after the network."""
    account = account or implicit_account(network)
    found: dict[str, Any] = {}
    for field in credential_fields(network):
        value = _read_once_per_run(block_name(account.owner(field), field))
        if value:
            found[field] = value
    return found


def store_secret(name: str, value: str) -> None:
    """Create or replace a Secret block (Prefect stores it encrypted)."""
    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=True)


def stored_blocks(network: str, account: Account | None = None) -> dict[str, bool]:
    """Which of an account's Secret blocks exist (block name -> exists); values stay unread."""
    account = account or implicit_account(network)
    names = [block_name(account.owner(field), field) for field in credential_fields(network)]
    return {name: read_secret(name) is not None for name in names}
