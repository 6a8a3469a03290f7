"""Donating points to public-welfare projects (tree planting and the like).

A donation retires the points, advances the project's progress and records a certificate number,
in one transaction under the customer's carbon-account lock (so a retried key is exact). The
project row is updated by a conditional ``UPDATE``: a project never takes more units than its
target, however many donors race for the last ones.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, exists, select, update
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.ids import new_id
from greenbank.receipts.pki import SealIdentity
from greenbank.rewards import carbon_port
from greenbank.rewards.certificate import CertificateData, sealed_certificate
from greenbank.rewards.common import (
    IdempotencyKeyReused,
    RewardNotFound,
    check_key,
    command,
    fingerprint,
    read,
)
from greenbank.rewards.domain import ItemInvalid, ItemStatus, NotOnSale
from greenbank.rewards.models import Donation, Project
from greenbank.rewards.schemas import DonateIn, DonationOut, ProjectIn, ProjectOut

PROJECTS = cast(Table, Project.__table__)


class ProjectFullyFunded(NotOnSale):
    code = "reward_project_fully_funded"
    title = "The project needs fewer units than that"


def project_by_code(session: Session, code: str) -> Project:
    project = session.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise RewardNotFound(f"no project {code!r}", project_code=code)
    return project


def create_project(*, uow: UowFactory, clock: Clock, spec: ProjectIn, by: str) -> ProjectOut:
    def work(session: Session) -> ProjectOut:
        if session.scalar(select(Project.id).where(Project.code == spec.code)):
            raise ItemInvalid(f"project code {spec.code!r} is taken")
        now = clock.now()
        project = Project(
            **spec.model_dump(),
            funded_units=0,
            donors=0,
            status=ItemStatus.ACTIVE.value,
            created_at=now,
            updated_at=now,
        )
        session.add(project)
        session.flush()
        return ProjectOut.model_validate(project)

    return command(uow, clock, work, actor=by, action="rewards.project.create", subject=spec.code)


def list_projects(*, uow: UowFactory) -> list[ProjectOut]:
    return read(
        uow,
        lambda s: [
            ProjectOut.model_validate(p) for p in s.scalars(select(Project).order_by(Project.code))
        ],
    )


def _out(donation: Donation, project: Project, *, replayed: bool = False) -> DonationOut:
    return DonationOut(
        id=donation.id,
        project_code=project.code,
        project_name=project.name,
        unit_name=project.unit_name,
        units=donation.units,
        points=donation.points,
        certificate_no=donation.certificate_no,
        created_at=donation.created_at,
        replayed=replayed,
    )


def donate(
    *, uow: UowFactory, clock: Clock, customer_id: str, request: DonateIn, idempotency_key: str
) -> DonationOut:
    """Give points to a project; a retried key returns the first donation."""
    key = check_key(idempotency_key)
    print_ = fingerprint(**request.model_dump())

    def work(session: Session) -> DonationOut:
        carbon_port.shopper(session, customer_id)  # the customer's lock
        earlier = session.scalar(
            select(Donation).where(
                Donation.customer_id == customer_id, Donation.idempotency_key == key
            )
        )
        if earlier is not None:
            if earlier.fingerprint != print_:
                raise IdempotencyKeyReused(donation_id=earlier.id)
            return _out(earlier, session.get_one(Project, earlier.project_id), replayed=True)
        project = project_by_code(session, request.project_code)
        if project.status != ItemStatus.ACTIVE:
            raise NotOnSale(f"project {project.code} is {project.status}")
        points = project.points_per_unit * request.units
        donation_id, now = new_id(), clock.now()
        carbon_port.retire(
            session,
            clock,
            customer_id=customer_id,
            points=points,
            key=f"rewards:donation:{donation_id}",
            reason=f"donation {project.code} x{request.units}",
        )
        first = not session.scalar(
            select(
                exists().where(
                    Donation.customer_id == customer_id, Donation.project_id == project.id
                )
            )
        )
        funded = session.execute(
            update(PROJECTS)
            .where(
                PROJECTS.c.id == project.id,
                PROJECTS.c.funded_units + request.units <= PROJECTS.c.target_units,
            )
            .values(
                funded_units=PROJECTS.c.funded_units + request.units,
                donors=PROJECTS.c.donors + int(first),
                updated_at=now,
            )
        )
        if funded.rowcount != 1:  # type: ignore[attr-defined]
            raise ProjectFullyFunded(project_code=project.code)
        donation = Donation(
            id=donation_id,
            customer_id=customer_id,
            project_id=project.id,
            units=request.units,
            points=points,
            idempotency_key=key,
            fingerprint=print_,
            certificate_no=f"DC{business_date(now):%Y%m%d}{donation_id[-12:].upper()}",
            created_at=now,
        )
        session.add(donation)
        session.flush()
        return _out(donation, project)

    return command(
        uow,
        clock,
        work,
        actor=f"customer:{customer_id}",
        action="rewards.donate",
        subject=request.project_code,
        units=request.units,
    )


def list_donations(*, uow: UowFactory, customer_id: str) -> list[DonationOut]:
    def work(session: Session) -> list[DonationOut]:
        rows = session.execute(
            select(Donation, Project)
            .join(Project, Project.id == Donation.project_id)
            .where(Donation.customer_id == customer_id)
            .order_by(Donation.id.desc())
        ).all()
        return [_out(d, p) for d, p in rows]

    return read(uow, work)


def certificate(
    *,
    uow: UowFactory,
    customer_id: str,
    donation_id: str,
    bank_name: str,
    identity: SealIdentity,
) -> bytes:
    """The customer's sealed certificate for one donation (rendered on request)."""

    def work(session: Session) -> CertificateData:
        donation = session.get(Donation, donation_id)
        if donation is None or donation.customer_id != customer_id:
            raise RewardNotFound(f"no donation {donation_id}")
        project = session.get_one(Project, donation.project_id)
        return CertificateData(
            certificate_no=donation.certificate_no,
            donor=f"客户 {customer_id[-4:]}",
            project=project.name,
            partner=project.partner,
            units=donation.units,
            unit_name=project.unit_name,
            points=donation.points,
            donated_at=donation.created_at,
        )

    data = read(uow, work)
    return sealed_certificate(data, bank_name=bank_name, identity=identity)
