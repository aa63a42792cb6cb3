"""Bearer API keys: who is calling, and may their role do this?"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import flask

from domain.api_key import ApiKey
from service.errors import ApiProblem
from service.state import application

F = TypeVar("F", bound=Callable[..., Any])

ANY = frozenset({"admin", "manager", "ingest", "auditor"})
MANAGE = frozenset({"admin", "manager"})
INGEST = frozenset({"admin", "manager", "ingest"})
AUDIT = frozenset({"admin", "auditor"})
#: Portfolio analytics: everyone but ingest keys, which only feed measurements and spend.
ANALYSE = frozenset({"admin", "manager", "auditor"})
ADMIN = frozenset({"admin"})


def _unauthenticated(detail: str, error: str | None) -> ApiProblem:
    challenge = 'Bearer realm="valuetrail"'
    if error:
        challenge += f', error="{error}"'
    return ApiProblem(401, detail, slug="unauthenticated", headers={"WWW-Authenticate": challenge})


def current_key() -> ApiKey:
    """The live API key of this request, or a 401."""
    if "api_key" in flask.g:
        return cast(ApiKey, flask.g.api_key)
    header = flask.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthenticated("send Authorization: Bearer <token>", None)
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated(
            "use the Bearer scheme: Authorization: Bearer <token>", "invalid_request"
        )
    key = application().authenticate(token.strip())
    if key is None:
        raise _unauthenticated("the token is unknown or revoked", "invalid_token")
    flask.g.api_key = key
    return key


def require(roles: frozenset[str]) -> Callable[[F], F]:
    """Allow the view only to keys whose role is in `roles`."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            enforce_roles()
            return view(*args, **kwargs)

        wrapper._valuetrail_roles = roles  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def enforce_roles() -> None:
    """Check the caller before any body is parsed, so outsiders learn nothing from validation."""
    endpoint = flask.request.endpoint
    if endpoint is None:
        return
    view = flask.current_app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, flask.request.method.lower(), None) if view_class else view
    roles = getattr(method, "_valuetrail_roles", None)
    if roles is None:
        return
    key = current_key()
    if key.role not in roles:
        raise ApiProblem(
            403,
            f"the {key.role} role may not do this; it needs one of: " + ", ".join(sorted(roles)),
            slug="forbidden",
        )
