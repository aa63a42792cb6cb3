"""API keys: issue (the token is shown once), list, read and revoke. Admin only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import flask
from flask.views import MethodView

from domain.api_key import ApiKey
from service.auth import ADMIN, require
from service.blueprint import Blueprint
from service.http import meta, resource, write
from service.paging import paginate
from service.schemas.api_keys import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyList,
    ApiKeyResponse,
    ApiKeyRevoke,
)
from service.schemas.common import PageArgs
from service.state import application

blp = Blueprint(
    "api_keys",
    __name__,
    url_prefix="/api/v1",
    description="API keys (admin only). A token is returned once, when its key is issued; "
    "the service stores only its SHA-256.",
)


def api_key_data(key: ApiKey) -> dict[str, Any]:
    """A key as `ApiKeyResponse` dumps it, without any secret."""
    return {
        "id": key.id,
        "version": key.version,
        "name": key.name,
        "role": key.role,
        "created_at": key.created_on,
        "revoked": key.revoked,
        # Revocation is final, so the key's last change is its revocation.
        "revoked_at": key.modified_on if key.revoked else None,
        "revoked_reason": key.revoked_reason,
    }


def _issued_data(issued: tuple[ApiKey, str]) -> dict[str, Any]:
    key, token = issued
    return {**api_key_data(key), "token": token}


def _url(key_id: UUID) -> str:
    return flask.url_for("api_keys.ApiKeyItem", key_id=key_id)


@blp.route("/api-keys")
class ApiKeys(MethodView):
    """Issue and list API keys."""

    @blp.arguments(ApiKeyCreate)
    @blp.response(201, ApiKeyIssued)
    @require(ADMIN)
    def post(self, data: dict[str, Any]) -> Any:
        """Issue a key; the response carries its token, which is never shown again.

        An `Idempotency-Key` is not honoured here: replaying the response would mean
        storing the token, and the service stores only its hash.
        """
        return write(
            lambda _once: application().issue_api_key(**data, meta=meta()),
            _issued_data,
            status=201,
            location=lambda issued: _url(issued[0].id),
        )

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ApiKeyList)
    @require(ADMIN)
    def get(self, args: dict[str, Any]) -> Any:
        """List every key ever issued, revoked ones included, oldest first."""
        return paginate([api_key_data(k) for k in application().list_api_keys()], args)


@blp.route("/api-keys/<uuid:key_id>")
class ApiKeyItem(MethodView):
    """One API key."""

    @blp.response(200, ApiKeyResponse)
    @require(ADMIN)
    def get(self, key_id: UUID) -> Any:
        """Read a key (without its token)."""
        key = application().get_api_key(key_id)
        return resource(api_key_data(key), key.version)

    @blp.arguments(ApiKeyRevoke(), required=False)
    @blp.response(200, ApiKeyResponse)
    @require(ADMIN)
    def delete(self, data: dict[str, Any] | None, key_id: UUID) -> Any:
        """Revoke a key: it stops working at once. 409 if it is already revoked."""
        reason = (data or {}).get("reason", "revoked")
        return write(
            lambda _once: application().revoke_api_key(key_id, reason=reason, meta=meta()),
            api_key_data,
        )
