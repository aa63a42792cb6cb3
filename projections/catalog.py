"""The views valuetrail keeps, by name."""

from __future__ import annotations

from domain.application import ValuetrailApplication
from projections.audit_chain import SealerView, load_or_create_signing_key
from projections.db import ViewDatabase
from projections.decisions import DecisionsView
from projections.runner import Projector
from projections.series import SeriesView
from projections.states import StatesView
from projections.view import View

#: Every view the value and list reads need.
VALUE_VIEWS = ("portfolio_value", "measurement_series")


#: Every view's name, as `valuetrail projections rebuild NAME` takes it.
VIEW_NAMES = (StatesView.name, SeriesView.name, DecisionsView.name, SealerView.name)


def build_views(app: ValuetrailApplication, extra: tuple[View, ...] = ()) -> dict[str, View]:
    """A fresh instance of every view (the audit chain's sealer is passed in `extra`)."""
    views: list[View] = [StatesView(app), SeriesView(), DecisionsView(), *extra]
    return {view.name: view for view in views}


def audit_views(signing_key_path: str) -> tuple[View, ...]:
    """The audit chain's sealer, signing with the key in this file (created if missing)."""
    return (SealerView(load_or_create_signing_key(signing_key_path)),)


def build_projectors(
    app: ValuetrailApplication, db: ViewDatabase, extra: tuple[View, ...] = ()
) -> dict[str, Projector]:
    """A projector per view, tables created."""
    projectors = {name: Projector(app, db, view) for name, view in build_views(app, extra).items()}
    for projector in projectors.values():
        projector.setup()
    return projectors
