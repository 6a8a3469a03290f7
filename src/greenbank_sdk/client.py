"""``GreenbankClient``: signs requests, verifies responses, encrypts sensitive fields and opens
callbacks. Blocking, over one ``httpx.Client`` (safe to share across threads)."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from greenbank_sdk.protocol import (
    API_PREFIX,
    CALLBACK_ALGORITHM,
    H_NONCE,
    H_PLATFORM_SERIAL,
    H_SERIAL,
    H_SIGNATURE,
    H_TIMESTAMP,
    Authorization,
    format_authorization,
    request_message,
    response_message,
    serial_from_digest,
)
from greenbank_sdk.sm import (
    PublicKey,
    SDKError,
    Signer,
    b64,
    callback_key,
    load_public_key,
    sm3,
    sm4_gcm_decrypt,
    unb64,
)

WINDOW_S = 300
_NONCE_ALPHABET = string.ascii_letters + string.digits
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiError(SDKError):
    """A problem+json answer: ``status``, ``code`` and the whole ``problem`` body."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.code = str(problem.get("code", f"http_{status}"))
        self.problem = dict(problem)
        super().__init__(f"{status} {self.code}: {problem.get('detail') or problem.get('title')}")


def new_nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def key_serial(public_key: PublicKey) -> str:
    return serial_from_digest(sm3(public_key.to_der()))


def verify_signed(
    headers: Mapping[str, str],
    body: bytes,
    platform_keys: Mapping[str, PublicKey],
    *,
    now: float,
    window_s: int = WINDOW_S,
) -> str:
    """Check the bank's signature on a response or callback; returns the signing key's serial."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp, nonce = lower[H_TIMESTAMP], lower[H_NONCE]
        serial, signature = lower[H_SERIAL], lower[H_SIGNATURE]
    except KeyError as missing:
        raise SDKError(f"unsigned answer: no {missing.args[0]} header") from None
    if not timestamp.isdigit() or abs(now - int(timestamp)) > window_s:
        raise SDKError("the answer's timestamp is outside the 5-minute window")
    key = platform_keys.get(serial)
    if key is None:
        raise SDKError(f"unknown platform key serial {serial}")
    if not key.verify(unb64(signature), response_message(timestamp, nonce, body)):
        raise SDKError("the platform signature does not verify")
    return serial


def open_callback(
    headers: Mapping[str, str],
    body: bytes,
    *,
    platform_keys: Mapping[str, PublicKey],
    api_secret: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify a webhook's signature and decrypt its ``resource``; returns the notification with
    ``resource`` replaced by the decrypted JSON object."""
    verify_signed(headers, body, platform_keys, now=time.time() if now is None else now)
    notice = json.loads(body)
    resource = notice.get("resource") or {}
    if resource.get("algorithm") != CALLBACK_ALGORITHM:
        raise SDKError(f"unexpected callback algorithm {resource.get('algorithm')!r}")
    plain = sm4_gcm_decrypt(
        callback_key(api_secret),
        resource["nonce"].encode(),
        unb64(resource["ciphertext"]),
        resource.get("associated_data", "").encode(),
    )
    notice["resource"] = json.loads(plain)
    return dict(notice)


