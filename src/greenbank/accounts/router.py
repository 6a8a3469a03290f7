"""Customer HTTP API for opening a Class II account: ``/api/v1/accounts/applications``.

Every POST takes an optional ``Idempotency-Key`` header: repeating a request with the same key
returns the first answer (``Idempotent-Replayed: true``). ``X-Device-Id`` carries the app's
device fingerprint for the anti-fraud checks.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from greenbank.accounts import (
    card_steps,
    consents,
    kyc_steps,
    onboarding,
    review,
    staff_router,
    wiring,
)
from greenbank.accounts.models import ConsentKind
from greenbank.accounts.router_common import COMMON, DeviceId, IdempotencyKey, answer
from greenbank.accounts.schemas import (
    ApplicationOut,
    BindCardIn,
    CardCodeIn,
    CardCodeOut,
    ChallengeOut,
    ConfirmIdIn,
    IdCardOut,
    RevokeConsentIn,
    RevokedOut,
    StartIn,
    problems,
)
from greenbank.api.deps import ContainerDep
from greenbank.errors import NotFound
from greenbank.identity.deps import CurrentCustomer, client_ip

customer = APIRouter(prefix="/api/v1/accounts", tags=["Class II account opening"])


@customer.post(
    "/applications",
    name="accounts.applications.start",
    summary="Start an application (consents)",
    description="Records the three consents with the versions shown and opens an application. "
    "One open application per person; at most one open Class II account per person.",
    status_code=201,
    response_model=ApplicationOut,
    responses={
        **COMMON,
        409: problems(
            "Already applying or has an account.",
            "application_in_progress",
            "account_limit_reached",
            "idempotency_key_reused",
        ),
        422: problems(
            "Consents missing or outdated.", "consent_required", "consent_version_outdated"
        ),
    },
)
def start(
    body: StartIn,
    request: Request,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey = None,
    device: DeviceId = None,
) -> JSONResponse:
    def run() -> dict[str, Any]:
        app = onboarding.start(
            wiring.onboarding(container),
            customer_id=me.id,
            consents=body.consents,
            device=device,
            client_ip=client_ip(request),
        )
        return ApplicationOut.of(app).model_dump(mode="json")

    return answer(container, me, key, "start", run, status_code=201, body=body.model_dump())


@customer.get(
    "/applications/current",
    name="accounts.applications.current",
    summary="My latest application",
    response_model=ApplicationOut,
    responses=COMMON,
)
def current(me: CurrentCustomer, container: ContainerDep) -> ApplicationOut:
    app = onboarding.current(wiring.onboarding(container), customer_id=me.id)
    if app is None:
        raise NotFound("no application yet")
    return ApplicationOut.of(app)


@customer.get(
    "/applications/{application_id}",
    name="accounts.applications.get",
    summary="Where my application stands, and the next step",
    response_model=ApplicationOut,
    responses=COMMON,
)
def get(application_id: str, me: CurrentCustomer, container: ContainerDep) -> ApplicationOut:
    app = onboarding.get(
        wiring.onboarding(container), customer_id=me.id, application_id=application_id
    )
    return ApplicationOut.of(app)


@customer.post(
    "/applications/{application_id}/id-card",
    name="accounts.applications.id_card",
    summary="Upload both sides of the ID card (OCR)",
    description="Multipart `front` and `back` images. Answers with what OCR read, for the "
    "customer to check; can be repeated until the fields are confirmed.",
    response_model=IdCardOut,
    responses={**COMMON, 422: problems("Unreadable.", "ocr_unreadable", "image_too_large")},
)
def upload_id(
    application_id: str,
    me: CurrentCustomer,
    container: ContainerDep,
    front: Annotated[UploadFile, File(description="人像面 (portrait side)")],
    back: Annotated[UploadFile, File(description="国徽面 (emblem side)")],
    key: IdempotencyKey = None,
) -> JSONResponse:
    front_bytes, back_bytes = front.file.read(), back.file.read()

    def run() -> dict[str, Any]:
        app, text = kyc_steps.upload_id(
            wiring.onboarding(container),
            customer_id=me.id,
            application_id=application_id,
            front=front_bytes,
            back=back_bytes,
        )
        return IdCardOut.of(app, text).model_dump(mode="json")

    return answer(
        container,
        me,
        key,
        "id_card",
        run,
        redact=IdCardOut.redacted,
        application_id=application_id,
        front=front_bytes,
        back=back_bytes,
    )


@customer.post(
    "/applications/{application_id}/id-card/confirm",
    name="accounts.applications.id_confirm",
    summary="Confirm (or correct) the ID fields; runs 联网核查",
    response_model=ApplicationOut,
    responses={
        **COMMON,
        403: problems(
            "Refused by the ID registry.",
            "id_verification_mismatch",
            "id_verification_no_record",
            "id_verification_invalid_id",
            "id_verification_invalid_name",
        ),
        409: problems("Someone else.", "application_in_progress", "id_number_in_use", "wrong_step"),
        422: problems(
            "Bad fields.",
            "id_number_malformed",
            "id_number_checksum",
            "id_number_birth_date",
            "id_expired",
            "age_not_allowed",
            "name_malformed",
            "id_validity_malformed",
            "id_fields_inconsistent",
        ),
    },
)
def confirm_id(
    application_id: str,
    body: ConfirmIdIn,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def run() -> dict[str, Any]:
        app = kyc_steps.confirm_id(
            wiring.onboarding(container),
            customer_id=me.id,
            application_id=application_id,
            fields=kyc_steps.ConfirmedId(**body.model_dump()),
        )
        return ApplicationOut.of(app).model_dump(mode="json")

    return answer(
        container, me, key, "id_confirm", run, application_id=application_id, body=body.model_dump()
    )


@customer.post(
    "/applications/{application_id}/face/challenge",
    name="accounts.applications.face_challenge",
    summary="Get a liveness challenge (actions to perform)",
    response_model=ChallengeOut,
    responses={**COMMON, 403: problems("Face consent revoked.", "consent_revoked")},
)
def face_challenge(
    application_id: str, me: CurrentCustomer, container: ContainerDep
) -> ChallengeOut:
    challenge = kyc_steps.face_challenge(
        wiring.onboarding(container), customer_id=me.id, application_id=application_id
    )
    return ChallengeOut.of(challenge)


@customer.post(
    "/applications/{application_id}/face",
    name="accounts.applications.face",
    summary="Submit the liveness capture; portrait match against the ID photo",
    description="Only the vendor's template id and the similarity are kept, never the image.",
    response_model=ApplicationOut,
    responses={
        **COMMON,
        403: problems(
            "Refused after the last attempt.", "face_mismatch", "liveness_failed", "consent_revoked"
        ),
        422: problems("Try again.", "face_mismatch", "liveness_challenge_invalid"),
    },
)
def verify_face(
    application_id: str,
    me: CurrentCustomer,
    container: ContainerDep,
    token: Annotated[str, Form(max_length=100)],
    selfie: Annotated[UploadFile, File()],
    key: IdempotencyKey = None,
) -> JSONResponse:
    image = selfie.file.read()

    def run() -> dict[str, Any]:
        app = kyc_steps.verify_face(
            wiring.onboarding(container),
            customer_id=me.id,
            application_id=application_id,
            token=token,
            selfie=image,
        )
        return ApplicationOut.of(app).model_dump(mode="json")

    return answer(
        container, me, key, "face", run, application_id=application_id, token=token, selfie=image
    )


@customer.post(
    "/applications/{application_id}/card/code",
    name="accounts.applications.card_code",
    summary="Check the card with its bank (five elements) and text a code to its mobile",
    response_model=CardCodeOut,
    responses={
        **COMMON,
        403: problems("Too many tries.", "too_many_card_attempts"),
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
def card_code(
    application_id: str,
    body: CardCodeIn,
    request: Request,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def run() -> dict[str, Any]:
        issued = card_steps.request_card_code(
            wiring.onboarding(container),
            customer_id=me.id,
            application_id=application_id,
            card_number=body.card_number,
            bank_mobile=body.bank_mobile,
            client_ip=client_ip(request),
        )
        return CardCodeOut.of(issued).model_dump(mode="json")

    return answer(
        container, me, key, "card_code", run, application_id=application_id, body=body.model_dump()
    )


@customer.post(
    "/applications/{application_id}/card",
    name="accounts.applications.card",
    summary="Bind the card: the five elements again with the SMS code",
    response_model=ApplicationOut,
    responses={
        **COMMON,
        400: problems("Wrong code.", "otp_invalid", "otp_expired", "otp_attempts_exceeded"),
        409: problems("Different card.", "card_elements_changed", "card_code_not_requested"),
    },
)
def bind_card(
    application_id: str,
    body: BindCardIn,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def run() -> dict[str, Any]:
        app = card_steps.bind_card(
            wiring.onboarding(container),
            customer_id=me.id,
            application_id=application_id,
            card_number=body.card_number,
            bank_mobile=body.bank_mobile,
            code=body.code,
        )
        return ApplicationOut.of(app).model_dump(mode="json")

    return answer(
        container, me, key, "card", run, application_id=application_id, body=body.model_dump()
    )


@customer.post(
    "/applications/{application_id}/submit",
    name="accounts.applications.submit",
    summary="Submit: anti-fraud checks, then the account opens or goes to review",
    response_model=ApplicationOut,
    responses={
        **COMMON,
        403: problems(
            "Refused.", "region_not_served", "blacklisted", "velocity_exceeded", "age_not_allowed"
        ),
    },
)
def submit(
    application_id: str, me: CurrentCustomer, container: ContainerDep, key: IdempotencyKey = None
) -> JSONResponse:
    def run() -> dict[str, Any]:
        app = review.submit(
            wiring.onboarding(container), customer_id=me.id, application_id=application_id
        )
        return ApplicationOut.of(app).model_dump(mode="json")

    return answer(container, me, key, "submit", run, application_id=application_id)


@customer.post(
    "/applications/{application_id}/cancel",
    name="accounts.applications.cancel",
    summary="Withdraw my open application",
    response_model=ApplicationOut,
    responses=COMMON,
)
def cancel(application_id: str, me: CurrentCustomer, container: ContainerDep) -> ApplicationOut:
    app = onboarding.cancel(
        wiring.onboarding(container), customer_id=me.id, application_id=application_id
    )
    return ApplicationOut.of(app)


@customer.post(
    "/consents/revoke",
    name="accounts.consents.revoke",
    summary="Withdraw a consent",
    description="Open applications are cancelled; withdrawing the face consent also deletes "
    "the stored face templates.",
    response_model=RevokedOut,
    responses=COMMON,
)
def revoke(body: RevokeConsentIn, me: CurrentCustomer, container: ContainerDep) -> RevokedOut:
    count = consents.revoke_consent(
        wiring.onboarding(container), customer_id=me.id, kind=ConsentKind(body.kind)
    )
    return RevokedOut(revoked=count)


router = APIRouter()
router.include_router(customer)
router.include_router(staff_router.router)
