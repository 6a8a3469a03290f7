"""Demo applications through the real flow with the sandbox vendors: 王小明 has an open account,
张三 waits in the staff review queue, 李四 was refused by 联网核查. Running it again is a no-op
(a customer who already applied is left alone)."""

from __future__ import annotations

import re

from sqlalchemy import select

from greenbank.accounts import card_steps, kyc_steps, onboarding, review, wiring
from greenbank.accounts.errors import ApplicationRefused
from greenbank.accounts.models import Application
from greenbank.accounts.sandbox import sandbox_payload, sandbox_person
from greenbank.bootstrap import Container
from greenbank.customers.registry import get_or_create_by_phone
from greenbank.identity.service import sandbox_sms

DEMO = ("wang_xiaoming", "zhang_san", "li_si")
_CODE = re.compile(r"验证码为(\d{4,8})")
SELFIE = b"demo selfie: a live face, blinking"


def seed(container: Container) -> list[str]:
    svc = wiring.onboarding(container)
    consents = {kind.value: version for kind, version in svc.policy.consent_versions.items()}
    created = []
    for key in DEMO:
        person = sandbox_person(key)
        phone = person.bank_mobile or "13926260007"
        with container.uow() as work:
            customer = get_or_create_by_phone(
                work.session, container.keyring, container.clock, phone
            )
            applied = work.session.scalar(
                select(Application.id).where(Application.customer_id == customer.id)
            )
            work.commit()
        if applied is not None:
            continue
        app = onboarding.start(
            svc, customer_id=customer.id, consents=consents, device=f"demo-{key}"
        )
        ids = {"customer_id": customer.id, "application_id": app.id}
        kyc_steps.upload_id(
            svc, **ids, front=sandbox_payload(key, "front"), back=sandbox_payload(key, "back")
        )
        card = person.card
        fields = kyc_steps.ConfirmedId(
            name=card.name,
            id_number=card.id_number,
            address=card.address,
            validity=card.validity,
            occupation="职员",
        )
        try:
            kyc_steps.confirm_id(svc, **ids, fields=fields)
        except ApplicationRefused as refused:
            created.append(f"application of {card.name[0]}* refused ({refused.code})")
            continue
        challenge = kyc_steps.face_challenge(svc, **ids)
        kyc_steps.verify_face(svc, **ids, token=challenge.token, selfie=SELFIE)
        card_steps.request_card_code(svc, **ids, card_number=person.card_number, bank_mobile=phone)
        code = next(
            found.group(1)
            for message in sandbox_sms(container).outbox(phone)
            if (found := _CODE.search(message.text))
        )
        card_steps.bind_card(
            svc, **ids, card_number=person.card_number, bank_mobile=phone, code=code
        )
        done = review.submit(svc, **ids)
        created.append(f"application of {card.name[0]}* {done.state}")
    return created
