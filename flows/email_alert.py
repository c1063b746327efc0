"""`passive-email`: a Prefect notification block that sends an alert as a plain email over SMTP."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage

from prefect.blocks.abstract import NotificationBlock
from pydantic import Field, SecretStr

# Prefect's own email block (SendgridEmail) needs a SendGrid account, and prefect-email's
# EmailServerCredentials is no notification block, so an automation cannot send through it.
# This one speaks SMTP to any mail server. The Prefect server that runs the automation finds
# the class through the `prefect.collections` entry point in pyproject.toml (Prefect loads
# that group before looking a block type up), so it works from a plain `prefect server start`.

SMTPS_PORT = 465


class EmailAlert(NotificationBlock):
    """Sends each notification as a plain-text email through an SMTP server."""

    _block_type_name = "Passive Email"
    _block_type_slug = "passive-email"
    _description = "Sends a notification as a plain-text email over SMTP (passive alerts)."

    to: list[str] = Field(description="Recipient addresses.")
    sender: str = Field(description="The From address.")
    smtp_host: str = Field(default="localhost", description="The mail server.")
    smtp_port: int = Field(default=25, description="25 or 587 (STARTTLS when offered), 465 (TLS).")
    username: str | None = Field(default=None, description="Login, when the server needs one.")
    password: SecretStr | None = Field(default=None, description="The login's password.")
    timeout_seconds: float = Field(default=30, description="Longest wait for the server.")

    async def notify(self, body: str, subject: str | None = None) -> None:
        """Send `body` as an email; a refusal or an unreachable server raises."""
        # smtplib blocks: off the event loop of the server's automation actions.
        await asyncio.to_thread(self.send, body, subject)

    def send(self, body: str, subject: str | None = None) -> None:
        """Send `body` as an email now, from this thread."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = subject or "passive alert"
        message.set_content(body)
        smtp: smtplib.SMTP
        if self.smtp_port == SMTPS_PORT:
            smtp = smtplib.SMTP_SSL(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds)
        else:
            smtp = smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.timeout_seconds)
        with smtp:
            smtp.ehlo()
            if self.smtp_port != SMTPS_PORT and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            if self.username:
                secret = self.password.get_secret_value() if self.password else ""
                smtp.login(self.username, secret)
            smtp.send_message(message)
