"""Helpers for account-opening tests: a signed-up customer, the sandbox SMS code, a walk through
the steps with a sandbox person up to a given state."""

from __future__ import annotations

import re
from collections.abc import Mapping

from greenbank.accounts import card_steps, kyc_steps, onboarding, wiring
from greenbank.accounts.errors import ProviderUnavailable
from greenbank.accounts.models import Application, ApplicationState
from greenbank.accounts.onboarding import Onboarding
from greenbank.accounts.sandbox import sandbox_payload, sandbox_person
from greenbank.bootstrap import Container
from greenbank.customers.registry import get_or_create_by_phone
from greenbank.identity import service

CONSENTS: Mapping[str, str] = {
    "terms": "2026-01",
    "personal_information": "2026-01",
    "sensitive_face": "2026-01",
}
SELFIE = b"\x89PNG sandbox selfie of a live person"
_CODE = re.compile(r"验证码为(\d{4,8})")


def sign_up(container: Container, phone: str) -> str:
    with container.uow() as work:
        customer = get_or_create_by_phone(work.session, container.keyring, container.clock, phone)
        work.commit()
        return customer.id


def latest_code(container: Container, phone: str) -> str:
    for message in service.sandbox_sms(container).outbox(phone):
        found = _CODE.search(message.text)
        if found:
            return found.group(1)
    raise AssertionError(f"no code was delivered to {phone}")


def confirmed(person_key: str, **changes: str) -> kyc_steps.ConfirmedId:
    card = sandbox_person(person_key).card
    fields = {
        "name": card.name,
        "id_number": card.id_number,
        "address": card.address,
        "validity": card.validity,
        "occupation": "工程师",
        **changes,
    }
    return kyc_steps.ConfirmedId(**fields)


ORDER = [
    ApplicationState.STARTED,
    ApplicationState.ID_CAPTURED,
    ApplicationState.ID_VERIFIED,
    ApplicationState.FACE_VERIFIED,
    ApplicationState.CARD_BOUND,
]


def walk(
    container: Container,
    person_key: str,
    *,
    phone: str | None = None,
    until: ApplicationState = ApplicationState.CARD_BOUND,
    svc: Onboarding | None = None,
    device: str = "device-1",
) -> tuple[Onboarding, str, Application]:
    """Sign up and take a sandbox person's application up to ``until``."""
    svc = svc or wiring.onboarding(container)
    person = sandbox_person(person_key)
    customer = sign_up(container, phone or person.bank_mobile or "13926269876")
    app = onboarding.start(
        svc, customer_id=customer, consents=CONSENTS, device=device, client_ip="10.0.0.1"
    )
    steps = ORDER[1 : ORDER.index(until) + 1]
    for state in steps:
        if state is ApplicationState.ID_CAPTURED:
            app, _ = kyc_steps.upload_id(
                svc,
                customer_id=customer,
                application_id=app.id,
                front=sandbox_payload(person_key, "front"),
                back=sandbox_payload(person_key, "back"),
            )
        elif state is ApplicationState.ID_VERIFIED:
            for attempt in range(2):  # the flaky sandbox person times out on the first call
                try:
                    app = kyc_steps.confirm_id(
                        svc,
                        customer_id=customer,
                        application_id=app.id,
                        fields=confirmed(person_key),
                    )
                    break
                except ProviderUnavailable:
                    assert attempt == 0 and person.flaky == "id_check"
        elif state is ApplicationState.FACE_VERIFIED:
            challenge = kyc_steps.face_challenge(svc, customer_id=customer, application_id=app.id)
            app = kyc_steps.verify_face(
                svc,
                customer_id=customer,
                application_id=app.id,
                token=challenge.token,
                selfie=SELFIE,
            )
        elif state is ApplicationState.CARD_BOUND:
            mobile = person.bank_mobile or "13926269876"
            card_steps.request_card_code(
                svc,
                customer_id=customer,
                application_id=app.id,
                card_number=person.card_number,
                bank_mobile=mobile,
            )
            app = card_steps.bind_card(
                svc,
                customer_id=customer,
                application_id=app.id,
                card_number=person.card_number,
                bank_mobile=mobile,
                code=latest_code(container, mobile),
            )
    return svc, customer, app
