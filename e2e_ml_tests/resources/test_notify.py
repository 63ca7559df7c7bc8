"""Each channel against a real server on loopback."""

import base64

import pytest

from e2e_ml.resources.notify import (
    Alert,
    AzureDevOpsChannel,
    ChannelError,
    EmailChannel,
    Notifier,
    WebhookChannel,
)
from e2e_ml_tests.servers import HttpServer, SmtpServer, self_signed_tls

ALERT = Alert(
    kind="check_failed",
    title="Check feature_drift failed on clean_dataset for 2026-01-08",
    summary="drifted: minutes_played, sessions",
    severity="WARN",
    link="http://127.0.0.1:3000/assets/clean_dataset",
    facts={"max_psi": "0.84", "reference_days": "2026-01-05 .. 2026-01-07"},
)


def test_email_with_starttls_and_login(tmp_path):
    tls, ca = self_signed_tls(tmp_path)
    with SmtpServer(username="alerts", password="s3cret", tls=tls) as server:
        channel = EmailChannel(
            host="127.0.0.1",
            port=server.port,
            sender="e2e-ml@example.org",
            recipients=["oncall@example.org", "ml@example.org"],
            username="alerts",
            password="s3cret",
            starttls=True,
            ca_file=str(ca),
        )
        channel.send(ALERT)
    [message] = server.mailbox.messages
    assert server.mailbox.logins == ["alerts"]
    assert (
        message["Subject"].strip()
        == "[e2e-ml WARN] Check feature_drift failed on clean_dataset for 2026-01-08"
    )
    assert message["To"] == "oncall@example.org, ml@example.org"
    text = message.get_body(("plain",)).get_content()
    assert "max_psi: 0.84" in text and ALERT.link in text


def test_email_refused_login_is_a_clear_error_without_the_password():
    with SmtpServer(username="alerts", password="right") as server:
        channel = EmailChannel(
            host="127.0.0.1",
            port=server.port,
            sender="a@b.c",
            recipients=["d@e.f"],
            username="alerts",
            password="wrong-password",
            starttls=False,
        )
        with pytest.raises(ChannelError) as refused:
            channel.send(ALERT)
    assert str(refused.value).startswith(f"e-mail via 127.0.0.1:{server.port} failed: SMTP")
    assert "wrong-password" not in str(refused.value)
    assert server.mailbox.messages == []


@pytest.mark.parametrize("flavor", ["teams", "slack"])
def test_webhook_payloads(flavor):
    with HttpServer() as server:
        WebhookChannel(url=f"{server.url}/hook/secret-token", flavor=flavor).send(ALERT)
    [request] = server.requests
    assert request.method == "POST" and request.path == "/hook/secret-token"
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    if flavor == "teams":
        card = payload["attachments"][0]["content"]
        assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["body"][0]["text"] == f"[WARN] {ALERT.title}"
        assert {"title": "max_psi", "value": "0.84"} in card["body"][2]["facts"]
        assert card["actions"][0]["url"] == ALERT.link
    else:
        assert payload["text"] == f"[WARN] {ALERT.title}"
        assert "*max_psi*: 0.84" in payload["blocks"][1]["text"]["text"]


def test_devops_work_item_request():
    with HttpServer() as server:
        AzureDevOpsChannel(
            organization_url=f"{server.url}/contoso",
            project="Game Analytics",
            personal_access_token="pat-123",
            work_item_type="Bug",
            area_path="Game Analytics\\ML",
        ).send(ALERT)
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/contoso/Game%20Analytics/_apis/wit/workitems/$Bug?api-version=7.1"
    assert request.headers["Content-Type"] == "application/json-patch+json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b":pat-123").decode()
    patch = {op["path"]: op["value"] for op in request.json()}
    assert all(op["op"] == "add" for op in request.json())
    assert patch["/fields/System.Title"] == f"[e2e-ml WARN] {ALERT.title}"
    assert "max_psi" in patch["/fields/System.Description"]
    assert patch["/fields/System.Tags"] == "e2e-ml; check_failed"
    assert patch["/fields/System.AreaPath"] == "Game Analytics\\ML"


def test_a_failing_channel_does_not_stop_the_others_nor_leak_its_url(tmp_path):
    log = tmp_path / "alerts.jsonl"

    class Log:
        errors: list[str] = []

        def error(self, message):
            self.errors.append(message)

    with HttpServer(status=500) as broken, HttpServer() as working:
        notifier = Notifier(
            alert_log=str(log),
            webhook=WebhookChannel(url=f"{broken.url}/hook/secret-token", flavor="slack"),
            devops=AzureDevOpsChannel(organization_url=working.url, project="p", personal_access_token="t"),
        )
        delivered = notifier.send(ALERT, log=Log())
    assert delivered == ["devops", "log"]
    assert Log.errors == ["slack webhook failed: HTTP 500"]
    assert len(working.requests) == 1 and len(log.read_text().splitlines()) == 1
