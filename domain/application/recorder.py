"""The port the use cases need of an event store, beyond eventsourcing's ApplicationRecorder.

Each store implements it in a recorder subclass of its own (the persistence adapters, chosen by
`PERSISTENCE_MODULE` as eventsourcing chooses its persistence modules), so the application
never asks which database it runs on.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent


class ValuetrailRecorder(ApplicationRecorder):
    """Reads of many aggregates at once and turns for their writers, over one store."""

    #: Whether a single write may first go ahead on a cached aggregate without reading the
    #: store: true where the store refuses a stale version cheaply and other writers are rare.
    writes_on_cache_first: bool = False

    @abstractmethod
    def events_of(self, ids: Iterable[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, in one query (for receipts: one event each)."""

    @abstractmethod
    def events_after(self, versions: Mapping[UUID, int]) -> list[StoredEvent]:
        """The events of each aggregate after the version given for it, in one query."""

    @abstractmethod
    def turns(self, ids: Iterable[UUID]) -> AbstractContextManager[bool]:
        """Let writers of these aggregates take turns until the block ends; yields whether
        they do (a store without such locks runs the block unlocked, and its version check
        still keeps writes correct)."""
