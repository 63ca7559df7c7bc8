"""Notification channels behind one notifier: e-mail, chat webhooks, Azure DevOps, a local log.

Every secret (SMTP password, webhook URL, DevOps PAT) is configured as a `dg.EnvVar`; error
messages name the channel, never its address or credentials. A channel that fails does not stop
the others.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any, Literal
from urllib.error import HTTPError, URLError
from urllib.parse import quote

import dagster as dg

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    """One incident, as people receive it: what, where, the numbers behind it, and a link."""

    kind: str  # run_failed, run_too_slow, check_failed, ...
    title: str
    summary: str
    severity: Literal["ERROR", "WARN"]
    link: str
    facts: dict[str, str] = field(default_factory=dict)
    raised_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def text(self) -> str:
        lines = [f"[{self.severity}] {self.title}", "", self.summary, ""]
        lines += [f"{name}: {value}" for name, value in self.facts.items()]
        return "\n".join([*lines, "", self.link])

    def html(self) -> str:
        facts = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in self.facts.items())
        return (
            f"<p><b>[{self.severity}] {escape(self.title)}</b></p><p>{escape(self.summary)}</p>"
            f'<ul>{facts}</ul><p><a href="{escape(self.link)}">{escape(self.link)}</a></p>'
        )


class ChannelError(RuntimeError):
    """A channel could not deliver; the message is safe to log."""


class EmailChannel(dg.ConfigurableResource):
    host: str
    port: int = 587
    sender: str
    recipients: list[str]
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ca_file: str | None = None  # a private CA to trust for STARTTLS; the system's by default

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[e2e-ml {alert.severity}] {alert.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(alert.text())
        message.add_alternative(alert.html(), subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise ChannelError(f"e-mail via {self.host}:{self.port} failed: {type(error).__name__}") from None


class WebhookChannel(dg.ConfigurableResource):
    """A Teams (Workflows, Adaptive Card) or Slack incoming webhook. The URL is a secret."""

    url: str
    flavor: Literal["teams", "slack"] = "teams"

    def payload(self, alert: Alert) -> dict[str, Any]:
        if self.flavor == "slack":
            facts = "\n".join(f"*{k}*: {v}" for k, v in alert.facts.items())
            return {
                "text": f"[{alert.severity}] {alert.title}",
                "blocks": [
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"*[{alert.severity}] {alert.title}*\n{alert.summary}",
                        },
                    },
                    {"type": "section", "text": {"type": "mrkdwn", "text": facts or " "}},
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": f"<{alert.link}|Open in Dagster>"},
                    },
                ],
            }
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {
                    "type": "TextBlock",
                    "size": "Medium",
                    "weight": "Bolder",
                    "text": f"[{alert.severity}] {alert.title}",
                },
                {"type": "TextBlock", "wrap": True, "text": alert.summary},
                {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in alert.facts.items()]},
            ],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in Dagster", "url": alert.link}],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }

    def send(self, alert: Alert) -> None:
        _post(
            self.url,
            json.dumps(self.payload(alert)).encode(),
            {"Content-Type": "application/json"},
            f"{self.flavor} webhook",
        )


class AzureDevOpsChannel(dg.ConfigurableResource):
    """Files a work item (Bug, Issue or Incident) through the Azure DevOps REST API."""

    organization_url: str  # https://dev.azure.com/<organization>
    project: str
    personal_access_token: str
    work_item_type: str = "Bug"
    area_path: str | None = None

    def request(self, alert: Alert) -> tuple[str, bytes, dict[str, str]]:
        url = (
            f"{self.organization_url.rstrip('/')}/{quote(self.project)}"
            f"/_apis/wit/workitems/${quote(self.work_item_type)}?api-version=7.1"
        )
        patch = [
            {
                "op": "add",
                "path": "/fields/System.Title",
                "value": f"[e2e-ml {alert.severity}] {alert.title}"[:255],
            },
            {"op": "add", "path": "/fields/System.Description", "value": alert.html()},
            {"op": "add", "path": "/fields/System.Tags", "value": f"e2e-ml; {alert.kind}"},
        ]
        if self.work_item_type == "Bug":
            patch.append(
                {"op": "add", "path": "/fields/Microsoft.VSTS.TCM.ReproSteps", "value": alert.html()}
            )
        if self.area_path:
            patch.append({"op": "add", "path": "/fields/System.AreaPath", "value": self.area_path})
        token = base64.b64encode(f":{self.personal_access_token}".encode()).decode()
        headers = {"Content-Type": "application/json-patch+json", "Authorization": f"Basic {token}"}
        return url, json.dumps(patch).encode(), headers

    def send(self, alert: Alert) -> None:
        url, body, headers = self.request(alert)
        _post(url, body, headers, "Azure DevOps work item")


def _post(url: str, body: bytes, headers: dict[str, str], channel: str) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except HTTPError as error:
        raise ChannelError(f"{channel} failed: HTTP {error.code}") from None
    except (URLError, OSError) as error:
        raise ChannelError(f"{channel} failed: {type(error).__name__}") from None


class Notifier(dg.ConfigurableResource):
    """Sends each alert to every configured channel; returns which ones delivered."""

    alert_log: str | None = None  # JSON lines, one alert a line: the local deployment's inbox
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    devops: AzureDevOpsChannel | None = None

    def send(self, alert: Alert, log: Any | None = None) -> list[str]:
        delivered = []
        channels: list[tuple[str, Any]] = [
            ("email", self.email),
            ("webhook", self.webhook),
            ("devops", self.devops),
        ]
        for name, channel in channels:
            if channel is None:
                continue
            try:
                channel.send(alert)
                delivered.append(name)
            except ChannelError as error:
                if log is not None:
                    log.error(str(error))
        if self.alert_log:
            path = Path(self.alert_log)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as file:
                file.write(json.dumps(asdict(alert)) + "\n")
            delivered.append("log")
        return delivered
