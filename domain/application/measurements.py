"""Measurement use cases: single and batch ingestion, exactly once, and corrections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.application.core import ApplicationCore
from domain.application.idempotency import Idempotency
from domain.application.records import (
    BatchOutcome,
    MeasurementOutcome,
    Written,
    check_observed,
    check_same_figures,
    measurement_record,
)
from domain.application.unit_of_work import INGEST
from domain.benefit import Benefit
from domain.errors import (
    ExternalIdConflictError,
    NotFoundError,
    RuleViolationError,
    ValidationError,
)
from domain.receipt import Receipt, receipt_id
from domain.values import Meta


class MeasurementUseCases(ApplicationCore):
    """Measurement use cases: single and batch ingestion, exactly once, and corrections."""

    # -- measurements ----------------------------------------------------------------------

    def record_measurement(
        self,
        benefit_id: UUID,
        *,
        value: object,
        observed_on: date,
        source: str,
        external_id: str | None = None,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[MeasurementOutcome]:
        """Record one measurement; the same (benefit, source, external_id) is stored once."""
        item = {
            "benefit_id": benefit_id,
            "value": value,
            "observed_on": observed_on,
            "source": source,
            "external_id": external_id,
        }
        outcome = self._record_measurements([item], meta=meta, once=once, single=True)
        return cast(Written[MeasurementOutcome], outcome)

    def record_measurements(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[BatchOutcome]:
        """Record measurements all-or-nothing: every item is validated before anything is stored."""
        outcome = self._record_measurements(items, meta=meta, once=once, single=False)
        return cast(Written[BatchOutcome], outcome)

    def _record_measurements(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        meta: Meta,
        once: Idempotency | None,
        single: bool,
    ) -> Written[Any]:
        check_observed(items, single=single)
        keys = [_dedupe_key(item) for item in items]
        benefit_ids = list(dict.fromkeys(item["benefit_id"] for item in items))

        def attempt(number: int) -> tuple[Sequence[Aggregate], Any]:
            if single:
                # Where the store says so (SQLite), the first attempt writes on the cached
                # benefit as it is: if another process wrote to it since, the store refuses the
                # version and the retry reads. (PostgreSQL's API workers share benefits, so
                # there the read is cheaper than the refusals.)
                trust = number == 0 and self.recorder.writes_on_cache_first
                benefits = self._find_many(Benefit, benefit_ids, trust_cache=trust)
                if not benefits:
                    raise NotFoundError("benefit", benefit_ids[0])
            else:
                benefits = self._find_many(Benefit, benefit_ids)
            # A single write relies on the store to refuse a duplicate receipt and looks
            # only after such a refusal; a batch looks its keys up in one query.
            lookup = number > 0 or not single
            known = self._find_receipts(k for k in keys if k) if lookup else {}
            result, receipts = self._plan(items, keys, benefits, known, meta, single)
            changed = [b for b in benefits.values() if b.pending_events]
            return [*changed, *receipts], result

        # Batches over the same benefits take turns (a batch redone after a conflict costs far
        # more than the wait); single measurements race, and retry cheaply on a conflict.
        what = ("benefit", ", ".join(str(i["benefit_id"]) for i in items[:3]))
        turns = () if single else benefit_ids
        return self._write(attempt, meta=meta, once=once, policy=INGEST, what=what, turns=turns)

    def _plan(
        self,
        items: Sequence[Mapping[str, Any]],
        keys: Sequence[UUID | None],
        benefits: Mapping[UUID, Benefit],
        known: Mapping[UUID, Receipt],
        meta: Meta,
        single: bool,
    ) -> tuple[Any, list[Receipt]]:
        """Apply every item to its loaded benefit: the result and the receipts to save, or a
        ValidationError naming every bad item."""
        receipts: list[Receipt] = []
        outcome = BatchOutcome()
        errors: dict[str, list[str]] = {}
        seen: dict[UUID, dict[str, Any]] = {}
        one: MeasurementOutcome | None = None
        for index, item in enumerate(items):
            prefix = "" if single else f"items.{index}."
            benefit_id = item["benefit_id"]
            try:
                benefit = benefits.get(benefit_id)
                if benefit is None:
                    raise NotFoundError("benefit", benefit_id)
                measurement, receipt = self._measure(benefit, item, keys[index], seen, known, meta)
            except NotFoundError as error:
                if single:
                    raise
                errors.setdefault(f"{prefix}benefit_id", []).append(error.message)
                continue
            except ValidationError as error:
                for name, messages in error.errors.items():
                    errors.setdefault(f"{prefix}{name}", []).extend(messages)
                continue
            except ExternalIdConflictError as error:
                error.index = None if single else index
                raise
            except RuleViolationError as error:
                if single:
                    raise
                errors.setdefault(f"{prefix}benefit_id", []).append(error.message)
                continue
            if receipt is not None:
                receipts.append(receipt)
            outcome.results.append(
                {
                    "benefit_id": benefit_id,
                    "measurement_id": measurement["measurement_id"],
                    "outcome": "created" if receipt is not None else "duplicate",
                }
            )
            one = MeasurementOutcome(measurement, receipt is not None)
        if errors:
            raise ValidationError(errors)
        return (one if single else outcome), receipts

    def _measure(
        self,
        benefit: Benefit,
        item: Mapping[str, Any],
        key: UUID | None,
        seen: dict[UUID, dict[str, Any]],
        known: Mapping[UUID, Receipt],
        meta: Meta,
    ) -> tuple[dict[str, Any], Receipt | None]:
        """Apply one measurement to a loaded benefit; a known key returns the stored one instead."""
        source, external_id = item["source"], item.get("external_id")
        if key is not None:
            stored = seen.get(key)
            if stored is None and key in known:
                stored = dict(known[key].data)
            if stored is not None:
                check_same_figures("measurement", stored, item, ("value", "observed_on"))
                return stored, None
            measurement_id = key
        else:
            measurement_id = uuid4()
        benefit.record_measurement(
            measurement_id=measurement_id,
            value=item["value"],
            observed_on=item["observed_on"],
            source=source,
            external_id=external_id,
            meta=meta,
        )
        recorded = benefit.pending_events[-1]
        measurement = measurement_record(recorded, benefit.id)
        seen[measurement_id] = measurement
        receipt = Receipt.issue(
            receipt_id_=measurement_id,
            kind="measurement",
            key=f"{benefit.id}|{source}|{external_id or ''}",
            subject_id=benefit.id,
            data=measurement,
            meta=meta,
        )
        return measurement, receipt

    def get_measurement(self, benefit_id: UUID, measurement_id: UUID) -> dict[str, Any]:
        """A measurement as first recorded."""
        receipt = self._find_receipt(measurement_id)
        if receipt is None or receipt.kind != "measurement" or receipt.subject_id != benefit_id:
            raise NotFoundError("measurement", measurement_id)
        return dict(receipt.data)

    def correct_measurement(
        self,
        benefit_id: UUID,
        measurement_id: UUID,
        *,
        value: object,
        reason: str,
        meta: Meta,
        once: Idempotency | None = None,
    ) -> Written[dict[str, Any]]:
        """Correct a measurement; the original event is never edited."""
        original = self.get_measurement(benefit_id, measurement_id)

        def change(b: Benefit) -> dict[str, Any]:
            b.correct_measurement(
                measurement_id=measurement_id,
                original_value=original["value"],
                observed_on=original["observed_on"],
                value=value,
                reason=reason,
                meta=meta,
            )
            event = b.pending_events[-1]
            return {
                "measurement_id": measurement_id,
                "benefit_id": benefit_id,
                "value": event.value,  # type: ignore[attr-defined]
                "previous_value": event.previous_value,  # type: ignore[attr-defined]
                "reason": reason,
                "recorded_at": event.timestamp,
            }

        return self._change_benefit(benefit_id, change, meta=meta, once=once, commuting=True)


def _dedupe_key(item: Mapping[str, Any]) -> UUID | None:
    """The receipt id of an item's (benefit, source, external_id), if it has an external id."""
    external_id = item.get("external_id")
    if not external_id:
        return None
    return receipt_id("measurement", item["benefit_id"], item["source"], external_id)
