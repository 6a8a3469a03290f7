"""The open API for partners, under ``/api/v1/open`` (see docs/partners.md).

Every request carries ``Authorization: GREENBANK-SM2-WITH-SM3 ...``; every answer, problems
included, carries the platform's ``Greenbank-Signature`` headers. Writes need an
``Idempotency-Key`` (the OAuth code exchange excepted: the code is single-use).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from greenbank.api.deps import ContainerDep
from greenbank.partners import authorisations, gateway, registry, reporting, webhooks
from greenbank.partners.http import OpenApiRoute, SignedRequest, check_batch, json_body
from greenbank.partners.runtime import runtime
from greenbank.partners.schemas import (
    ApiSecretIn,
    AuthorisationRequestIn,
    AuthorisationRequestOut,
    BatchIn,
    BatchOut,
    CarbonTotalIn,
    CarbonTotalOut,
    DeliveryOut,
    EventIn,
    EventStatus,
    ItemResult,
    KeyIn,
    KeyOut,
    PlatformKeyOut,
    PlatformKeysOut,
    RefusalOut,
    SandboxCustomerOut,
    TokenIn,
    TokenOut,
    WebhookIn,
    WebhookOut,
)
from greenbank_sdk.protocol import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["open API (partners)"], route_class=OpenApiRoute)
Answer = tuple[int, dict[str, Any]]


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


@router.get("/platform-keys", response_model=PlatformKeysOut, name="open.platform_keys")
def platform_keys(signed: SignedRequest, container: ContainerDep) -> PlatformKeysOut:
    """The bank's SM2 public keys. Each entry is endorsed (signed) by every key the bank holds,
    so a partner that trusts one key can trust its successor after a rotation."""
    keys = runtime(container).keys
    return PlatformKeysOut(
        keys=[
            PlatformKeyOut(
                serial_no=key.serial,
                public_key_pem=key.public_pem,
                current=key.serial == keys.current.serial,
                endorsements=keys.endorsements(key.serial, key.public_pem),
            )
            for key in keys.by_serial.values()
        ]
    )


@router.put("/api-secret", name="open.api_secret", openapi_extra=json_body(ApiSecretIn))
def set_api_secret(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Set the API secret that keys callback encryption; send it SM2-encrypted to the platform
    key (name the key in ``Greenbank-Platform-Serial``)."""
    body = signed.parse(ApiSecretIn)
    serial = signed.platform_serial
    secret = runtime(container).keys.decrypt_field(body.api_secret_encrypted, serial)

    def work(session: Session) -> Answer:
        registry.set_api_secret(
            session, container.clock, partner_id=signed.caller.partner_id, api_secret=secret
        )
        return 200, {"api_secret_set": True}

    return signed.once(container, work)


@router.get("/keys", response_model=list[KeyOut], name="open.keys.list")
def list_keys(signed: SignedRequest, container: ContainerDep) -> list[KeyOut]:
    partner = registry.get(container, signed.caller.partner_id)
    return [KeyOut.model_validate(key, from_attributes=True) for key in partner.keys]


