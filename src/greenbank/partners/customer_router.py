"""Customer routes: approve or deny a partner's consent request, see and revoke authorisations."""

from __future__ import annotations

from fastapi import APIRouter

from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentCustomer
from greenbank.partners import authorisations
from greenbank.partners.schemas import (
    ApprovalOut,
    AuthorisationRequestOut,
    CustomerAuthorisationOut,
)

router = APIRouter(prefix="/api/v1/me/partner-authorisations", tags=["partner authorisations"])


def _request_out(view: authorisations.RequestView) -> AuthorisationRequestOut:
    return AuthorisationRequestOut(
        request_id=view.id,
        partner_id=view.partner_id,
        partner_name=view.partner_name,
        scenarios=view.scenarios,
        status=view.status,
        expires_at=view.expires_at,
    )


@router.get("/requests/{request_id}", response_model=AuthorisationRequestOut)
def show_request(
    request_id: str, me: CurrentCustomer, container: ContainerDep
) -> AuthorisationRequestOut:
    """What the partner asks for: its name and the scenarios."""
    return _request_out(authorisations.get_request(container, request_id))


@router.post("/requests/{request_id}/approve", response_model=ApprovalOut)
def approve(request_id: str, me: CurrentCustomer, container: ContainerDep) -> ApprovalOut:
    """Authorise the partner (grants the carbon consent); hand ``code`` and ``state`` to the
    partner, e.g. by following ``redirect_uri``."""
    approval = authorisations.approve(container, customer_id=me.id, request_id=request_id)
    return ApprovalOut(code=approval.code, state=approval.state, redirect_uri=approval.redirect_uri)


@router.post("/requests/{request_id}/deny", response_model=AuthorisationRequestOut)
def deny(request_id: str, me: CurrentCustomer, container: ContainerDep) -> AuthorisationRequestOut:
    return _request_out(authorisations.deny(container, customer_id=me.id, request_id=request_id))


@router.get("", response_model=list[CustomerAuthorisationOut])
def list_mine(me: CurrentCustomer, container: ContainerDep) -> list[CustomerAuthorisationOut]:
    views = authorisations.list_for_customer(container, customer_id=me.id)
    return [CustomerAuthorisationOut.model_validate(v, from_attributes=True) for v in views]


@router.delete("/{authorisation_id}", response_model=CustomerAuthorisationOut)
def revoke(
    authorisation_id: str, me: CurrentCustomer, container: ContainerDep
) -> CustomerAuthorisationOut:
    """Revoke at once: the partner's token stops working and its carbon consents end."""
    view = authorisations.revoke(container, customer_id=me.id, authorisation_id=authorisation_id)
    return CustomerAuthorisationOut.model_validate(view, from_attributes=True)
