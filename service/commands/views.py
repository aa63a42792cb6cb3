"""`valuetrail projections rebuild`: empty views and build them again from the whole log."""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack

from projections.audit_chain.store import VIEW_NAME as AUDIT_CHAIN
from projections.rebuild import processes_for, rebuild_in_processes
from service import audit_cli
from service.commands.common import CommandError, opened, projectors_of
from service.config import Settings


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Empty one view (or all) and build it again from the whole log, in batches."""
    with opened(settings, create_tables=False) as app, projectors_of(settings, app) as projectors:
        names = [args.name] if args.name else list(projectors)
        if args.name and args.name not in projectors:
            raise CommandError(
                f"no view named {args.name!r}; the views are {', '.join(projectors)}", code=2
            )
        with ExitStack() as locks:
            for name in names:
                # The same lock the projector holds while a view is active (Projector.run).
                if not locks.enter_context(projectors[name].db.exclusive(f"view-{name}")):
                    raise CommandError(
                        f"a running projector is keeping view {name} up to date; stop it "
                        "(or the service) before rebuilding"
                    )
            if AUDIT_CHAIN in names:
                refusal = audit_cli.check_before_rebuild(
                    app, projectors[AUDIT_CHAIN].db, settings, args.force
                )
                if refusal:
                    raise CommandError(refusal)
                if args.force:  # re-sealed here, with a signed statement; the rest as usual
                    names.remove(AUDIT_CHAIN)
                    print(audit_cli.reseal_log(app, projectors[AUDIT_CHAIN].db, settings))
                    if not names:
                        return 0
            # One pass over the log per process, each event decoded once for its views.
            processes = args.processes or processes_for(
                settings.db, app.head_position(), len(names)
            )
            started = time.perf_counter()
            count = rebuild_in_processes(
                settings.db,
                settings.audit_signing_key,
                names,
                processes=processes,
                state_path=settings.audit_state,
            )
            elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else 0.0
    together = ""
    if len(names) > 1:
        passes = "one pass" if processes == 1 else f"{processes} processes"
        together = f", with {len(names) - 1} other views in {passes}"
    for name in names:
        print(
            f"{name}: rebuilt from {count} events in {elapsed:.2f} s ({rate:,.0f} events/s)"
            + together
        )
    return 0
