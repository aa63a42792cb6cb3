"""A deliberate re-seal (`projections rebuild audit_chain --force`): a signed statement, old → new.

The tree is rebuilt from the log as it stands, every earlier head is kept, and a statement
signed with the log's key links the last head signed before to the new one. Offline
verification reports it (exit 3), witnesses and older exports see the break.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.application import ValuetrailApplication
from projections.audit.heads import Reseal, TreeHead, log_id, utc_now_text
from projections.audit.state import SealerState, read_state, write_state
from projections.audit_chain.sealer import SealerView, Tree
from projections.audit_chain.store import insert_signed, latest_head
from projections.db import ViewDatabase
from projections.runner import rebuild_views
from projections.view import tracked_position


def reseal(
    app: ValuetrailApplication,
    db: ViewDatabase,
    key: Ed25519PrivateKey,
    state_path: str,
    reason: str,
    *,
    batch_size: int = 2000,
) -> tuple[Reseal | None, TreeHead]:
    """Rebuild the tree from the log as it stands and sign a re-seal statement old head → new.

    Deliberate (`projections rebuild audit_chain --force`): the old heads stay, the statement
    links the last of them to the new head, and offline verification reports it (exit 3).
    """
    view = SealerView(key, state_path=state_path, app=app, sign=False)
    with db.read() as cursor:
        found = latest_head(cursor)
    try:
        state = read_state(state_path)
    except ValueError:
        state = None
    old = state.head if state and state.head else (found[1] if found else None)
    rebuild_views(app, db, [view], batch_size=batch_size)
    with db.transaction() as cursor:
        tracked = tracked_position(cursor, view.name)
        tree = view._tree if view._tree and view._tree.position == tracked else Tree()
        head = TreeHead.sign(key, tree.size, tree.root_hex(), tree.position, utc_now_text())
        statement = Reseal.sign(key, old, head, reason) if old is not None else None
        if statement is not None:
            insert_signed(cursor, statement)
        insert_signed(cursor, head)
    write_state(state_path, SealerState(log_id(key), head, None))
    return statement, head
