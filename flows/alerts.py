"""`passive alerts`: a Prefect notification block and automation for every run that needs a look."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from flows.states import WITH_REJECTS

# Every alert is one automation named passive-alert-NAME, sending through the notification
# block of the same name (or the block the user named).
PREFIX = "passive-alert-"
# Tag every passive deployment carries (prefect.yaml), and every tracked CLI run.
PASSIVE_TAG = "passive"
# The server emits `prefect.flow-run.<state name>` on each state change, so a named
# Completed state has its own event (prefect/server/models/events.py).
ALERT_EVENTS = (
    "prefect.flow-run.Failed",
    "prefect.flow-run.Crashed",
    f"prefect.flow-run.{WITH_REJECTS}",
)
SUBJECT = "passive: {{ flow_run.name }} {{ flow_run.state.name }}"
BODY = (
    "{{ flow_run.name }} ended {{ flow_run.state.name }}: {{ flow_run.state.message }}\n"
    "{{ flow_run|ui_url }}"
)


class AlertError(ValueError):
    """Bad `passive alerts` usage: no such alert or block, or no notification target."""


@dataclass(frozen=True)
class Alert:
    """One alert: its name, where it notifies, and whether its automation is enabled."""

    name: str
    target: str
    enabled: bool


@dataclass(frozen=True)
class EmailTarget:
    """Where an email alert goes and through which SMTP server (`passive alerts add --email`)."""

    to: tuple[str, ...]
    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str | None = None
    username: str | None = None
    password: str | None = None

    def block(self) -> Any:
        """The `passive-email` notification block for this target."""
        from flows.email_alert import EmailAlert

        for address in self.to:
            if "@" not in address.strip("@"):
                raise AlertError(f"--email {address}: not an email address")
        # Alerts to oneself: the first recipient is the sender unless the login is an address.
        login_address = self.username if self.username and "@" in self.username else None
        return EmailAlert(
            to=list(self.to),
            sender=self.sender or login_address or self.to[0],
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            username=self.username,
            password=self.password,
        )


def _save_block(
    name: str,
    *,
    slack_webhook: str | None,
    webhook: str | None,
    email: EmailTarget | None = None,
) -> UUID:
    """Create (or replace) the notification block `passive-alert-NAME`; return its id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook

    block: Any
    if email:
        block = email.block()
    elif slack_webhook:
        block = SlackWebhook(url=slack_webhook, notify_type="failure")
    elif webhook:
        # A plain JSON POST, for chat tools and receivers that take one (Prefect's
        # "Custom Webhook" block; its templates fill {{subject}} and {{body}}).
        block = CustomWebhookNotificationBlock(
            name=f"{PREFIX}{name}",
            url=webhook,
            json_data={"subject": "{{subject}}", "text": "{{body}}"},
        )
    else:
        raise AlertError("give --slack-webhook URL, --webhook URL, --email ADDRESS or --block NAME")
    return UUID(str(block.save(f"{PREFIX}{name}", overwrite=True)))


def _existing_block(slug_and_name: str) -> UUID:
    """The id of a notification block the user made already, named `block-type/name`."""
    from prefect.blocks.abstract import NotificationBlock
    from prefect.blocks.core import Block

    if "/" not in slug_and_name:
        raise AlertError(
            f"--block {slug_and_name}: give the block's type and name, e.g. "
            "slack-webhook/my-alerts (`prefect block ls` lists them)"
        )
    try:
        block = Block.load(slug_and_name)
    except ValueError as error:
        raise AlertError(f"--block {slug_and_name}: {error}") from None
    if not isinstance(block, NotificationBlock) or block._block_document_id is None:
        raise AlertError(f"--block {slug_and_name}: not a notification block")
    return block._block_document_id


def add_alert(
    name: str,
    *,
    slack_webhook: str | None = None,
    webhook: str | None = None,
    block: str | None = None,
    email: EmailTarget | None = None,
) -> Alert:
    """Notify through a block whenever a passive run fails, crashes or completes with rejects.

    Re-adding an alert of the same name replaces it.
    """
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    targets = [t for t in (slack_webhook, webhook, block, email) if t]
    if len(targets) != 1:
        raise AlertError(
            "give exactly one of --slack-webhook URL, --webhook URL, --email ADDRESS, --block NAME"
        )
    if block:
        block_id = _existing_block(block)
        target = block
    else:
        block_id = _save_block(name, slack_webhook=slack_webhook, webhook=webhook, email=email)
        kind = "passive-email" if email else "slack-webhook" if slack_webhook else "custom-webhook"
        target = f"{kind}/{PREFIX}{name}"
    remove_alert(name, missing_ok=True)
    Automation(
        name=f"{PREFIX}{name}",
        description=(
            f"passive: notify {target} when a run tagged `{PASSIVE_TAG}` fails, crashes or "
            f"ends {WITH_REJECTS!r}"
        ),
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.role": "tag",
                "prefect.resource.id": f"prefect.tag.{PASSIVE_TAG}",
            },
            expect=set(ALERT_EVENTS),
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    ).create()
    return Alert(name, target, enabled=True)


def _automations() -> list[Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [a for a in client.read_automations() if a.name.startswith(PREFIX)]


def _target(automation: Any) -> str:
    ids = [str(a.block_document_id) for a in automation.actions if hasattr(a, "block_document_id")]
    from prefect.client.orchestration import get_client

    names = []
    with get_client(sync_client=True) as client:
        for block_id in ids:
            document = client.read_block_document(UUID(block_id))
            slug = document.block_type.slug if document.block_type else "block"
            names.append(f"{slug}/{document.name}")
    return ", ".join(names) or "-"


def list_alerts() -> list[Alert]:
    """Every passive alert, by name."""
    return sorted(
        (Alert(a.name.removeprefix(PREFIX), _target(a), a.enabled) for a in _automations()),
        key=lambda alert: alert.name,
    )


def remove_alert(name: str, *, missing_ok: bool = False) -> bool:
    """Delete the alert's automation and the block it made (a block the user named stays)."""
    from prefect.client.orchestration import get_client

    found = [a for a in _automations() if a.name == f"{PREFIX}{name}"]
    if not found and not missing_ok:
        known = ", ".join(a.name.removeprefix(PREFIX) for a in _automations()) or "none"
        raise AlertError(f"no alert named {name!r}; alerts: {known}")
    with get_client(sync_client=True) as client:
        for automation in found:
            client.delete_automation(automation.id)
    if not missing_ok:
        from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook
        from prefect.exceptions import ObjectNotFound

        from flows.email_alert import EmailAlert

        for kind in (SlackWebhook, CustomWebhookNotificationBlock, EmailAlert):
            try:
                kind.delete(f"{PREFIX}{name}")
            # Block.delete says "Unable to find block document" as a ValueError.
            except (ObjectNotFound, ValueError):  # the user's own block, or another kind
                continue
    return bool(found)