@router.post(
    "/keys",
    status_code=201,
    response_model=KeyOut,
    name="open.keys.add",
    openapi_extra=json_body(KeyIn),
)
def add_key(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Register the next SM2 public key; both keys work until you revoke the old one."""
    body = signed.parse(KeyIn)
    partner_id = signed.caller.partner_id

    def work(session: Session) -> Answer:
        key = registry.add_key(
            session,
            container.clock,
            actor=f"partner:{partner_id}",
            partner_id=partner_id,
            public_key_pem=body.public_key_pem,
        )
        return 201, _dump(KeyOut.model_validate(key, from_attributes=True))

    return signed.once(container, work)


@router.delete("/keys/{serial_no}", response_model=KeyOut, name="open.keys.revoke")
def revoke_key(serial_no: str, signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    partner_id = signed.caller.partner_id

    def work(session: Session) -> Answer:
        key = registry.revoke_key(
            session,
            container.clock,
            actor=f"partner:{partner_id}",
            partner_id=partner_id,
            serial_no=serial_no,
        )
        return 200, _dump(KeyOut.model_validate(key, from_attributes=True))

    return signed.once(container, work)


@router.post(
    "/authorizations",
    status_code=201,
    response_model=AuthorisationRequestOut,
    name="open.authorisations.start",
    openapi_extra=json_body(AuthorisationRequestIn),
)
def start_authorisation(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Ask a customer to authorise scenarios; send them to ``authorize_path`` in the app."""
    body = signed.parse(AuthorisationRequestIn)

    def work(session: Session) -> Answer:
        view = authorisations.start(
            session,
            container,
            signed.caller,
            scenarios=body.scenarios,
            state=body.state,
            redirect_uri=body.redirect_uri,
            phone_encrypted=body.phone_encrypted,
            platform_serial=signed.platform_serial,
        )
        out = AuthorisationRequestOut(
            request_id=view.id,
            partner_id=view.partner_id,
            partner_name=view.partner_name,
            scenarios=view.scenarios,
            status=view.status,
            expires_at=view.expires_at,
            authorize_path=f"/api/v1/me/partner-authorisations/requests/{view.id}",
        )
        return 201, _dump(out)

    return signed.once(container, work)


@router.post(
    "/oauth/token",
    response_model=TokenOut,
    name="open.oauth.token",
    openapi_extra=json_body(TokenIn),
)
def exchange_code(signed: SignedRequest, container: ContainerDep) -> TokenOut:
    """Exchange the customer's single-use code for the opaque customer token."""
    body = signed.parse(TokenIn)
    grant = authorisations.exchange(container, signed.caller, code=body.code)
    return TokenOut(
        customer_token=grant.customer_token,
        authorisation_id=grant.authorisation_id,
        scenarios=grant.scenarios,
    )


@router.post(
    "/events",
    response_model=ItemResult,
    name="open.events.report",
    openapi_extra=json_body(EventIn),
)
def report_event(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Report one behaviour event. Token and scope problems are problem+json; the carbon
    pipeline's verdict (accepted, or rejected with a reason) is the answer."""
    item = signed.parse(EventIn)

    def work(session: Session) -> Answer:
        [result] = reporting.report(session, container.clock, signed.caller, [item], single=True)
        return 200, _dump(result)

    return signed.once(container, work)


@router.post(
    "/events/batch",
    response_model=BatchOut,
    name="open.events.batch",
    openapi_extra=json_body(BatchIn, batch=True),
)
def report_batch(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Report up to 500 events; one result per event, in order."""
    payload = signed.json()
    check_batch(payload)
    batch = BatchIn.model_validate(payload)

    def work(session: Session) -> Answer:
        results = reporting.report(
            session, container.clock, signed.caller, batch.events, single=False
        )
        return 200, _dump(reporting.summarise(results))

    return signed.once(container, work)


@router.get("/events/{event_id}", response_model=EventStatus, name="open.events.status")
def event_status(event_id: str, signed: SignedRequest, container: ContainerDep) -> EventStatus:
    return reporting.event_status(container, signed.caller, event_id)


@router.post(
    "/carbon/total",
    response_model=CarbonTotalOut,
    name="open.carbon.total",
    openapi_extra=json_body(CarbonTotalIn),
)
def carbon_total(signed: SignedRequest, container: ContainerDep) -> CarbonTotalOut:
    """A read: the customer's totals while the authorisation is active (no Idempotency-Key)."""
    body = signed.parse(CarbonTotalIn)
    return reporting.carbon_total(container, signed.caller, body.customer_token)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookOut,
    name="open.webhooks.create",
    openapi_extra=json_body(WebhookIn),
)
def create_webhook(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    body = signed.parse(WebhookIn)

    def work(session: Session) -> Answer:
        view = webhooks.subscribe(
            session, container.clock, signed.caller, url=body.url, event_types=body.event_types
        )
        return 201, _dump(WebhookOut.model_validate(view, from_attributes=True))

    return signed.once(container, work)


@router.get("/webhooks", response_model=list[WebhookOut], name="open.webhooks.list")
def list_webhooks(signed: SignedRequest, container: ContainerDep) -> list[WebhookOut]:
    return [
        WebhookOut.model_validate(v, from_attributes=True)
        for v in webhooks.subscriptions(container, signed.caller)
    ]


@router.get(
    "/webhooks/deliveries", response_model=list[DeliveryOut], name="open.webhooks.deliveries"
)
def list_deliveries(signed: SignedRequest, container: ContainerDep) -> list[DeliveryOut]:
    """The delivery log: recent callbacks and every attempt (time, HTTP status, error)."""
    return [
        DeliveryOut.model_validate(v, from_attributes=True)
        for v in webhooks.deliveries(container, signed.caller)
    ]


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut, name="open.webhooks.delete")
def delete_webhook(webhook_id: str, signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    def work(session: Session) -> Answer:
        view = webhooks.unsubscribe(session, container.clock, signed.caller, webhook_id)
        return 200, _dump(WebhookOut.model_validate(view, from_attributes=True))

    return signed.once(container, work)


@router.get("/logs", response_model=list[RefusalOut], name="open.logs")
def refusals(signed: SignedRequest, container: ContainerDep) -> list[RefusalOut]:
    """Requests the bank refused that named this partner, newest first."""
    rows = gateway.refusals(container, signed.caller.partner_id)
    return [RefusalOut.model_validate(row, from_attributes=True) for row in rows]


@router.post(
    "/sandbox/customers",
    status_code=201,
    response_model=SandboxCustomerOut,
    name="open.sandbox.customers",
)
def sandbox_customer(signed: SignedRequest, container: ContainerDep) -> JSONResponse:
    """Sandbox partners only: a sandbox customer with an open carbon account and a customer
    access token, to walk the consent flow end to end."""
    made: list[str] = []

    def work(session: Session) -> Answer:
        customer_id, token = authorisations.create_sandbox_customer(
            session, container, signed.caller
        )
        made.append(customer_id)
        return 201, {"customer_id": customer_id, "access_token": token}

    response = signed.once(container, work)
    if made:  # a replayed request found its customer's account open already
        authorisations.open_sandbox_account(container, made[-1])
    return response
