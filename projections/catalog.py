"""The views valuetrail keeps, by name."""

from __future__ import annotations

import os

from domain.application import ValuetrailApplication
from projections.audit.heads import load_or_create_signing_key
from projections.audit.state import DEFAULT_STATE, STATE_ENV
from projections.audit_chain.sealer import SealerView
from projections.db import ViewDatabase
from projections.decision_trail.writer import DecisionsView
from projections.measurement_series.writer import SeriesView
from projections.portfolio_value.writer import PortfolioValueView
from projections.runner import Projector
from projections.view import View

#: Every view the value and list reads need.
VALUE_VIEWS = ("portfolio_value", "measurement_series")


#: Every view's name, as `valuetrail projections rebuild NAME` takes it.
VIEW_NAMES = (PortfolioValueView.name, SeriesView.name, DecisionsView.name, SealerView.name)


def build_views(app: ValuetrailApplication, extra: tuple[View, ...] = ()) -> dict[str, View]:
    """A fresh instance of every view (the audit chain's sealer is passed in `extra`)."""
    views: list[View] = [PortfolioValueView(app), SeriesView(), DecisionsView(), *extra]
    for view in extra:
        if isinstance(view, SealerView):
            view.bind(app)  # the sealer recomputes the log from the stored events
    return {view.name: view for view in views}


def audit_views(signing_key_path: str, state_path: str | None = None) -> tuple[View, ...]:
    """The audit log's sealer, signing with the key in this file (created if missing).

    Its last signed head is kept in `state_path` (default: VALUETRAIL_AUDIT_STATE).
    """
    state = state_path or os.environ.get(STATE_ENV) or DEFAULT_STATE
    return (SealerView(load_or_create_signing_key(signing_key_path), state_path=state),)


def build_projectors(
    app: ValuetrailApplication, db: ViewDatabase, extra: tuple[View, ...] = ()
) -> dict[str, Projector]:
    """A projector per view, tables created."""
    projectors = {name: Projector(app, db, view) for name, view in build_views(app, extra).items()}
    for projector in projectors.values():
        projector.setup()
    return projectors
