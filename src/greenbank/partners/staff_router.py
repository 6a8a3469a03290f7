"""Staff console routes for the partner registry (maker: ``partners.manage``; checker:
``partners.approve``, who must be another person)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentStaff, StaffPrincipal, require_permission
from greenbank.identity.errors import MissingPermission
from greenbank.partners import gateway, registry
from greenbank.partners.schemas import (
    DecisionIn,
    KeyIn,
    KeyOut,
    PartnerIn,
    PartnerOut,
    ProfileIn,
    RefusalOut,
)

router = APIRouter(prefix="/api/v1/staff/partners", tags=["staff: partners"])
Maker = Annotated[StaffPrincipal, require_permission("partners.manage")]
Checker = Annotated[StaffPrincipal, require_permission("partners.approve")]


def _out(view: registry.PartnerView) -> PartnerOut:
    return PartnerOut.model_validate(view, from_attributes=True)


def _reader(staff: StaffPrincipal) -> None:
    if not staff.permissions & {"partners.manage", "partners.approve"}:
        raise MissingPermission("needs partners.manage or partners.approve")


def _profile(body: ProfileIn) -> registry.Profile:
    return registry.Profile(
        name=body.name,
        sandbox=body.sandbox,
        scenarios=body.scenarios,
        redirect_uris=body.redirect_uris,
        ip_allow_list=body.ip_allow_list,
        rate_limit_per_minute=body.rate_limit_per_minute,
    )


@router.post("", status_code=201, response_model=PartnerOut, name="partners.create")
def create(body: PartnerIn, staff: Maker, container: ContainerDep) -> PartnerOut:
    """Propose a partner with its first SM2 public key; inert until a checker approves."""
    view = registry.create(
        container,
        actor=staff.username,
        partner_id=body.id,
        profile=_profile(body),
        public_key_pem=body.public_key_pem,
    )
    return _out(view)


@router.get("", response_model=list[PartnerOut], name="partners.list")
def list_partners(staff: CurrentStaff, container: ContainerDep) -> list[PartnerOut]:
    _reader(staff)
    return [_out(view) for view in registry.list_all(container)]


@router.get("/{partner_id}", response_model=PartnerOut, name="partners.show")
def show(partner_id: str, staff: CurrentStaff, container: ContainerDep) -> PartnerOut:
    _reader(staff)
    return _out(registry.get(container, partner_id))


@router.post("/{partner_id}/approve", response_model=PartnerOut, name="partners.approve")
def approve(
    partner_id: str, body: DecisionIn, staff: Checker, container: ContainerDep
) -> PartnerOut:
    view = registry.approve(
        container, actor=staff.username, partner_id=partner_id, approve=body.approve
    )
    return _out(view)


@router.post("/{partner_id}/changes", response_model=PartnerOut, name="partners.change.propose")
def propose_change(
    partner_id: str, body: ProfileIn, staff: Maker, container: ContainerDep
) -> PartnerOut:
    view = registry.propose_change(
        container, actor=staff.username, partner_id=partner_id, profile=_profile(body)
    )
    return _out(view)


@router.post(
    "/{partner_id}/changes/approve", response_model=PartnerOut, name="partners.change.approve"
)
def approve_change(
    partner_id: str, body: DecisionIn, staff: Checker, container: ContainerDep
) -> PartnerOut:
    view = registry.approve_change(
        container, actor=staff.username, partner_id=partner_id, approve=body.approve
    )
    return _out(view)


@router.post("/{partner_id}/suspend", response_model=PartnerOut, name="partners.suspend")
def suspend(partner_id: str, staff: Maker, container: ContainerDep) -> PartnerOut:
    """Stop the partner's traffic at once."""
    return _out(
        registry.set_status(container, actor=staff.username, partner_id=partner_id, suspend=True)
    )


@router.post("/{partner_id}/resume", response_model=PartnerOut, name="partners.resume")
def resume(partner_id: str, staff: Checker, container: ContainerDep) -> PartnerOut:
    return _out(
        registry.set_status(container, actor=staff.username, partner_id=partner_id, suspend=False)
    )


@router.post("/{partner_id}/keys", status_code=201, response_model=KeyOut, name="partners.keys.add")
def add_key(partner_id: str, body: KeyIn, staff: Maker, container: ContainerDep) -> KeyOut:
    key = registry.in_own_transaction(
        container,
        lambda session, clock: registry.add_key(
            session,
            clock,
            actor=staff.username,
            partner_id=partner_id,
            public_key_pem=body.public_key_pem,
        ),
    )
    return KeyOut.model_validate(key, from_attributes=True)


@router.delete("/{partner_id}/keys/{serial_no}", response_model=KeyOut, name="partners.keys.revoke")
def revoke_key(partner_id: str, serial_no: str, staff: Maker, container: ContainerDep) -> KeyOut:
    key = registry.in_own_transaction(
        container,
        lambda session, clock: registry.revoke_key(
            session, clock, actor=staff.username, partner_id=partner_id, serial_no=serial_no
        ),
    )
    return KeyOut.model_validate(key, from_attributes=True)


@router.get("/{partner_id}/refusals", response_model=list[RefusalOut], name="partners.refusals")
def refusals(partner_id: str, staff: CurrentStaff, container: ContainerDep) -> list[RefusalOut]:
    _reader(staff)
    return [
        RefusalOut.model_validate(r, from_attributes=True)
        for r in gateway.refusals(container, partner_id)
    ]