class GreenbankClient:
    """One partner's connection to the open API.

    ``platform_keys`` maps serial -> public key; pass at least the key you pinned out of band
    (``greenbank partners platform-key show`` at the bank). ``refresh_platform_keys`` adds keys the
    bank rotated to, trusting only entries signed by a key already trusted.
    """

    def __init__(
        self,
        base_url: str,
        *,
        partner_id: str,
        serial_no: str,
        signer: Signer,
        platform_keys: Mapping[str, PublicKey],
        api_secret: str | None = None,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.partner_id = partner_id
        self.serial_no = serial_no
        self.api_secret = api_secret
        self._signer = signer
        self.platform_keys: dict[str, PublicKey] = dict(platform_keys)
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self._now = now

    # -- signing and verifying ------------------------------------------------------------

    def authorization(self, method: str, path_with_query: str, body: bytes) -> str:
        """The ``Authorization`` header value for one request."""
        timestamp, nonce = str(int(self._now())), new_nonce()
        message = request_message(method, path_with_query, timestamp, nonce, body)
        signature = b64(self._signer.sign(message))
        return format_authorization(
            Authorization(self.partner_id, nonce, timestamp, self.serial_no, signature)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send a signed request to ``path`` (under /api/v1/open unless absolute) and return the
        verified JSON answer; problem+json answers raise ``ApiError``."""
        response = self._send(method, path, json_body, idempotency_key, headers)
        return self._verified(response, self.platform_keys)

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        method = method.upper()
        full = path if path.startswith("/") else f"{API_PREFIX}/{path}"
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        sent = {
            "Authorization": self.authorization(method, full, body),
            "Accept": "application/json",
            **(headers or {}),
        }
        if body:
            sent["Content-Type"] = "application/json"
        if method in _WRITES:
            sent["Idempotency-Key"] = idempotency_key or new_nonce(24)
        return self._http.request(method, full, content=body, headers=sent)

    def _verified(self, response: httpx.Response, keys: Mapping[str, PublicKey]) -> Any:
        try:
            verify_signed(response.headers, response.content, keys, now=self._now())
        except SDKError as err:
            raise SDKError(f"HTTP {response.status_code} answer refused: {err}") from None
        payload = response.json() if response.content else None
        if response.status_code >= 400:
            raise ApiError(response.status_code, payload or {})
        return payload

    def refresh_platform_keys(self) -> dict[str, PublicKey]:
        """Download the platform keys and keep those endorsed by a key we already trust; the
        answer itself may be signed by such a newly endorsed key (the bank rotated)."""
        response = self._send("GET", "platform-keys")
        endorsed: dict[str, PublicKey] = {}
        for entry in response.json().get("keys", []) if response.status_code == 200 else []:
            message = f"{entry['serial_no']}\n{entry['public_key_pem']}".encode()
            vouched = any(
                serial in self.platform_keys
                and self.platform_keys[serial].verify(unb64(signature), message)
                for serial, signature in entry["endorsements"].items()
            )
            key = load_public_key(entry["public_key_pem"].encode())
            if vouched and key_serial(key) == entry["serial_no"]:
                endorsed[entry["serial_no"]] = key
        self._verified(response, {**self.platform_keys, **endorsed})
        self.platform_keys.update(endorsed)
        return dict(self.platform_keys)

    def encrypt(self, value: str, serial: str | None = None) -> tuple[str, dict[str, str]]:
        """SM2-encrypt a sensitive field to a platform key: (base64 GM/T 0009 DER, the header
        naming the key to send with the request)."""
        serial = serial or next(iter(self.platform_keys))
        ciphertext = self.platform_keys[serial].encrypt(value.encode())
        return b64(ciphertext), {H_PLATFORM_SERIAL: serial}

    def open_callback(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        if self.api_secret is None:
            raise SDKError("set api_secret to decrypt callbacks")
        return open_callback(
            headers,
            body,
            platform_keys=self.platform_keys,
            api_secret=self.api_secret,
            now=self._now(),
        )

    # -- the API ---------------------------------------------------------------------------

    def set_api_secret(self, secret: str) -> Any:
        encrypted, header = self.encrypt(secret)
        answer = self.request(
            "PUT", "api-secret", json_body={"api_secret_encrypted": encrypted}, headers=header
        )
        self.api_secret = secret
        return answer

    def create_authorization(
        self,
        *,
        scenarios: list[str],
        state: str,
        redirect_uri: str | None = None,
        phone: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {"scenarios": scenarios, "state": state}
        header: dict[str, str] = {}
        if redirect_uri:
            body["redirect_uri"] = redirect_uri
        if phone:
            body["phone_encrypted"], header = self.encrypt(phone)
        return self.request("POST", "authorizations", json_body=body, headers=header)

    def exchange_code(self, code: str) -> Any:
        body = {"grant_type": "authorization_code", "code": code}
        return self.request("POST", "oauth/token", json_body=body)

    def report_event(self, event: Mapping[str, Any], *, idempotency_key: str | None = None) -> Any:
        return self.request("POST", "events", json_body=event, idempotency_key=idempotency_key)

    def report_events(
        self, events: list[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> Any:
        body = {"events": events}
        return self.request("POST", "events/batch", json_body=body, idempotency_key=idempotency_key)

    def event_status(self, event_id: str) -> Any:
        return self.request("GET", f"events/{event_id}")

    def carbon_total(self, customer_token: str) -> Any:
        return self.request("POST", "carbon/total", json_body={"customer_token": customer_token})

    def subscribe(self, url: str, event_types: list[str]) -> Any:
        return self.request("POST", "webhooks", json_body={"url": url, "event_types": event_types})

    def close(self) -> None:
        self._http.close()
