"""No password, API key, auth token, HMAC secret, webhook secret or signature reaches a log line: a whole
session of logins (good, bad, throttled), keyed and signed requests, token use, webhooks with secrets and
failing deliveries, and user creation, with every logger at DEBUG, then every line scanned for every secret
in the forms it travelled in (raw, base64, hex)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from typer.testing import CliRunner

from polycrm.cli import app as cli_app
from tests.support.cli import cli_env
from tests.conftest import SECRET
from tests.events.receiver import Receiver


def b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


class Secrets:
    """Every secret the session uses, and the forms of it that must not be logged either."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: str | bytes) -> None:
        for value in values:
            raw = value if isinstance(value, bytes) else value.encode()
            self.values |= {raw.decode("latin-1"), base64.b64encode(raw).decode(), raw.hex()}
            self.values.add(base64.b64encode(raw).decode().rstrip("="))

    def found_in(self, text: str) -> list[str]:
        return sorted(value for value in self.values if value in text)


def test_a_whole_session_logs_no_secret(harness, logs, worker, receiver: Receiver, store, tmp_path):
    found = Secrets()
    found.add(SECRET, harness.admin_key, "admin-password-1")
    client = harness.client(validate=False)

    # Logins with a password: EspoCRM's login (which issues a token), Basic, and the token in use.
    login = client.get("/api/v1/App/user", headers={"Espo-Authorization": b64("admin:admin-password-1")})
    token = login.json()["token"]
    found.add(token, "admin:admin-password-1", f"admin:{token}")
    assert client.get("/api/v1/Account", headers={"Authorization": "Basic " + b64("admin:admin-password-1")}
                      ).status_code == 200
    by_token = {"Espo-Authorization": b64(f"admin:{token}"), "Espo-Authorization-By-Token": "true"}
    assert client.get("/api/v1/Account", headers=by_token).status_code == 200

    # An API key, an HMAC-signed request, and the key in a query string, as some clients send it.
    assert harness.key_client(harness.admin_key).get(
        f"/api/v1/Account?apiKey={harness.admin_key}&maxSize=1").status_code == 200
    signed = harness.directory.create_api_key(harness.admin_id, with_hmac=True)
    digest = hmac.new(signed.hmac_secret.encode(), b"GET /Account", hashlib.sha256).hexdigest()
    found.add(signed.key, signed.hmac_secret, digest, f"{signed.key}:{digest}")
    assert client.get("/api/v1/Account", headers={"X-Hmac-Authorization": b64(f"{signed.key}:{digest}")}
                      ).status_code == 200
    bad_digest = hmac.new(b"wrong-hmac-secret-0123456789", b"GET /Account", hashlib.sha256).hexdigest()
    found.add(bad_digest)
    assert client.get("/api/v1/Account", headers={"X-Hmac-Authorization": b64(f"{signed.key}:{bad_digest}")}
                      ).status_code == 401

    # Failed logins: wrong passwords (a mistyped password is nearly the real one), unknown users, wrong keys
    # and tokens, until the user name is throttled.
    wrong = [f"admin-password-{n}-typo" for n in range(11)]
    found.add(*wrong)
    for password in wrong:
        client.get("/api/v1/Account", headers={"Authorization": "Basic " + b64(f"admin:{password}")})
    assert client.get("/api/v1/Account", headers={"Espo-Authorization": b64("admin:" + wrong[0])}
                      ).status_code == 403  # throttled
    unknown = secrets.token_urlsafe(12)
    guessed_key, guessed_token = secrets.token_hex(16), secrets.token_hex(16)
    found.add(unknown, guessed_key, guessed_token)
    client.get("/api/v1/Account", headers={"Espo-Authorization": b64(f"nobody:{unknown}")})
    client.get("/api/v1/Account", headers={"X-Api-Key": guessed_key})
    client.get("/api/v1/Account", headers={"Espo-Authorization": b64(f"admin:{guessed_token}"),
                                           "Espo-Authorization-By-Token": "true"})
    client.get("/api/getBundleModuleNames", headers={"x-api-key": guessed_key})
    client.post("/api/validateApiKey", json={"apiKey": guessed_key})
    client.post("/api/validateApiKey", json={"apiKey": harness.admin_key})

    # A refused body holding a password-like value: its reason is logged at debug, never the value.
    body_secret = secrets.token_urlsafe(16)
    found.add(body_secret)
    api = harness.key_client(harness.admin_key, validate=False)
    api.post("/api/v1/Account", json={"name": "", "password": body_secret})
    api.post("/api/v1/Account", json={"name": "Acme", "emailAddress": body_secret})

    # Users created with passwords: through the API where it takes them, and the command line.
    user_password = secrets.token_urlsafe(16)
    found.add(user_password)
    api.post("/api/v1/User", json={"userName": "carol", "password": user_password, "passwordConfirm": user_password,
                                   "type": "regular", "lastName": "Carol"})
    result = CliRunner().invoke(cli_app, ["user", "create", "--username", "dave", "--password", user_password],
                                env=cli_env(store, tmp_path))
    assert result.exit_code == 0, result.output

    # Webhooks with secrets whose deliveries fail: attempts, retries, giving up, the subscription disabled.
    espo_hook = api.post("/api/v1/Webhook", json={"event": "Account.create", "url": receiver.url}).json()
    inflow_secret = secrets.token_hex(24)
    found.add(espo_hook["secretKey"], inflow_secret)
    inflow = harness.client({"x-api-key": harness.admin_key}, validate=False)
    assert inflow.post("/webhooks/subscribe", json={"event": "created", "hookUrl": receiver.url,
                                                        "module": "customer", "hmacSecret": inflow_secret}
                       ).status_code == 201
    receiver.default_status = 500
    for n in range(3):
        assert api.post("/api/v1/Account", json={"name": f"Acme {n}"}).status_code == 200
    worker.run_until_idle()
    for request in receiver.received:
        found.add(*(request.headers[name] for name in ("signature", "x-signature", "x-polycrm-signature",
                                                         "x-webhook-signature") if name in request.headers))

    assert client.post("/api/v1/App/destroyAuthToken", headers=by_token, json={"token": token}).json() is True

    # ITFlow: the key and the decrypt password in query strings and bodies, a wrong key and a wrong password,
    # and credential secrets written and read.
    itflow = harness.directory.create_itflow_key(harness.admin_id, name="psa")
    wrong_itflow_key, credential_secret = secrets.token_hex(16), secrets.token_urlsafe(16)
    found.add(itflow.key, itflow.decrypt_password, wrong_itflow_key, credential_secret)
    assert client.post("/api/v1/credentials/create.php", json={
        "api_key": itflow.key, "api_key_decrypt_password": itflow.decrypt_password, "credential_name": "db",
        "credential_password": credential_secret, "credential_username": credential_secret}).json()["success"] == "True"
    read = client.get("/api/v1/credentials/read.php", params={
        "api_key": itflow.key, "api_key_decrypt_password": itflow.decrypt_password})
    assert credential_secret in read.text
    client.get("/api/v1/credentials/read.php", params={"api_key": itflow.key, "api_key_decrypt_password": "wrong"})
    client.get("/api/v1/clients/read.php", params={"api_key": wrong_itflow_key})

    # Concord: personal access tokens (with and without their id), a wrong one, a token exchange with a
    # password, a refused body.
    concord_password = secrets.token_urlsafe(16)
    found.add(concord_password)
    harness.directory.create_user("erin", concord_password, email="erin@example.com")
    exchanged = client.post("/api/token", json={"email": "erin@example.com", "password": concord_password,
                                                "device_name": "n8n"}).json()["accessToken"]
    issued = harness.directory.create_concord_token(harness.admin_id, "n8n").plain_text
    wrong_concord = f"1|{secrets.token_hex(24)}"
    found.add(exchanged, issued, issued.split("|", 1)[1], wrong_concord.split("|", 1)[1])
    for token, status in ((issued, 200), (issued.split("|", 1)[1], 200), (exchanged, 403)):  # erin has no role
        assert client.get("/api/contacts", headers={"Authorization": f"Bearer {token}",
                                                    "Accept": "application/json"}).status_code == status
    client.get("/api/contacts", headers={"Authorization": f"Bearer {wrong_concord}"})
    client.post("/api/token", json={"email": "erin@example.com", "password": concord_password + "x",
                                    "device_name": "n8n"})
    client.post("/api/contacts", headers={"Authorization": f"Bearer {issued}"},
                json={"first_name": "", "email": concord_password})
    # Concord users: made with a password, refused (a confirmation that does not match), given a new one.
    user_password, other_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    found.add(user_password, other_password)
    bearer = {"Authorization": f"Bearer {issued}", "Accept": "application/json"}
    made = client.post("/api/users", headers=bearer, json={
        "name": "Fay", "email": "fay@example.com", "password": user_password, "password_confirmation": user_password,
        "timezone": "UTC", "time_format": "H:i", "date_format": "Y-m-d"})
    assert made.status_code == 201
    assert client.post("/api/users", headers=bearer, json={"name": "", "password": user_password,
                                                          "password_confirmation": other_password}).status_code == 422
    assert client.put(f"/api/users/{made.json()['id']}", headers=bearer, json={
        "password": other_password, "password_confirmation": other_password}).status_code == 200

    # What the session logged, and that it is worth scanning: the lines it must have produced.
    assert logs.find("authentication failed", scheme="basic", user_name="admin")
    assert logs.find("authentication failed", scheme="hmac") and logs.find("authentication failed", scheme="api-key")
    assert logs.find("authentication failed", scheme="inflow-api-key")
    assert logs.find("authentication failed", scheme="itflow-key")
    assert logs.find("authentication failed", scheme="concord-token")
    assert [r for r in logs.records() if r["event"].startswith("login refused")]
    assert logs.find("request refused", field="name") and logs.find("webhook attempt failed", status=500)
    assert logs.find("webhook delivery failed") and logs.find("webhook disabled")
    assert len(logs.find("request")) > 30
    leaked = [(value, line) for line in logs.lines() for value in found.found_in(line)]
    assert leaked == []
