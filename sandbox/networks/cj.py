"""CJ Commission Detail GraphQL emulation: POST /query, publisherCommissions (reference §3)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, Response

from sandbox.dataset import CjCommission, cj_commission_dict
from sandbox.networks import SANDBOX_CJ_TOKEN, SandboxState, serve

# CJ's GraphQL docs do not state a window limit; the old REST API's 31 days is kept as the
# contract (reference §3: "Keep windows ≤31 days anyway").
MAX_WINDOW = timedelta(days=31)

ENVELOPE_FIELDS = frozenset({"count", "limit", "maxCommissionId", "payloadComplete", "records"})

# Documented PublisherCommission fields the sandbox does not generate: selectable, served as null.
_UNFILLED_RECORD_FIELDS = frozenset(
    {
        "sid",
        "orderDiscountAdvCurrency",
        "verticalAttributes",
        "situationDetails",
        "initiatingDeviceType",
        "initiatingBrowser",
        "initiatingOs",
        "concludingDeviceType",
        "concludingBrowser",
        "concludingOs",
        "adId",
        "adName",
        "pubCommissionAmountAdvCurrency",
        "saleAmountAdvCurrency",
        "advCommissionAmountUsd",
    }
)


class GraphQLError(Exception):
    """An error reported in the GraphQL `errors` list."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# ---------------------------------------------------------------------------------------------
# A small GraphQL reader: enough for operations, variables, arguments, aliases and selections.

_TOKEN_RE = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<block>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\")
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\[\]{}:=@|])
    """,
    re.VERBOSE,
)


@dataclass
class _Var:
    name: str


@dataclass
class Selection:
    """One field in a selection set."""

    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    children: list[Selection] | None = None

    @property
    def key(self) -> str:
        """The response key: the alias if given, else the field name."""
        return self.alias or self.name


@dataclass
class Operation:
    """One executable operation of the document."""

    name: str | None
    variable_defaults: dict[str, Any]
    required_variables: set[str]
    selections: list[Selection]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise GraphQLError(f"Syntax Error: unexpected character {text[pos]!r} at {pos}", 400)
        kind = match.lastgroup or ""
        if kind != "ignored":
            tokens.append((kind, match.group()))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok_kind, tok_value = self.peek()
        if (value is not None and tok_value != value) or (kind is not None and tok_kind != kind):
            want = value or kind
            raise GraphQLError(f"Syntax Error: expected {want}, found {tok_value or 'EOF'!r}", 400)
        self.pos += 1
        return tok_value

    def at(self, value: str) -> bool:
        kind, tok = self.peek()
        return tok == value and kind in ("punct", "spread", "name")

    def document(self) -> list[Operation]:
        ops: list[Operation] = []
        while self.peek()[0] != "eof":
            if self.at("{"):
                ops.append(Operation(None, {}, set(), self.selection_set()))
                continue
            keyword = self.take(kind="name")
            if keyword == "fragment":
                raise GraphQLError("Fragments are not supported by the sandbox", 400)
            if keyword != "query":
                raise GraphQLError(f"Only query operations are supported, not {keyword!r}", 400)
            name = self.take(kind="name") if self.peek()[0] == "name" else None
            defaults: dict[str, Any] = {}
            required: set[str] = set()
            if self.at("("):
                defaults, required = self.variable_definitions()
            self.directives()
            ops.append(Operation(name, defaults, required, self.selection_set()))
        if not ops:
            raise GraphQLError("Syntax Error: the document has no operation", 400)
        return ops

    def variable_definitions(self) -> tuple[dict[str, Any], set[str]]:
        defaults: dict[str, Any] = {}
        required: set[str] = set()
        self.take("(")
        while not self.at(")"):
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            if self.type_ref():
                required.add(name)
            if self.at("="):
                self.take("=")
                defaults[name] = self.value()
        self.take(")")
        return defaults, required

    def type_ref(self) -> bool:
        """Read a type reference; True if it is non-null (`!`)."""
        if self.at("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.at("!"):
            self.take("!")
            return True
        return False

    def directives(self) -> None:
        while self.at("@"):
            self.take("@")
            self.take(kind="name")
            if self.at("("):
                self.arguments()

    def selection_set(self) -> list[Selection]:
        self.take("{")
        out: list[Selection] = []
        while not self.at("}"):
            if self.peek()[0] == "spread":
                raise GraphQLError("Fragments are not supported by the sandbox", 400)
            name = self.take(kind="name")
            alias = None
            if self.at(":"):
                self.take(":")
                alias, name = name, self.take(kind="name")
            args = self.arguments() if self.at("(") else {}
            self.directives()
            children = self.selection_set() if self.at("{") else None
            out.append(Selection(name, alias, args, children))
        self.take("}")
        return out

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        self.take("(")
        while not self.at(")"):
            name = self.take(kind="name")
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def value(self) -> Any:
        kind, tok = self.peek()
        if tok == "$" and kind == "punct":
            self.take("$")
            return _Var(self.take(kind="name"))
        if kind == "string":
            self.pos += 1
            parsed: str = json.loads(tok)
            return parsed
        if kind == "block":
            self.pos += 1
            return tok[3:-3]
        if kind == "number":
            self.pos += 1
            return float(tok) if any(c in tok for c in ".eE") else int(tok)
        if tok == "[":
            self.take("[")
            items = []
            while not self.at("]"):
                items.append(self.value())
            self.take("]")
            return items
        if tok == "{":
            self.take("{")
            obj: dict[str, Any] = {}
            while not self.at("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            self.pos += 1
            return {"true": True, "false": False, "null": None}.get(tok, tok)
        raise GraphQLError(f"Syntax Error: unexpected {tok or 'EOF'!r}", 400)


def _resolve(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, _Var):
        # An unprovided nullable variable reads as null; the argument is then omitted.
        return variables.get(value.name)
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    return value


def parse_request(
    body: dict[str, Any],
) -> tuple[Selection, dict[str, Any]]:
    """The publisherCommissions field of the chosen operation and its resolved arguments."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise GraphQLError("Must provide query string.", 400)
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise GraphQLError("variables must be a JSON object", 400)
    ops = _Parser(query).document()
    op_name = body.get("operationName")
    if op_name:
        chosen = [op for op in ops if op.name == op_name]
        if not chosen:
            raise GraphQLError(f'Unknown operation named "{op_name}".', 400)
        op = chosen[0]
    elif len(ops) == 1:
        op = ops[0]
    else:
        raise GraphQLError(
            "Must provide operation name if query contains multiple operations.", 400
        )
    merged = {**op.variable_defaults, **variables}
    for name in sorted(op.required_variables):
        if merged.get(name) is None:
            raise GraphQLError(f'Variable "${name}" of required type was not provided.')
    fields = [s for s in op.selections if s.name != "__typename"]
    for sel in fields:
        if sel.name != "publisherCommissions":
            raise GraphQLError(f'Cannot query field "{sel.name}" on type "Query".')
    if len(fields) != 1:
        raise GraphQLError("The sandbox serves exactly one publisherCommissions field per query")
    sel = fields[0]
    args = {k: v for k, v in _resolve(sel.arguments, merged).items() if v is not None}
    return sel, args


