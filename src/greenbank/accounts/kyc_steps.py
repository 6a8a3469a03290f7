"""The KYC steps of an application: ID card (OCR, confirmation, 联网核查) and face.

Each step follows ``onboarding``'s pattern: read in a short transaction, call the vendor with
no transaction open, apply the answer in a second transaction that re-checks the version.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.accounts.consents import require_consent
from greenbank.accounts.errors import (
    ApplicationInProgress,
    FaceCheckFailed,
    IdFieldsInconsistent,
    IdNumberInUse,
    ImageTooLarge,
    LivenessChallengeInvalid,
    OcrUnreadable,
    refusal,
)
from greenbank.accounts.models import (
    Application,
    ApplicationState,
    CheckKind,
    ConsentKind,
    RiskSubject,
)
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
    transact,
)
from greenbank.accounts.providers import IdCardText, LivenessChallenge, VendorCode
from greenbank.accounts.risk import record_velocity
from greenbank.clock import business_date
from greenbank.crypto import mask_id_number, mask_name, sm3
from greenbank.customers.domain import (
    names_match,
    validate_name,
)
from greenbank.customers.identity import (
    IdValidity,
    check_age,
    check_id_not_expired,
    normalise_id_number,
    parse_id_number,
    parse_id_validity,
)
from greenbank.customers.models import Customer
from greenbank.errors import GreenbankError, ValidationFailed

ONLY = frozenset
SEX = {"男": "male", "女": "female"}
ID_CHECK_REFUSALS = {
    VendorCode.MISMATCH: "id_verification_mismatch",
    VendorCode.INVALID_ID: "id_verification_invalid_id",
    VendorCode.INVALID_NAME: "id_verification_invalid_name",
    VendorCode.NO_RECORD: "id_verification_no_record",
}


@dataclass(frozen=True)
class ConfirmedId:
    """The ID card fields as the customer confirmed (or corrected) them, plus what AML asks."""

    name: str
    id_number: str
    address: str
    validity: str
    occupation: str
    sex: str | None = None
    ethnicity: str | None = None
    declared_residence: str | None = None


def _validity(text: str) -> IdValidity | None:
    try:
        return parse_id_validity(text)
    except ValidationFailed:
        return None


def upload_id(
    svc: Onboarding, *, customer_id: str, application_id: str, front: bytes, back: bytes
) -> tuple[Application, IdCardText]:
    """Read both sides of the ID card; the fields come back for the customer to confirm."""
    states = ONLY({ApplicationState.STARTED, ApplicationState.ID_CAPTURED})

    def run() -> tuple[Application, IdCardText]:
        if max(len(front), len(back)) > svc.policy.max_image_bytes:
            raise ImageTooLarge(limit=svc.policy.max_image_bytes)
        app = read(svc, application_id, customer_id=customer_id, states=states)
        ocr = svc.providers.ocr
        result = ocr.read_id_card(front=front, back=back)
        raise_if_unavailable(ocr.name, result.code)

        def apply(session: Session) -> GreenbankError | None:
            now = svc.clock.now()
            row = load(session, app.id, customer_id=customer_id, states=states, version=app.version)
            ok = result.code is VendorCode.OK and bool(result.fields.id_number)
            check(
                session,
                now,
                row,
                CheckKind.OCR,
                ocr.name,
                result.code.value,
                ok,
                confidence=result.confidence,
            )
            if not ok:
                return OcrUnreadable(vendor_code=result.code.value)
            text = result.fields
            validity = _validity(text.validity)
            row.name = text.name or None
            row.id_number = normalise_id_number(text.id_number)
            row.address = text.address or None
            row.sex = SEX.get(text.sex)
            row.ethnicity = text.ethnicity[:20] or None
            row.id_valid_from = validity.start if validity else None
            row.id_valid_to = validity.end if validity else None
            row.ocr_fields = {
                "name": mask_name(text.name),
                "validity": text.validity,
                "id_number": mask_id_number(text.id_number),
                "sex": text.sex,
            }
            move(row, ApplicationState.ID_CAPTURED, now)
            return None

        commit_then_raise(svc, apply)
        return get_detached(svc, customer_id, application_id), result.fields

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.id.uploaded",
        subject=application_id,
        fn=run,
    )


def get_detached(svc: Onboarding, customer_id: str, application_id: str) -> Application:
    with svc.uow() as work:
        app = load(work.session, application_id, customer_id=customer_id)
        work.session.expunge(app)
        return app


def confirm_id(
    svc: Onboarding, *, customer_id: str, application_id: str, fields: ConfirmedId
) -> Application:
    """Check the confirmed fields, then 联网核查 (name + ID number) with the registry."""
    states = ONLY({ApplicationState.ID_CAPTURED})
    actor = actor_of(customer_id)

    def run() -> Application:
        today = business_date(svc.clock.now())
        name = validate_name(fields.name)
        id_number = parse_id_number(fields.id_number, on=today)
        validity = parse_id_validity(fields.validity)
        check_id_not_expired(validity, today)
        check_age(
            id_number.birth_date, today, min_age=svc.policy.min_age, max_age=svc.policy.max_age
        )
        if fields.sex is not None and fields.sex != id_number.sex.value:
            raise IdFieldsInconsistent("the sex does not match the ID number", field="sex")
        if validity.start < id_number.birth_date:
            raise IdFieldsInconsistent("the card was issued before birth", field="validity")
        id_bidx = svc.index(id_number.value, "id_number")
        app = read(svc, application_id, customer_id=customer_id, states=states)
        transact(svc, lambda s: _person_is_free(s, app, id_bidx))
        vendor = svc.providers.id_check
        result = vendor.check(name=name, id_number=id_number.value)
        raise_if_unavailable(vendor.name, result.code)

        def apply(session: Session) -> GreenbankError | None:
            now = svc.clock.now()
            row = load(session, app.id, customer_id=customer_id, states=states, version=app.version)
            ok = result.code is VendorCode.OK
            check(session, now, row, CheckKind.ID_VERIFICATION, vendor.name, result.code.value, ok)
            if not ok:
                reason = ID_CHECK_REFUSALS.get(result.code, "id_verification_failed")
                refuse(session, svc, row, reason, actor)
                return refusal(reason, vendor_code=result.code.value)
            corrected = _corrections(row, name, id_number.value, fields, validity)
            check(
                session,
                now,
                row,
                CheckKind.ID_CONFIRMATION,
                "customer",
                "confirmed",
                True,
                corrected=corrected,
            )
            row.name, row.id_number = name, id_number.value
            row.address = fields.address.strip()
            row.sex, row.nationality = id_number.sex.value, "CHN"
            row.ethnicity = fields.ethnicity or row.ethnicity
            row.id_valid_from, row.id_valid_to = validity.start, validity.end
            row.occupation = fields.occupation.strip()
            row.declared_residence = fields.declared_residence or None
            row.region_code = id_number.region_code
            row.open_person_slot = id_bidx
            record_velocity(
                session, application_id=row.id, subject=RiskSubject.ID_NUMBER, key=id_bidx, at=now
            )
            move(row, ApplicationState.ID_VERIFIED, now)
            try:
                session.flush()
            except IntegrityError:
                raise ApplicationInProgress() from None
            return None

        commit_then_raise(svc, apply)
        return get_detached(svc, customer_id, application_id)

    return audited(svc, actor=actor, action="accounts.id.confirmed", subject=application_id, fn=run)


def _person_is_free(session: Session, app: Application, id_bidx: str) -> None:
    other_app = session.scalar(
        select(Application.id).where(
            Application.open_person_slot == id_bidx, Application.id != app.id
        )
    )
    if other_app is not None:
        raise ApplicationInProgress("another application for this ID number is open")
    holder = session.scalar(select(Customer.id).where(Customer.id_number_bidx == id_bidx))
    if holder is not None and holder != app.customer_id:
        raise IdNumberInUse()


def _corrections(
    row: Application, name: str, id_number: str, fields: ConfirmedId, validity: IdValidity
) -> list[str]:
    """Names of the fields the customer changed from what OCR read (values stay out)."""
    changed = []
    if not (row.name and names_match(row.name, name)):
        changed.append("name")
    if row.id_number != id_number:
        changed.append("id_number")
    if (row.address or "") != fields.address.strip():
        changed.append("address")
    if (row.id_valid_from, row.id_valid_to) != (validity.start, validity.end):
        changed.append("validity")
    if fields.ethnicity and fields.ethnicity != row.ethnicity:
        changed.append("ethnicity")
    return changed


def face_challenge(svc: Onboarding, *, customer_id: str, application_id: str) -> LivenessChallenge:
    """A fresh liveness challenge (token + actions); an earlier one stops working."""
    states = ONLY({ApplicationState.ID_VERIFIED})

    def run() -> LivenessChallenge:
        app = read(svc, application_id, customer_id=customer_id, states=states)
        challenge = svc.providers.face.challenge(now=svc.clock.now())

        def apply(session: Session) -> None:
            row = load(session, app.id, customer_id=customer_id, states=states)
            require_consent(session, customer_id, row.id, ConsentKind.SENSITIVE_FACE)
            row.liveness_token_hash = sm3(challenge.token.encode()).hex()
            row.liveness_actions = list(challenge.actions)
            row.liveness_expires_at = challenge.expires_at

        transact(svc, apply)
        return challenge

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.face.challenge",
        subject=application_id,
        fn=run,
    )


def verify_face(
    svc: Onboarding, *, customer_id: str, application_id: str, token: str, selfie: bytes
) -> Application:
    """Liveness + portrait match; only the vendor's template id is kept, never the selfie."""
    states = ONLY({ApplicationState.ID_VERIFIED})
    actor = actor_of(customer_id)
    policy = svc.policy

    def run() -> Application:
        if len(selfie) > policy.max_image_bytes:
            raise ImageTooLarge(limit=policy.max_image_bytes)
        app = read(svc, application_id, customer_id=customer_id, states=states)
        expected = app.liveness_token_hash or ""
        given = sm3(token.encode()).hex()
        expired = app.liveness_expires_at is None or app.liveness_expires_at <= svc.clock.now()
        if expired or not hmac.compare_digest(expected, given):
            raise LivenessChallengeInvalid()
        assert app.name and app.id_number
        face = svc.providers.face
        result = face.verify(
            token=token,
            actions=tuple(app.liveness_actions or ()),
            selfie=selfie,
            name=app.name,
            id_number=app.id_number,
        )
        raise_if_unavailable(face.name, result.code)

        def apply(session: Session) -> GreenbankError | None:
            now = svc.clock.now()
            row = load(session, app.id, customer_id=customer_id, states=states, version=app.version)
            require_consent(session, customer_id, row.id, ConsentKind.SENSITIVE_FACE)
            row.liveness_token_hash = row.liveness_actions = row.liveness_expires_at = None
            row.face_attempts += 1
            similarity = result.similarity or 0
            ok = result.code is VendorCode.OK and similarity >= policy.face_threshold
            check(
                session,
                now,
                row,
                CheckKind.FACE,
                face.name,
                result.code.value,
                ok,
                similarity=result.similarity,
                threshold=policy.face_threshold,
            )
            row.version += 1
            if ok:
                row.face_template, row.face_similarity = result.template_id, similarity
                move(row, ApplicationState.FACE_VERIFIED, now)
                return None
            left = policy.face_max_attempts - row.face_attempts
            if left <= 0:
                reason = (
                    "liveness_failed"
                    if result.code is VendorCode.LIVENESS_FAILED
                    else ("face_mismatch")
                )
                refuse(session, svc, row, reason, actor)
                return refusal(reason, vendor_code=result.code.value)
            return FaceCheckFailed(vendor_code=result.code.value, attempts_left=left)

        commit_then_raise(svc, apply)
        return get_detached(svc, customer_id, application_id)

    return audited(
        svc, actor=actor, action="accounts.face.verified", subject=application_id, fn=run
    )
