"""Account credentials as Prefect Secret blocks (`passive-<account>-<field>`), else env / .env.

Without passive.toml an API network's one account is named after it, so its blocks are
`passive-impact-auth-token` and so on, as before named accounts existed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

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


_NAMES_PER_REQUEST = 100


def read_secrets(names: Sequence[str]) -> dict[str, str]:
    """The values of those of `names` that are Secret blocks, in one API call.

    One `POST /block_documents/filter` by name instead of a `Secret.load` per name: each load
    is a request the server answers with a lookup and a decryption, and a missing block (the
    usual case: most credentials come from the environment) still costs one. The demo's
    seven pulls made 20 such requests, about 1.2 s of its server's CPU (py-spy).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import BlockDocument

    found: dict[str, str] = {}
    wanted = list(dict.fromkeys(names))
    with get_client(sync_client=True) as client:
        # The API refuses a `limit` above its default page (200): ask in pages of names.
        for start in range(0, len(wanted), _NAMES_PER_REQUEST):
            page = wanted[start : start + _NAMES_PER_REQUEST]
            response = client.request(
                "POST",
                "/block_documents/filter",
                json={
                    "block_documents": {"name": {"any_": page}},
                    "block_types": {"slug": {"any_": ["secret"]}},
                    "include_secrets": True,
                    "limit": len(page),
                },
            )
            for document in BlockDocument.model_validate_list(response.json()):
                value = document.data.get("value")
                if document.name and value is not None:
                    found[document.name] = str(value)
    return found


# The blocks read by the current flow run: a pull reads them in every window's task (so they
# never become task inputs), one API call per account each time; a run reads them once. Keyed
# by the flow run, so the next run sees a block changed meanwhile.
_read_in_run: dict[tuple[str, str], str | None] = {}


def _read_once_per_run(names: Sequence[str]) -> dict[str, str]:
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    if not run_id:
        return read_secrets(names)
    unread = [name for name in names if (run_id, name) not in _read_in_run]
    if unread:
        for key in [k for k in _read_in_run if k[0] != run_id]:
            del _read_in_run[key]
        values = read_secrets(unread)
        _read_in_run.update({(run_id, name): values.get(name) for name in unread})
    return {name: value for name in names if (value := _read_in_run[run_id, name]) is not None}


def secret_overrides(network: str, account: Account | None = None) -> dict[str, Any]:
    """An account's settings found in Secret blocks, to pass over the environment's (blocks
    win); `account` defaults to the one named after the network."""
    account = account or implicit_account(network)
    names = dict(zip(account_blocks(account), credential_fields(account.network), strict=True))
    values = _read_once_per_run(list(names))
    return {names[name]: value for name, value in values.items() if value}


def store_secret(name: str, value: str) -> None:
    """Create or replace a Secret block (Prefect stores it encrypted)."""
    from prefect.blocks.system import Secret

    Secret(value=value).save(name, overwrite=True)


def account_blocks(account: Account) -> list[str]:
    """The Secret block names that may hold an account's credentials."""
    return [block_name(account.owner(f), f) for f in credential_fields(account.network)]


def stored_blocks_of(accounts: Sequence[Account]) -> dict[str, bool]:
    """Which of the accounts' Secret blocks exist (block name -> exists), in one request per
    100 names; values stay unread."""
    names = [name for account in accounts for name in account_blocks(account)]
    found = read_secrets(names)
    return {name: name in found for name in names}
