"""The Subscriptions, webhook and TCR component schemas of the sandbox's own OpenAPI document
(the Number Registration and Numbers ones are in `openapi_schemas.py`). Pure data.
"""

from __future__ import annotations

from typing import Any

from tendlc_dev.sandbox.validation import REGISTRATION_EVENTS

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


DATE_TIME: Schema = {"type": "string", "format": "date-time"}

SUBSCRIPTION_AND_TCR_SCHEMAS: dict[str, Schema] = {
    "SecurityRequest": {
        "type": "object",
        "required": ["authId"],
        "properties": {
            "authId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "type": {"type": "string", "enum": ["BASIC", "HMAC"]},
            "credentials": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string", "minLength": 1, "maxLength": 255},
                            "password": {"type": "string", "minLength": 1, "maxLength": 255},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["secretKey", "algorithm"],
                        "properties": {
                            "secretKey": {"type": "string", "minLength": 1, "maxLength": 255},
                            "algorithm": {"type": "string", "enum": ["HMAC_SHA_1", "HMAC_SHA_256", "HMAC_SHA_512"]},
                        },
                    },
                ]
            },
        },
    },
    "ProfileRequest": {
        "type": "object",
        "required": ["profileId"],
        "properties": {
            "profileId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "webhook": {
                "type": "object",
                "required": ["notifyUrl"],
                "properties": {"notifyUrl": {"type": "string", "pattern": "^https?://[a-z0-9.:/]{1,100}$"}},
            },
            "security": ref("SecurityRequest"),
        },
    },
    "SubscriptionRequest": {
        "type": "object",
        "required": ["subscriptionId", "events", "profile"],
        "properties": {
            "subscriptionId": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "events": {
                "type": "array",
                "maxItems": 255,
                "items": {"type": "string", "enum": sorted(REGISTRATION_EVENTS)},
            },
            "criteria": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"applicationId": {"type": "string"}, "entityId": {"type": "string"}},
                },
            },
            "profile": ref("ProfileRequest"),
        },
    },
    "IdOnlySubscriptionResponse": {
        "type": "object",
        "required": ["subscriptionId", "profile"],
        "properties": {
            "subscriptionId": {"type": "string"},
            "profile": {
                "type": "object",
                "required": ["profileId"],
                "properties": {
                    "profileId": {"type": "string"},
                    "security": {"type": "object", "properties": {"authId": {"type": "string"}}},
                },
            },
        },
    },
    "SubscriptionResponse": {
        "type": "object",
        "required": ["subscriptionId", "profile", "events"],
        "properties": {
            "subscriptionId": {"type": "string"},
            "name": {"type": "string"},
            "profile": {"type": "object", "properties": {"profileId": {"type": "string"}}},
            "events": {"type": "array", "items": {"type": "string"}},
            "criteria": {"type": "array", "items": {"type": "object"}},
            "resources": {"type": "array", "items": {"type": "string"}},
            "users": {"type": "array", "items": {"type": "string"}},
        },
    },
    "SubscriptionPage": {
        "type": "object",
        "required": ["results", "paging"],
        "properties": {"results": {"type": "array", "items": ref("SubscriptionResponse")}, "paging": ref("PageInfo")},
    },
    "TcrCampaign": {
        "type": "object",
        "required": ["campaignId", "status"],
        "properties": {
            "campaignId": {"type": "string"},
            "status": {"type": "string", "enum": ["ACTIVE", "EXPIRED"]},
            "cspId": {"type": "string"},
            "brandId": {"type": "string"},
            "usecase": {"type": "string"},
            "createDate": DATE_TIME,
            "autoRenewal": {"type": "boolean"},
            "mock": {"type": "boolean"},
            "numberPool": {"type": "boolean"},
            "expirationDate": {"oneOf": [{"type": "null"}, DATE_TIME]},
            "nextRenewalOrExpirationDate": DATE_TIME,
        },
    },
    "TcrOperationStatus": {
        "type": "object",
        "description": "TCR MNO ID → campaign operation status at that MNO (D32).",
        "additionalProperties": {"type": "string", "enum": ["APPROVED", "REVIEW", "REJECTED", "SUSPENDED"]},
    },
    "MigrateCnpResponse": {
        "type": "object",
        "required": ["campaignId", "upstreamCnpId", "sharingStatus", "cnpMigration"],
        "properties": {
            "campaignId": {"type": "string"},
            "upstreamCnpId": {"type": "string"},
            "sharingStatus": {"type": "string", "enum": ["PENDING"]},
            "cnpMigration": {"type": "boolean", "const": True},
        },
    },
    "Sharing": {
        "type": "object",
        "required": ["sharedByMe", "sharedWithMe"],
        "properties": {
            "sharedByMe": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["upstreamCnpId", "sharingStatus", "statusDate", "cnpMigration"],
                        "properties": {
                            "upstreamCnpId": {"type": "string"},
                            "sharingStatus": {"type": "string", "enum": ["PENDING", "ACCEPTED", "DECLINED"]},
                            "explanation": {"type": ["string", "null"]},
                            "statusDate": DATE_TIME,
                            "cnpMigration": {"type": "boolean"},
                        },
                    },
                ]
            },
            "sharedWithMe": {"type": ["object", "null"]},
        },
    },
    "CampaignStatusWebhook": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["event", "receivedAt", "content"],
                    "properties": {
                        "event": {
                            "type": "string",
                            "enum": ["CAMPAIGN_STATUS_UPDATE", "CAMPAIGN_NETWORK_STATUS_UPDATE"],
                        },
                        "receivedAt": DATE_TIME,
                        "content": {"type": "object", "required": ["campaignId"]},
                        "platform": {"type": "object"},
                    },
                },
            }
        },
    },
}
