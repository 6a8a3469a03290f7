"""Helpers for the partner tests: an approved partner with a fresh SM2 key, an SDK client on the
test app, a customer who authorised the partner (service calls, so each test starts where it
needs to)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx

from greenbank.bootstrap import Container
from greenbank.carbon import consent
from greenbank.carbon.catalog import install_v1
from greenbank.clock import FixedClock
from greenbank.crypto import SM2PrivateKey
from greenbank.partners import authorisations, registry
from greenbank.partners.gateway import Caller
from greenbank.partners.runtime import runtime
from greenbank.partners.signing import key_serial
from greenbank_sdk import GreenbankClient, load_private_key, load_public_key
from greenbank_sdk.client import key_serial as sdk_serial


@dataclass
class PartnerUnderTest:
    id: str
    key: SM2PrivateKey
    serial: str
    sandbox: bool

    @property
    def caller(self) -> Caller:
        return Caller(self.id, self.sandbox, ("metro_trip", "bike_trip"), self.serial)


def install_carbon(container: Container) -> None:
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="test")
        uow.commit()


def onboard(
    container: Container,
    partner_id: str = "metro-sz",
    *,
    sandbox: bool = False,
    scenarios: Sequence[str] = ("metro_trip", "bike_trip"),
    rate_limit: int = 600,
    ip_allow_list: Sequence[str] = (),
) -> PartnerUnderTest:
    key = SM2PrivateKey.generate()
    profile = registry.Profile(
        name=f"{partner_id} metro",
        sandbox=sandbox,
        scenarios=scenarios,
        rate_limit_per_minute=rate_limit,
        ip_allow_list=ip_allow_list,
    )
    registry.create(
        container,
        actor="maker",
        partner_id=partner_id,
        profile=profile,
        public_key_pem=key.public_key().to_pem().decode(),
    )
    registry.approve(container, actor="checker", partner_id=partner_id)
    return PartnerUnderTest(partner_id, key, key_serial(key.public_key()), sandbox)


def sdk(container: Container, http: httpx.Client, partner: PartnerUnderTest) -> GreenbankClient:
    platform = load_public_key(runtime(container).keys.current.public_pem.encode())
    clock = container.clock
    return GreenbankClient(
        "http://testserver",
        partner_id=partner.id,
        serial_no=partner.serial,
        signer=load_private_key(partner.key.to_pem()),
        platform_keys={sdk_serial(platform): platform},
        http=http,
        now=lambda: clock.now().timestamp(),
    )


def authorised_customer(
    container: Container,
    caller: Caller,
    customer_id: str = "cust-1",
    scenarios: Sequence[str] = ("metro_trip",),
    *,
    open_account: bool = True,
) -> tuple[str, str]:
    """A customer with a carbon account who approved the partner: (customer token,
    authorisation id). The clock moves on an hour so later events fall inside the consent."""
    if open_account:
        consent.open_account(
            container.uow,
            container.clock,
            customer_id=customer_id,
            accept_terms=True,
            terms_version=consent.TERMS_VERSION,
        )
    with container.uow() as uow:
        asked = authorisations.start(
            uow.session,
            container,
            caller,
            scenarios=scenarios,
            state="s",
            redirect_uri=None,
            phone_encrypted=None,
            platform_serial=None,
        )
        uow.commit()
    approval = authorisations.approve(container, customer_id=customer_id, request_id=asked.id)
    grant = authorisations.exchange(container, caller, code=approval.code)
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=1))
    return grant.customer_token, grant.authorisation_id