# ---------------------------------------------------------------------------------------------
# Resolving publisherCommissions


def _instant(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise GraphQLError(f"{name} must be a UTC ISO 8601 string, e.g. 1999-12-31T11:59:59Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise GraphQLError(
            f"{name} must be a UTC ISO 8601 string, e.g. 1999-12-31T11:59:59Z"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _window(args: dict[str, Any], since_key: str, before_key: str) -> tuple[int, int] | None:
    since, before = args.get(since_key), args.get(before_key)
    if since is None and before is None:
        return None
    if since is None or before is None:
        raise GraphQLError(f"{since_key} and {before_key} must be given together")
    lo, hi = _instant(since, since_key), _instant(before, before_key)
    if hi <= lo:
        raise GraphQLError(f"{before_key} must be after {since_key}")
    if hi - lo > MAX_WINDOW.total_seconds():
        raise GraphQLError(f"The range between {since_key} and {before_key} may not exceed 31 days")
    return lo, hi


def _str_set(args: dict[str, Any], key: str, lower: bool = False) -> set[str] | None:
    raw = args.get(key)
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else [raw]
    return {str(v).lower() if lower else str(v) for v in values}


def _select_records(state: SandboxState, args: dict[str, Any]) -> list[CjCommission]:
    publishers = _str_set(args, "forPublishers")
    if not publishers:
        raise GraphQLError(
            'Field "publisherCommissions" argument "forPublishers" of type "[String!]!" is required'
        )
    numbers = {p: state.account_number("cj", p) for p in publishers}
    foreign = {p for p, number in numbers.items() if number is None}
    if foreign:
        raise GraphQLError(f"Not authorized for publisher(s): {', '.join(sorted(foreign))}")
    records = (
        sorted(
            (r for n in {numbers[p] for p in publishers} for r in state.dataset_for(n or 0).cj),
            key=lambda r: r.commission_id,
        )
        if len(publishers) > 1
        else state.dataset_for(numbers[next(iter(publishers))] or 0).cj
    )
    # since* is inclusive, before* exclusive (reference §3).
    posting = _window(args, "sincePostingDate", "beforePostingDate")
    event = _window(args, "sinceEventDate", "beforeEventDate")
    locking = _window(args, "sinceLockingDate", "beforeLockingDate")
    ids = _str_set(args, "commissionIds")
    if posting is None and event is None and locking is None and not ids:
        raise GraphQLError(
            "A date range (posting, event or locking date) or commissionIds is required"
        )
    since_id_raw = args.get("sinceCommissionId")
    try:
        since_id = int(since_id_raw) if since_id_raw not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise GraphQLError("sinceCommissionId must be a commission id") from exc
    statuses = _str_set(args, "actionStatuses", lower=True)
    advertisers = _str_set(args, "advertiserIds")
    action_types = _str_set(args, "actionTypes", lower=True)
    out: list[CjCommission] = []
    for rec in records:  # kept in commissionId order
        if since_id is not None and rec.commission_id <= since_id:
            continue
        if posting is not None and not posting[0] <= rec.posting_ts < posting[1]:
            continue
        if event is not None and not event[0] <= rec.event_ts < event[1]:
            continue
        if locking is not None and not locking[0] <= rec.locking_ts < locking[1]:
            continue
        if ids is not None and str(rec.commission_id) not in ids:
            continue
        if statuses is not None and rec.status not in statuses:
            continue
        if advertisers is not None and rec.advertiser.advertiser_id not in advertisers:
            continue
        if action_types is not None and rec.advertiser.action_type not in action_types:
            continue
        out.append(rec)
    return out


def _project(value: Any, selections: list[Selection] | None, type_name: str, path: str) -> Any:
    if selections is None:
        if isinstance(value, dict | list):
            raise GraphQLError(
                f'Field "{path}" of type "{type_name}" must have a selection of subfields'
            )
        return value
    if value is None:
        return None
    if isinstance(value, list):
        return [_project(v, selections, type_name, path) for v in value]
    if not isinstance(value, dict):
        raise GraphQLError(f'Field "{path}" must not have a selection since it has no subfields')
    out: dict[str, Any] = {}
    for sel in selections:
        if sel.name == "__typename":
            out[sel.key] = type_name
        elif sel.name in value:
            child_type = "CommissionItem" if sel.name == "items" else type_name
            out[sel.key] = _project(value[sel.name], sel.children, child_type, sel.name)
        elif type_name == "PublisherCommission" and sel.name in _UNFILLED_RECORD_FIELDS:
            out[sel.key] = None
        else:
            raise GraphQLError(f'Cannot query field "{sel.name}" on type "{type_name}".')
    return out


def resolve(state: SandboxState, sel: Selection, args: dict[str, Any]) -> dict[str, Any]:
    """The publisherCommissions envelope for one page, shaped by the selection."""
    matched = _select_records(state, args)
    limit = state.cj_page_size
    page = matched[:limit]
    complete = len(matched) <= limit
    envelope: dict[str, Any] = {
        "count": len(page),
        "limit": limit,
        # "If payloadComplete is false, use maxCommissionId as the sinceCommissionId
        # argument to continue" (reference §3).
        "maxCommissionId": str(page[-1].commission_id) if page else None,
        "payloadComplete": complete,
        "records": [cj_commission_dict(r) for r in page],
    }
    if sel.children is None:
        raise GraphQLError(
            'Field "publisherCommissions" of type "PublisherCommissions!" must have a selection '
            "of subfields"
        )
    out: dict[str, Any] = {}
    for child in sel.children:
        if child.name == "__typename":
            out[child.key] = "PublisherCommissions"
        elif child.name in ENVELOPE_FIELDS:
            out[child.key] = _project(
                envelope[child.name], child.children, "PublisherCommission", child.name
            )
        else:
            raise GraphQLError(f'Cannot query field "{child.name}" on type "PublisherCommissions".')
    return out


def _graphql_response(status: int, payload: dict[str, Any]) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def answer(
    state: SandboxState, raw_body: bytes, request: Request, entry: dict[str, Any]
) -> Response:
    """Answer one POST /query (the caller holds the state lock)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token.strip() != SANDBOX_CJ_TOKEN:
        return _graphql_response(
            401, {"errors": [{"message": "Unauthorized: invalid or missing token"}]}
        )
    try:
        try:
            body = json.loads(raw_body)
        except ValueError as exc:
            raise GraphQLError(
                'POST body must be JSON: {"query": ..., "variables": {...}}', 400
            ) from exc
        if not isinstance(body, dict):
            raise GraphQLError("POST body must be a JSON object", 400)
        sel, args = parse_request(body)
        data = resolve(state, sel, args)
    except GraphQLError as err:
        payload: dict[str, Any] = {"errors": [{"message": err.message}]}
        if err.status == 200:
            payload = {"data": None, **payload}
            payload["errors"][0]["path"] = ["publisherCommissions"]
        return _graphql_response(err.status, payload)
    return _graphql_response(200, {"data": {sel.key: data}})


def _log_arguments(raw_body: bytes, entry: dict[str, Any]) -> None:
    """Record the publisherCommissions arguments so tests can check the windows asked for."""
    try:
        body = json.loads(raw_body)
        sel, args = parse_request(body)
    except (ValueError, TypeError, AttributeError, GraphQLError):
        entry["graphql"] = None
        return
    entry["graphql"] = {"field": sel.name, "arguments": args}


def register(app: FastAPI, state: SandboxState) -> None:
    """Add the CJ route to `app`."""

    @app.post("/query")
    async def query(request: Request) -> Response:
        raw = await request.body()
        return await serve(
            state,
            "cj",
            request,
            lambda entry: answer(state, raw, request, entry),
            annotate=lambda entry: _log_arguments(raw, entry),
        )
