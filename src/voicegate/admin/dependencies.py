from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voicegate.deps import SettingsDep
from voicegate.errors import Forbidden, Unauthorized

admin_bearer = HTTPBearer(auto_error=False, description="ADMIN_API_KEY")


async def require_admin(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_bearer)]
) -> None:
    if settings.admin_api_key is None:
        raise Forbidden("The admin API is disabled: set ADMIN_API_KEY to enable it")
    if credentials is None:
        raise Unauthorized("Admin API key required: 'Authorization: Bearer <ADMIN_API_KEY>'")
    if not hmac.compare_digest(credentials.credentials.encode(), settings.admin_api_key.get_secret_value().encode()):
        raise Unauthorized("Invalid admin API key")
