"""Changing the bound card of an open account: the opening flow's five-element check and SMS
code (``card_steps.ask_card_bank``, purpose ``bind_card``, reference = account id), then
``states.replace_bound_card``.

Name and ID number come from the customer's verified record, never from the request. The
passing check is stored in ``account_check_results`` under the account's opening application
with the card's and mobile's blind indexes in ``detail``; the second call must present the card
and mobile of the latest passing check, so the code unlocks nothing that was not checked.
Refused while the account is frozen or closed, and while a top-up or withdrawal is still with
the card rail (``transfers_in_flight``): money in flight settles on the card it started with.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts import states, wiring
from greenbank.accounts.card_steps import ask_card_bank, card_refused
from greenbank.accounts.errors import CardCodeNotRequested, CardElementsChanged
from greenbank.accounts.funds import lock_customer_account
from greenbank.accounts.funds_errors import AccountClosed, AccountFrozen
from greenbank.accounts.idempotency import fingerprint, replay_or_run
from greenbank.accounts.models import (
    AccountStatus,
    Application,
    CheckKind,
    CheckResult,
    ClassIIAccount,
)
from greenbank.accounts.onboarding import Onboarding, actor_of, audited, check, transact
from greenbank.accounts.providers import VendorCode
from greenbank.accounts.schemas import BindCardIn, CardCodeIn, CardCodeOut, problems
from greenbank.api.deps import ContainerDep
from greenbank.audit.service import record
from greenbank.customers.cards import parse_card_number, require_debit
from greenbank.customers.domain import parse_mobile
from greenbank.customers.models import Customer
from greenbank.identity import otp
from greenbank.identity.deps import CurrentCustomer, client_ip
from greenbank.identity.domain import OtpPurpose

CHANGE = "card_change"  # ``detail.purpose`` of the checks made for a card change


class ChangedCardOut(BaseModel):
    account_id: str
    masked_number: str
    bank_name: str


def _open_account(session: Session, customer_id: str) -> ClassIIAccount:
    """The customer's account, locked; frozen, closed or with money in flight is refused."""
    account = lock_customer_account(session, customer_id)
    if account.status == AccountStatus.CLOSED:
        raise AccountClosed("the account is closed", account_id=account.id)
    if account.status == AccountStatus.FROZEN:
        raise AccountFrozen("the account is frozen", account_id=account.id)
    states.check_no_transfers(session, account)
    return account


def request_code(
    svc: Onboarding,
    *,
    customer_id: str,
    card_number: str,
    bank_mobile: str,
    client_ip: str | None = None,
) -> otp.IssuedCode:
    """Five elements for the new card with the card's bank, then an SMS code to its mobile."""
    actor = actor_of(customer_id)

    def run() -> otp.IssuedCode:
        with svc.uow() as work:
            account = _open_account(work.session, customer_id)
            customer = work.session.get_one(Customer, customer_id)
            account_id, application_id = account.id, account.application_id
            name, id_number = customer.name, customer.id_number
        assert name and id_number and application_id
        five, debit, result = ask_card_bank(
            svc, name=name, id_number=id_number, card=card_number, mobile=bank_mobile
        )
        ok = result.code is VendorCode.OK

        def save(session: Session) -> None:
            now = svc.clock.now()
            check(
                session,
                now,
                session.get_one(Application, application_id),
                CheckKind.FIVE_ELEMENTS,
                svc.providers.card.name,
                result.code.value,
                ok,
                purpose=CHANGE,
                account_id=account_id,
                card_bidx=svc.index(five.card.value, "card"),
                mobile_bidx=svc.index(five.bank_mobile, "phone"),
                bin=debit.card_bin.bin if debit.card_bin else None,
            )

        transact(svc, save)
        if not ok:
            raise card_refused(result.code)
        issued = otp.issue(
            svc.otp,
            phone=five.bank_mobile,
            purpose=OtpPurpose.BIND_CARD,
            client_ip=client_ip,
            reference=account_id,
        )
        with svc.uow() as work:
            record(
                work.session,
                svc.clock,
                actor=actor,
                action="accounts.card_change.code_requested",
                subject=account_id,
            )
            work.commit()
        return issued

    return audited(
        svc, actor=actor, action="accounts.card_change.code_requested", subject=None, fn=run
    )


