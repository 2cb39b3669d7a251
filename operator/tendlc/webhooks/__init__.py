"""The Infobip webhook fast path: read and authenticate campaign events; keep the subscription.

`payload` parses bodies into `WebhookEvent`s, `auth` checks BASIC/HMAC (decisions.md D5),
`receiver` serves `POST /webhooks/infobip` and hands each event to an injected `dispatch`
coroutine, and `subscription` plans the Infobip subscription that makes Infobip call it. Nothing
here touches Kubernetes or imports Kopf: the operator supplies `dispatch` (index lookup, status
write, wake-up); whether an event may change a resource is the workflow's rule
(`tendlc.workflow.ordering`).
"""

from tendlc.webhooks.auth import SIGNATURE_HEADER, WebhookAuth, WebhookAuthError
from tendlc.webhooks.payload import (
    NETWORK_STATUS_UPDATE,
    STATUS_UPDATE,
    WebhookDelivery,
    WebhookEvent,
    WebhookPayloadError,
    parse_delivery,
    parse_webhook,
)
from tendlc.webhooks.receiver import (
    DISPATCH_RESULTS,
    WEBHOOK_PATH,
    Dispatch,
    DispatchResult,
    ReceiverLimits,
    WebhookObserver,
    WebhookServer,
    create_webhook_app,
)
from tendlc.webhooks.subscription import (
    CHANNEL,
    SUBSCRIPTION_EVENTS,
    Create,
    Keep,
    Replace,
    SubscriptionPlan,
    desired_subscription,
    plan_subscription,
)

__all__ = [
    "CHANNEL",
    "DISPATCH_RESULTS",
    "NETWORK_STATUS_UPDATE",
    "SIGNATURE_HEADER",
    "STATUS_UPDATE",
    "SUBSCRIPTION_EVENTS",
    "WEBHOOK_PATH",
    "Create",
    "Dispatch",
    "DispatchResult",
    "Keep",
    "ReceiverLimits",
    "Replace",
    "SubscriptionPlan",
    "WebhookAuth",
    "WebhookAuthError",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookObserver",
    "WebhookPayloadError",
    "WebhookServer",
    "create_webhook_app",
    "desired_subscription",
    "parse_delivery",
    "parse_webhook",
    "plan_subscription",
]
