"""Every ORM model, imported here so `Base.metadata` knows all tables (Alembic autogenerate, tests)."""

from voicegate.db.models.api_key import ApiKey
from voicegate.db.models.credit_hold import CreditHold
from voicegate.db.models.gateway_setting import GatewaySetting
from voicegate.db.models.gateway_setting_change import GatewaySettingChange
from voicegate.db.models.idempotency_key import IdempotencyKey
from voicegate.db.models.ledger_entry import LedgerEntry
from voicegate.db.models.provider_resemble_asset import ProviderResembleAsset
from voicegate.db.models.provider_resemble_job import ProviderResembleJob
from voicegate.db.models.provider_resemble_request import ProviderResembleRequest
from voicegate.db.models.provider_resemble_resource import ProviderResembleResource
from voicegate.db.models.provider_resemble_usage import ProviderResembleUsage
from voicegate.db.models.provider_resemble_voice import ProviderResembleVoice, ProviderResembleVoiceSubscription
from voicegate.db.models.provider_resemble_webhook_event import ProviderResembleWebhookEvent
from voicegate.db.models.task_lock import TaskLock
from voicegate.db.models.user import User
from voicegate.db.models.user_erasure import UserErasure
from voicegate.db.models.user_provider_key import UserProviderKey
from voicegate.db.models.webhook_delivery import WebhookDelivery

__all__ = [
    "ApiKey",
    "CreditHold",
    "GatewaySetting",
    "GatewaySettingChange",
    "IdempotencyKey",
    "LedgerEntry",
    "ProviderResembleAsset",
    "ProviderResembleJob",
    "ProviderResembleRequest",
    "ProviderResembleResource",
    "ProviderResembleUsage",
    "ProviderResembleVoice",
    "ProviderResembleVoiceSubscription",
    "ProviderResembleWebhookEvent",
    "TaskLock",
    "User",
    "UserErasure",
    "UserProviderKey",
    "WebhookDelivery",
]
