"""Ingestion through the database: credits, each rejection code, idempotency, points, counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carbon_db_support import event, open_with
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.ingest_rows import fingerprint
from greenbank.carbon.models import CarbonAccount, Counter, Entry, EventRow, Rejection


def _ingest(container: Container, *events: object) -> list:  # type: ignore[type-arg]
    return ingest_events(container.uow, container.clock, list(events))  # type: ignore[arg-type]


def _credited(container: Container, customer: str) -> int:
    with container.uow() as uow:
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Entry.co2e_mg), 0)).where(Entry.customer_id == customer)
        )
        return int(total or 0)


def test_a_metro_trip_is_credited_with_points_and_totals(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["metro_trip"])
    now = carbon.clock.now()
    [result] = _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": "12.5"}))
    assert (result.outcome, result.credited_mg, result.reason) == ("accepted", 583_750, None)
    assert result.provisional is False
    with carbon.uow() as uow:
        account = uow.session.get(CarbonAccount, "c1")
        assert account is not None
        # 583.75 g at 1 point per 10 g: 58 points, 3.75 g carried.
        assert (account.lifetime_mg, account.points_balance, account.carried_mg) == (
            583_750,
            58,
            3_750,
        )
        entry = uow.session.get(Entry, result.entry_id)
        assert entry is not None
        assert entry.explanation == "12.5 km × 46.7 g/pkm = 583.75 g"
        assert entry.parameters == {"factor_g_per_pkm": "46.7"}
        assert (entry.methodology_version, entry.event_id) == (1, result.event_id)


def test_each_rejection_has_its_code_and_nothing_is_credited_twice(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit", "metro_trip"])
    open_with(carbon, "c2")  # account open, no consent
    now = carbon.clock.now()
    ok = event("d1", "c1", "online_deposit", now)
    results = _ingest(
        carbon,
        ok,
        event("d1", "c1", "online_deposit", now),  # same key again in the batch
        event("d2", "c1", "online_deposit", now - timedelta(minutes=1)),
        event("d3", "c1", "online_deposit", now - timedelta(minutes=2)),  # cap: 2 a day
        event("d4", "c2", "online_deposit", now),  # no consent
        event("d5", "c1", "online_deposit", now - timedelta(days=8)),  # older than 7 days
        event("m1", "c1", "metro_trip", now, {"distance_km": "-3"}),  # out of range
        event("m2", "c1", "metro_trip", now, {"km": 3}),  # unknown input
    )
    codes = [(r.outcome, r.reason) for r in results]
    assert codes == [
        ("accepted", None),
        ("rejected", "duplicate"),
        ("accepted", None),
        ("rejected", "over_cap"),
        ("rejected", "unconsented"),
        ("rejected", "late_event"),
        ("rejected", "malformed"),
        ("rejected", "malformed"),
    ]
    assert results[0].credited_mg == 89_000 and results[0].provisional
    assert _credited(carbon, "c1") == 178_000

    again = _ingest(carbon, ok, event("d3", "c1", "online_deposit", now - timedelta(minutes=2)))
    assert [(r.reason, r.first.outcome if r.first else None) for r in again] == [
        ("duplicate", "accepted"),
        ("duplicate", "rejected"),
    ]
    assert again[0].first is not None and again[0].first.credited_mg == 89_000
    assert again[0].event_id == results[0].event_id
    assert _credited(carbon, "c1") == 178_000
    with carbon.uow() as uow:
        reasons = uow.session.execute(
            select(Rejection.reason, func.count()).group_by(Rejection.reason)
        ).all()
        assert dict(reasons) == {  # type: ignore[arg-type]
            "duplicate": 3,
            "over_cap": 1,
            "unconsented": 1,
            "late_event": 1,
            "malformed": 2,
        }
        # Malformed events leave their key free so the sender can correct them.
        stored = set(uow.session.scalars(select(EventRow.source_event_id)))
        assert stored == {"d1", "d2", "d3", "d4", "d5"}


def test_a_corrected_malformed_event_can_be_resent(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["metro_trip"])
    now = carbon.clock.now()
    [bad] = _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": "abc"}))
    [good] = _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": 10}))
    assert (bad.reason, good.outcome, good.credited_mg) == ("malformed", "accepted", 467_000)


def test_same_key_with_different_content_is_a_duplicate_not_a_retry(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["metro_trip"])
    now = carbon.clock.now()
    _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": 10}))
    [clash] = _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": 20}))
    assert clash.reason == "duplicate" and clash.first is not None
    assert _credited(carbon, "c1") == 467_000


def test_the_stored_fingerprint_of_an_event_never_changes() -> None:
    # A retry is recognised by comparing with fingerprints stored by earlier releases.
    at = datetime(2026, 1, 10, 2, 30, tzinfo=UTC)
    metro = event("m1", "cust-1", "metro_trip", at, {"distance_km": "12.5"})
    assert fingerprint(metro) == (
        "1d29b5576d30ca60ebfa3f1b7a7fe1dca9085142b7e1cffb53d0d1a2c110a6c5"
    )


def test_revocation_stops_collection_from_then_on(carbon: Container) -> None:
    from greenbank.carbon import consent

    open_with(carbon, "c1", scenarios=["e_receipt"])
    during = carbon.clock.now() - timedelta(minutes=30)  # granted an hour ago
    [view] = consent.list_consents(carbon.uow, customer_id="c1")
    consent.revoke(carbon.uow, carbon.clock, customer_id="c1", consent_id=view.id)
    after = carbon.clock.now()
    results = _ingest(
        carbon,
        event("r1", "c1", "e_receipt", during),  # consent was in force then
        event("r2", "c1", "e_receipt", after),
    )
    assert [r.reason for r in results] == [None, "unconsented"]


def test_walking_grams_cap_credits_the_room_left_and_counters_persist(carbon: Container) -> None:
    open_with(carbon, "c1", source="steps-app", scenarios=["walking"])
    now = carbon.clock.now()
    first = _ingest(carbon, event("w1", "c1", "walking", now, {"steps": 10000}, "steps-app"))
    second = _ingest(carbon, event("w2", "c1", "walking", now, {"steps": 3000}, "steps-app"))
    third = _ingest(carbon, event("w3", "c1", "walking", now, {"steps": 100}, "steps-app"))
    # 10000 steps = 256 g; the day allows 296 g: 40 g room for the next 76.8 g, then nothing.
    assert first[0].credited_mg == 256_000
    assert (second[0].credited_mg, second[0].capped) == (40_000, True)
    assert third[0].reason == "over_cap"
    with carbon.uow() as uow:
        day = uow.session.get(Counter, ("c1", "walking", "day:2026-03-02"))
        assert day is not None and (day.events, day.co2e_mg) == (2, 296_000)


def test_counters_add_up_across_batches_whether_a_cap_reads_them_or_not(
    carbon: Container,
) -> None:
    # metro_trip's cap reads the day counter; month and lifetime are only added to.
    open_with(carbon, "c1", scenarios=["metro_trip"])
    now = carbon.clock.now()
    _ingest(carbon, event("m1", "c1", "metro_trip", now, {"distance_km": 10}))
    _ingest(
        carbon,
        event("m2", "c1", "metro_trip", now, {"distance_km": 20}),
        event("m3", "c1", "metro_trip", now, {"distance_km": 30}),
    )
    with carbon.uow() as uow:
        stored = {
            c.period: (c.events, c.co2e_mg)
            for c in uow.session.scalars(select(Counter).where(Counter.customer_id == "c1"))
        }
    assert stored == {
        "day:2026-03-02": (3, 2_802_000),
        "month:2026-03": (3, 2_802_000),
        "lifetime": (3, 2_802_000),
    }


def test_events_of_customers_without_an_account_are_unconsented(carbon: Container) -> None:
    [result] = _ingest(carbon, event("x1", "nobody", "e_receipt", carbon.clock.now()))
    assert result.reason == "unconsented"


def test_a_disabled_scenario_has_no_methodology(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["nev_trip"])
    [result] = _ingest(
        carbon, event("n1", "c1", "nev_trip", carbon.clock.now(), {"distance_km": 1})
    )
    assert result.reason == "no_methodology"
