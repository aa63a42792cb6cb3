"""The in-memory store (eventsourcing's POPO recorder) for unit tests: per-aggregate reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from uuid import UUID

from eventsourcing import popo
from eventsourcing.persistence import ApplicationRecorder, StoredEvent

from domain.application.recorder import ValuetrailRecorder


class MemoryRecorder(ValuetrailRecorder, popo.POPOApplicationRecorder):
    """Answers the port with the recorder's own reads of one aggregate at a time."""

    def events_of(self, ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates."""
        found: list[StoredEvent] = []
        for ident in sorted(set(ids)):
            found.extend(self.select_events(ident))
        return found

    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of each aggregate after the version given for it."""
        found: list[StoredEvent] = []
        for ident, version in versions.items():
            found.extend(self.select_events(ident, gt=version))
        return found

    @contextmanager
    def turns(self, ids: Iterable[UUID]) -> Iterator[bool]:
        """One process, one lock of its own: writers need no turns."""
        yield False


class Factory(popo.POPOFactory):
    """eventsourcing's in-memory factory, building a `MemoryRecorder`."""

    def application_recorder(self) -> ApplicationRecorder:
        """The application's recorder."""
        return MemoryRecorder()
