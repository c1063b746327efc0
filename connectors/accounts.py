"""Named accounts: passive.toml's `[accounts.NAME]` tables, validated once, and their settings.

Kept beside connectors/settings.py because an account is one more layer of the same question,
"which settings does this connector use": the network's defaults, the PASSIVE_<NETWORK>_*
variables, the account's own PASSIVE_<ACCOUNT>_* variables, its table in passive.toml, and
(read by flows/secrets.py, passed in as `overrides`) its Prefect Secret blocks.

With no passive.toml, each API network has one account named after the network (`impact`,
`awin`, `cj`) whose variables are today's PASSIVE_IMPACT_* and whose Secret blocks are today's
`passive-impact-*`: the single-account set-up is the special case, not a second code path.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from connectors.amazon.marketplaces import MARKETPLACES
from connectors.errors import ConnectorError
from connectors.settings import (
    AmazonSettings,
    AwinSettings,
    CJSettings,
    ImpactSettings,
    NetworkSettings,
)

CONFIG_ENV = "PASSIVE_CONFIG"
DEFAULT_CONFIG = "passive.toml"
NetworkName = Literal["amazon", "impact", "awin", "cj"]
SETTINGS: dict[str, type[NetworkSettings]] = {
    "amazon": AmazonSettings,
    "impact": ImpactSettings,
    "awin": AwinSettings,
    "cj": CJSettings,
}
# Networks that have an account without any passive.toml (their PASSIVE_<NETWORK>_* set-up).
# Amazon has none: a store needs a name and a marketplace (`pull amazon --account --marketplace`).
IMPLICIT_NETWORKS = ("impact", "awin", "cj")
# Lower-case letters, digits and single dashes: an account's name is part of its Secret
# blocks' names (Prefect allows those characters only) and of its variables' names.
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Settings that never go in passive.toml: the account's name is its table's, and a file
# setting for the prefix would make its variables ambiguous.
_NOT_IN_FILE = frozenset({"account_name"})
# What file values are checked with: a prefix no environment variable has, so the settings
# class validates the file's values and nothing else.
_CHECK_PREFIX = "PASSIVE_FILE_CHECK_UNSET_"


class ConfigError(ConnectorError):
    """passive.toml is missing, unreadable or wrong: one line naming the file, table and key."""


class _AccountTable(BaseModel):
    """One `[accounts.NAME]` table as written; the network's own settings ride in extras."""

    model_config = ConfigDict(extra="allow", frozen=True)

    network: NetworkName
    marketplace: str | None = None
    login: str | None = None

    @field_validator("marketplace")
    @classmethod
    def _known_marketplace(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in MARKETPLACES:
            raise ValueError(f"expected one of {', '.join(MARKETPLACES)}, got {value!r}")
        return code

    @field_validator("login")
    @classmethod
    def _login_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(f"expected lower-case letters, digits and dashes, got {value!r}")
        return value


class _ConfigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: dict[str, _AccountTable] = {}


@dataclass(frozen=True)
class Account:
    """One account: its name (the ledger's `account`), network and settings from the file.

    `login` names whose secrets it uses (default: its own): several Awin publisher accounts
    of one user share that user's token, and with it the user's 20 requests a minute.
    """

    name: str
    network: str
    marketplace: str | None = None
    login: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def settings_class(self) -> type[NetworkSettings]:
        """The pydantic-settings class of the account's network."""
        return SETTINGS[self.network]

    @property
    def login_name(self) -> str:
        """The name whose variables and Secret blocks hold the account's credentials: `login`,
        else for an Amazon store the one Creators API credential every store of the login
        uses (PASSIVE_AMAZON_*, `passive-amazon-*`), else the account's own name."""
        if self.login:
            return self.login
        return "amazon" if self.network == "amazon" else self.name

    def is_secret(self, setting: str) -> bool:
        """A SecretStr setting (a token, a client secret), read from the login's places."""
        annotation = self.settings_class.model_fields[setting].annotation
        kinds = getattr(annotation, "__args__", (annotation,))
        return annotation is not None and SecretStr in kinds

    def owner(self, setting: str) -> str:
        """The name whose variables and Secret blocks hold `setting`: the login's for its
        credentials, unless the account's table gives one (an Awin publisher id under a
        shared user token), the account's own for everything else."""
        credential = setting in self.settings_class.credential_fields
        return self.login_name if credential and setting not in self.settings else self.name

    def variable(self, setting: str) -> str:
        """The environment variable of one setting: PASSIVE_IMPACT_SHOP_AUTH_TOKEN."""
        return f"{env_prefix(self.owner(setting))}{setting}".upper()


@dataclass(frozen=True)
class Accounts:
    """Every account, and the file they came from (None: no passive.toml, implicit accounts)."""

    accounts: tuple[Account, ...]
    path: Path | None = None

    def of(self, network: str) -> list[Account]:
        """The accounts of one network, in file order."""
        return [a for a in self.accounts if a.network == network]

    def named(self, name: str) -> Account | None:
        """The account called `name`, if any."""
        return next((a for a in self.accounts if a.name == name), None)

    @property
    def where(self) -> str:
        """Where the accounts are defined, for messages."""
        if self.path is None:
            return "the PASSIVE_<NETWORK>_* variables (no passive.toml)"
        return str(self.path)


def env_prefix(name: str) -> str:
    """The variables of account `name`: PASSIVE_<NAME>_, dashes as underscores."""
    return f"PASSIVE_{name.upper().replace('-', '_')}_"


def implicit_account(network: str) -> Account:
    """The account a network has without passive.toml: named after the network."""
    return Account(name=network, network=network)


def config_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """`--config`, else $PASSIVE_CONFIG, else ./passive.toml if it exists; else None.

    A file named explicitly must exist: a typo must not silently mean "no accounts".
    """
    named = path or os.environ.get(CONFIG_ENV)
    if named:
        found = Path(named)
        if not found.is_file():
            source = "--config" if path else f"${CONFIG_ENV}"
            raise ConfigError(f"{found}: no such file ({source}); give the path of a passive.toml")
        return found
    default = Path(DEFAULT_CONFIG)
    return default if default.is_file() else None


def load_accounts(path: str | os.PathLike[str] | None = None) -> Accounts:
    """The accounts of passive.toml, or the implicit ones when there is no file."""
    found = config_path(path)
    if found is None:
        return Accounts(tuple(implicit_account(n) for n in IMPLICIT_NETWORKS))
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{found}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{found}: cannot be read: {error}") from None
    return Accounts(parse_accounts(data, where=str(found)), found)


def parse_accounts(data: Mapping[str, Any], *, where: str) -> tuple[Account, ...]:
    """Validate the file's contents into accounts; the first problem is one ConfigError line."""
    try:
        parsed = _ConfigFile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{where}: {_first_problem(error)}") from None
    accounts = []
    for name, table in parsed.accounts.items():
        accounts.append(_account(name, table, where=where))
    return tuple(accounts)


def _first_problem(error: ValidationError) -> str:
    item = error.errors()[0]
    loc = [str(part) for part in item["loc"]]
    message = str(item["msg"]).removeprefix("Value error, ")
    if loc[:1] == ["accounts"] and len(loc) >= 2:
        key = ".".join(loc[2:])
        if item["type"] == "missing":
            return f"[accounts.{loc[1]}] {key}: missing; expected amazon, impact, awin or cj"
        if item["type"] in ("model_type", "dict_type") and len(loc) == 2:
            return f'[accounts.{loc[1]}]: expected a table such as network = "impact"'
        return f"[accounts.{loc[1]}] {key}: {message}"
    if item["type"] == "extra_forbidden":
        return f"unknown table or key {'.'.join(loc)!r}; expected [accounts.NAME] tables"
    return f"{'.'.join(loc)}: {message}"


def _account(name: str, table: _AccountTable, *, where: str) -> Account:
    at = f"{where}: [accounts.{name}]"
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{at}: the name must be lower-case letters, digits and dashes (it names the "
            "account's Secret blocks and variables), e.g. impact-shop"
        )
    if name in SETTINGS and name != table.network:
        raise ConfigError(
            f"{at} network: {table.network!r}, but the name {name!r} is another network's "
            f"(its variables PASSIVE_{name.upper()}_* are that network's); choose another name"
        )
    if table.network == "amazon" and table.marketplace is None:
        raise ConfigError(f"{at} marketplace: missing; expected one of {', '.join(MARKETPLACES)}")
    if table.network != "amazon" and table.marketplace is not None:
        raise ConfigError(f"{at} marketplace: only amazon accounts have a marketplace")
    settings_class = SETTINGS[table.network]
    extras = dict(table.model_extra or {})
    account = Account(name, table.network, table.marketplace, table.login or "", extras)
    for key in extras:
        known = settings_class.model_fields.get(key)
        if known is None or key in _NOT_IN_FILE:
            allowed = sorted(
                f
                for f in settings_class.model_fields
                if f not in _NOT_IN_FILE and not account.is_secret(f)
            )
            raise ConfigError(
                f"{at} {key}: not a setting of {table.network}; expected network, login"
                f"{', marketplace' if table.network == 'amazon' else ''} or one of "
                f"{', '.join(allowed)}"
            )
        if account.is_secret(key):
            raise ConfigError(
                f"{at} {key}: a secret never goes in {Path(where).name}; store it with "
                f"`passive secrets set {name}` or set {account.variable(key)}"
            )
    try:
        settings_class(_env_prefix=_CHECK_PREFIX, _env_file=None, **extras)
    except ValidationError as error:
        item = error.errors()[0]
        key = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{at} {key}: {message}") from None
    return account


def account_settings(
    account: Account, overrides: Mapping[str, Any] | None = None
) -> NetworkSettings:
    """The account's settings, each from the first place that has it:

    1. `overrides`: its Prefect Secret blocks (flows/secrets.py reads them);
    2. its own variables, PASSIVE_<ACCOUNT>_* (secrets: its login's), in the environment or .env;
    3. its table in passive.toml (never a secret);
    4. the network's variables PASSIVE_<NETWORK>_*, except credentials, which an account
       never borrows from another (two accounts would silently pull the same data);
    5. the defaults of connectors/settings.py.

    Raises pydantic's ValidationError for a malformed value (settings_problem words it).
    """
    cls = account.settings_class
    network_prefix = env_prefix(account.network)
    values: dict[str, Any] = {}
    if env_prefix(account.name) != network_prefix:
        shared = cls()
        values.update(
            {
                f: getattr(shared, f)
                for f in shared.model_fields_set
                if f not in cls.credential_fields and f not in _NOT_IN_FILE
            }
        )
    values.update(account.settings)
    owners = {account.name, account.login_name}
    for owner in sorted(owners):
        own = cls(_env_prefix=env_prefix(owner))
        values.update(
            {f: getattr(own, f) for f in own.model_fields_set if account.owner(f) == owner}
        )
    values.update(overrides or {})
    settings = cls(_env_prefix=_CHECK_PREFIX, **values)
    settings.name_account(account.name, {f: account.variable(f) for f in cls.model_fields})
    return settings


def settings_problem(
    account: Account, error: ValidationError, overrides: Mapping[str, Any] | None = None
) -> str:
    """One line naming each bad setting, where its value came from, and what is expected.

    pydantic's own text spans several lines and a documentation link per error.
    """
    problems = []
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{_source(account, key, overrides or {})}: {message}")
    return "; ".join(problems)


def _source(account: Account, key: str, overrides: Mapping[str, Any]) -> str:
    if not key:
        return account.settings_class.__name__
    variable = account.variable(key)
    if key in overrides:
        return f"{variable} (from the Secret block {secret_block_name(account.owner(key), key)})"
    if variable in os.environ:
        return f"{variable} (from the environment)"
    if key in account.settings:
        return f"[accounts.{account.name}] {key} (from passive.toml)"
    shared = account.settings_class.env_name(key)
    if shared != variable and shared in os.environ:
        return f"{shared} (from the environment)"
    return f"{variable} (from the .env)"


def secret_block_name(owner: str, setting: str) -> str:
    """The Prefect Secret block holding one setting of an account: passive-impact-auth-token,
    passive-impact-shop-auth-token."""
    return f"passive-{owner}-{setting}".replace("_", "-").lower()