def change_card(
    svc: Onboarding, *, customer_id: str, card_number: str, bank_mobile: str, code: str
) -> ChangedCardOut:
    """Verify the SMS code for the last checked card and make it the bound card."""
    actor = actor_of(customer_id)

    def run() -> ChangedCardOut:
        with svc.uow() as work:
            account = _open_account(work.session, customer_id)
            account_id, application_id = account.id, account.application_id
            passed = work.session.scalars(
                select(CheckResult)
                .where(
                    CheckResult.application_id == application_id,
                    CheckResult.kind == CheckKind.FIVE_ELEMENTS.value,
                    CheckResult.passed.is_(True),
                )
                .order_by(CheckResult.at.desc(), CheckResult.id.desc())
            ).all()
            last = next((c for c in passed if c.detail.get("purpose") == CHANGE), None)
            if last is None or last.detail.get("account_id") != account_id:
                raise CardCodeNotRequested()
            detail, check_id = dict(last.detail), last.id
        if detail["card_bidx"] != svc.index(card_number, "card") or detail[
            "mobile_bidx"
        ] != svc.index(bank_mobile, "phone"):
            raise CardElementsChanged()
        number = parse_card_number(card_number).value
        debit = require_debit(number, unknown=svc.policy.unknown_bin)

        def then(session: Session, verified: otp.VerifiedPhone) -> ChangedCardOut:
            bin_ = debit.card_bin
            card = states.VerifiedCard(
                card_number=number,
                bank_code=bin_.bank_code if bin_ else "",
                bank_name=bin_.bank_name if bin_ else "",
                bin=bin_.bin if bin_ else number[:6],
                bank_mobile=parse_mobile(bank_mobile),
                bank_mobile_bidx=str(detail["mobile_bidx"]),
                check_id=check_id,
            )
            new = states.replace_bound_card(
                session, svc.clock, account_id=account_id, card=card, actor=actor
            )
            return ChangedCardOut(
                account_id=account_id, masked_number=new.masked_number, bank_name=new.bank_name
            )

        return otp.verify_then(
            svc.otp,
            phone=bank_mobile,
            purpose=OtpPurpose.BIND_CARD,
            code=code,
            reference=account_id,
            then=then,
        )

    return audited(svc, actor=actor, action="accounts.card_change.changed", subject=None, fn=run)


# --- HTTP: /api/v1/accounts/me/bound-card (included by ``funds_router``) ----------------------

me = APIRouter(prefix="/api/v1/accounts/me", tags=["Class II account: funds"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Repeat a request safely: the first answer is replayed",
    ),
]
STATE = problems(
    "The account is frozen or closed, or a transfer is still with the card rail.",
    "account_frozen",
    "account_closed",
    "transfers_in_flight",
)


@me.post(
    "/bound-card/code",
    name="accounts.me.bound_card_code",
    summary="Change the bound card: five elements for the new card, SMS code to its mobile",
    response_model=CardCodeOut,
    responses={
        404: problems("No Class II account.", "class2_account_not_found"),
        409: STATE,
        422: problems(
            "Card refused.",
            "credit_card_not_allowed",
            "card_bin_unknown",
            "card_not_owned",
            "bank_mobile_mismatch",
            "card_number_malformed",
            "mobile_malformed",
        ),
        429: problems("Too many codes.", "otp_rate_limited"),
    },
)
def bound_card_code(
    body: CardCodeIn, request: Request, me_: CurrentCustomer, container: ContainerDep
) -> CardCodeOut:
    issued = request_code(
        wiring.onboarding(container),
        customer_id=me_.id,
        card_number=body.card_number,
        bank_mobile=body.bank_mobile,
        client_ip=client_ip(request),
    )
    return CardCodeOut.of(issued)


@me.post(
    "/bound-card",
    name="accounts.me.bound_card",
    summary="Change the bound card: the checked card and mobile with the SMS code",
    response_model=ChangedCardOut,
    responses={
        400: problems("Wrong code.", "otp_invalid", "otp_expired", "otp_attempts_exceeded"),
        404: problems("No Class II account.", "class2_account_not_found"),
        409: problems(
            "Frozen, closed, money in flight, or not the card and mobile the code was sent for.",
            "account_frozen",
            "account_closed",
            "transfers_in_flight",
            "card_elements_changed",
            "card_code_not_requested",
        ),
    },
)
def bound_card(
    body: BindCardIn, me_: CurrentCustomer, container: ContainerDep, key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> dict[str, Any]:
        out = change_card(
            wiring.onboarding(container),
            customer_id=me_.id,
            card_number=body.card_number,
            bank_mobile=body.bank_mobile,
            code=body.code,
        )
        return out.model_dump(mode="json")

    answer = replay_or_run(
        container.uow,
        container.clock,
        customer_id=me_.id,
        key=key,
        request_fingerprint=fingerprint("bound_card", body=body.model_dump()),
        run=run,
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)
