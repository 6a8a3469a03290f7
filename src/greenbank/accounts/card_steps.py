"""Binding the debit card: five-element check with the card's bank, then an SMS code sent to
the mobile the bank has on record (``identity.otp``, purpose ``bind_card``).

The code is verified and the application moves to ``card_bound`` in one transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from greenbank.accounts.errors import (
    BankMobileMismatch,
    CardCheckFailed,
    CardCodeNotRequested,
    CardElementsChanged,
    refusal,
)
from greenbank.accounts.kyc_steps import get_detached
from greenbank.accounts.models import Application, ApplicationState, CheckKind
from greenbank.accounts.onboarding import (
    Onboarding,
    actor_of,
    audited,
    check,
    commit_then_raise,
    load,
    move,
    raise_if_unavailable,
    read,
    refuse,
)
from greenbank.accounts.providers import CardCheckResult, VendorCode
from greenbank.clock import business_date
from greenbank.customers.cards import DebitCheck, parse_card_number, require_debit
from greenbank.customers.domain import FiveElementRequest, IdType, parse_mobile
from greenbank.errors import GreenbankError
from greenbank.identity import otp
from greenbank.identity.domain import OtpPurpose

ONLY = frozenset


def ask_card_bank(
    svc: Onboarding, *, name: str, id_number: str, card: str, mobile: str
) -> tuple[FiveElementRequest, DebitCheck, CardCheckResult]:
    """The five elements: debit-only BIN check, then the card's bank (same name, ID and mobile).

    Shared by opening and by a card change (``card_change``); the caller records the outcome.
    """
    five = FiveElementRequest.build(
        name=name,
        id_type=IdType.RESIDENT_ID_CARD,
        id_number=id_number,
        card_number=card,
        bank_mobile=mobile,
        on=business_date(svc.clock.now()),
    )
    debit = require_debit(five.card, unknown=svc.policy.unknown_bin)
    vendor = svc.providers.card
    result = vendor.check(
        name=five.name,
        id_type=five.id_type.value,
        id_number=five.id_number.value,
        card_number=five.card.value,
        mobile=five.bank_mobile,
    )
    raise_if_unavailable(vendor.name, result.code)
    return five, debit, result


def card_refused(code: VendorCode) -> CardCheckFailed:
    """The error for a five-element answer other than OK."""
    if code is VendorCode.MOBILE_MISMATCH:
        return BankMobileMismatch(vendor_code=code.value)
    return CardCheckFailed(vendor_code=code.value)


def request_card_code(
    svc: Onboarding,
    *,
    customer_id: str,
    application_id: str,
    card_number: str,
    bank_mobile: str,
    client_ip: str | None = None,
) -> otp.IssuedCode:
    """Five-element check with the card's bank, then an SMS code to the bank-registered mobile."""
    states = ONLY({ApplicationState.FACE_VERIFIED})
    actor = actor_of(customer_id)
    policy = svc.policy

    def run() -> otp.IssuedCode:
        app = read(svc, application_id, customer_id=customer_id, states=states)
        assert app.name and app.id_number
        five, debit, result = ask_card_bank(
            svc, name=app.name, id_number=app.id_number, card=card_number, mobile=bank_mobile
        )
        vendor = svc.providers.card

        def apply(session: Session) -> GreenbankError | None:
            now = svc.clock.now()
            row = load(session, app.id, customer_id=customer_id, states=states, version=app.version)
            ok = result.code is VendorCode.OK
            row.card_attempts += 1
            row.version += 1
            check(
                session,
                now,
                row,
                CheckKind.FIVE_ELEMENTS,
                vendor.name,
                result.code.value,
                ok,
                bin=debit.card_bin.bin if debit.card_bin else None,
            )
            if not ok:
                if row.card_attempts >= policy.card_max_attempts:
                    refuse(session, svc, row, "too_many_card_attempts", actor)
                    return refusal("too_many_card_attempts")
                return card_refused(result.code)
            row.card_number = five.card.value
            row.card_bin = debit.card_bin.bin if debit.card_bin else five.card.value[:6]
            row.card_bank_code = debit.card_bin.bank_code if debit.card_bin else None
            row.card_bank_name = debit.card_bin.bank_name if debit.card_bin else None
            row.card_needs_review = debit.needs_review
            row.bank_mobile = five.bank_mobile
            row.updated_at = now
            return None

        commit_then_raise(svc, apply)
        return otp.issue(
            svc.otp,
            phone=five.bank_mobile,
            purpose=OtpPurpose.BIND_CARD,
            client_ip=client_ip,
            reference=app.id,
        )

    return audited(
        svc, actor=actor, action="accounts.card.code_requested", subject=application_id, fn=run
    )


def bind_card(
    svc: Onboarding,
    *,
    customer_id: str,
    application_id: str,
    card_number: str,
    bank_mobile: str,
    code: str,
) -> Application:
    """The five elements again with the SMS code: the card is bound to the application."""
    states = ONLY({ApplicationState.FACE_VERIFIED})

    def run() -> Application:
        app = read(svc, application_id, customer_id=customer_id, states=states)
        if app.card_number_bidx is None or app.bank_mobile is None:
            raise CardCodeNotRequested()
        same_card = parse_card_number(card_number).value == app.card_number
        if not same_card or parse_mobile(bank_mobile) != app.bank_mobile:
            raise CardElementsChanged()

        def then(session: Session, verified: otp.VerifiedPhone) -> Application:
            now = svc.clock.now()
            row = load(session, app.id, customer_id=customer_id, states=states, version=app.version)
            check(
                session,
                now,
                row,
                CheckKind.SMS_CODE,
                "sms",
                "verified",
                True,
                challenge_id=verified.challenge_id,
            )
            move(row, ApplicationState.CARD_BOUND, now)
            return row

        otp.verify_then(
            svc.otp,
            phone=app.bank_mobile,
            purpose=OtpPurpose.BIND_CARD,
            code=code,
            reference=app.id,
            then=then,
        )
        return get_detached(svc, customer_id, application_id)

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.card.bound",
        subject=application_id,
        fn=run,
    )
