"""The component schemas of the sandbox's own OpenAPI document (`openapi.py` assembles the paths).

Shapes of what this sandbox answers, narrowed from Infobip's published schemas and the choices in
`docs/decisions.md`; the published documents in `tests/data/specs/` stay the contract. Pure data.
"""

from __future__ import annotations

from typing import Any

from tendlc_dev.sandbox.validation import REGISTRATION_EVENTS

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


NUMBER: Schema = {"type": "string", "pattern": r"^1\d{10}$"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "ApiException": {
        "type": "object",
        "required": ["requestError"],
        "properties": {
            "requestError": {
                "type": "object",
                "required": ["serviceException"],
                "properties": {
                    "serviceException": {
                        "type": "object",
                        "required": ["messageId", "text"],
                        "properties": {
                            "messageId": {"type": "string"},
                            "text": {"type": "string"},
                            "validationErrors": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        },
    },
    "ApiError": {
        "type": "object",
        "required": ["errorCode", "description", "action", "violations", "resources"],
        "properties": {
            "errorCode": {"type": "string"},
            "description": {"type": "string"},
            "action": {"type": "string"},
            "violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"property": {"type": "string"}, "violation": {"type": "string"}},
                },
            },
            "resources": {"type": "array", "items": {"type": "object"}},
        },
    },
    "InfobipError": {
        "description": "ApiException by default; ApiError when the error-shape alternative is on (D31).",
        "oneOf": [ref("ApiException"), ref("ApiError")],
    },
    "TcrErrors": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["code", "field", "description"],
            "properties": {
                "code": {"type": "integer"},
                "field": {"type": ["string", "null"]},
                "description": {"type": "string"},
            },
        },
    },
    "ImportRequest": {
        "type": "object",
        "required": ["numbers"],
        "properties": {
            "numbers": {"type": "array", "minItems": 1, "maxItems": 100, "uniqueItems": True, "items": NUMBER},
            "country": {"type": "string", "enum": ["US"]},
            "type": {"type": "string", "enum": ["VIRTUAL_LONG_NUMBER"]},
            "capabilities": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": ["SMS", "MMS", "VOICE"]},
            },
            "skipOsrUpdate": {"type": "boolean"},
        },
    },
    "ImportResponse": {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["number", "status"],
                    "properties": {
                        "number": NUMBER,
                        "status": {"type": "string", "enum": ["IMPORTED", "ALREADY_IMPORTED"]},
                    },
                },
            }
        },
    },
    "ImportAnswer": {
        "description": "D1's shape by default; the import-answer alternatives (D31) send the others.",
        "anyOf": [
            ref("ImportResponse"),
            {
                "type": "object",
                "required": ["numbers"],
                "properties": {
                    "numbers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["phoneNumber", "result"],
                            "properties": {"phoneNumber": NUMBER, "result": {"type": "string"}},
                        },
                    }
                },
            },
            {"type": "object", "maxProperties": 0},
        ],
    },
    "ImportAccepted": {"type": "object", "properties": {"requestId": {"type": "string", "format": "uuid"}}},
    "OwnedNumbers": {
        "type": "object",
        "required": ["numbers", "numberCount"],
        "properties": {
            "numbers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["numberKey", "number", "country", "type", "capabilities"],
                    "properties": {
                        "numberKey": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
                        "number": NUMBER,
                        "country": {"type": "string"},
                        "countryName": {"type": "string"},
                        "type": {"type": "string"},
                        "capabilities": {"type": "array", "items": {"type": "string"}},
                        "applicationId": {"type": "string"},
                    },
                },
            },
            "numberCount": {"type": "integer", "minimum": 0},
        },
    },
    "AddNumbersRequest": {
        "type": "object",
        "properties": {
            "numberKeys": {
                "type": "array",
                "maxItems": 5000,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
            },
            "numbers": {"type": "array", "maxItems": 5000, "uniqueItems": True, "items": NUMBER},
        },
    },
    "MigrateRequest": {
        "type": "object",
        "required": ["name", "externalCampaignId", "numbers"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "externalCampaignId": {"type": "string", "pattern": "^C[A-Z0-9]{6}$"},
            "numberPoolID": {"type": ["string", "null"]},
            "numbers": {"type": "array", "minItems": 1, "maxItems": 200, "uniqueItems": True, "items": NUMBER},
            "isClientManageNnid": {"type": "boolean"},
        },
    },
    "NumberPreview": {
        "type": "object",
        "required": ["numberKey", "number", "countryCode"],
        "properties": {
            "numberKey": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
            "number": NUMBER,
            "countryCode": {"type": "string"},
        },
    },
    "NumberPreviews": {
        "type": "object",
        "required": ["numberPreviews"],
        "properties": {"numberPreviews": {"type": "array", "items": ref("NumberPreview")}},
    },
    "Campaign": {
        "type": "object",
        "required": ["id", "name", "stage", "type", "externalCampaignId", "createdDate", "applicationId"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "applicationId": {"type": "string"},
            "entityId": {"type": "string"},
            "name": {"type": "string"},
            "createdDate": DATE_TIME,
            "lastModifiedDate": DATE_TIME,
            "stage": {"type": "string", "description": "Any Infobip stage; new ones may appear."},
            "type": {"type": "string", "enum": ["EXTERNAL_TEN_DIGIT_LONG_CODE"]},
            "externalCampaignId": {"type": "string"},
            "numberPreviews": {"type": "array", "items": ref("NumberPreview")},
            "numberPool": {"type": "object", "properties": {"numberPoolId": {"type": "string"}}},
            "campaignFeedback": {
                "type": "object",
                "properties": {
                    "rejectionReasons": {"type": "array", "items": {"type": "string"}},
                    "rejectionDetails": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "errorCode": {"type": "string"},
                                "description": {"type": "string"},
                                "recommendedAction": {"type": "string"},
                            },
                        },
                    },
                    "rejectionDate": DATE_TIME,
                },
            },
        },
    },
    "PageInfo": {
        "type": "object",
        "required": ["page", "size", "totalPages", "totalResults"],
        "properties": {
            "page": {"type": "integer", "minimum": 0},
            "size": {"type": "integer", "minimum": 1},
            "totalPages": {"type": "integer", "minimum": 0},
            "totalResults": {"type": "integer", "minimum": 0},
        },
    },
    "PageResponseCampaign": {
        "type": "object",
        "required": ["results", "paging"],
        "properties": {"results": {"type": "array", "items": ref("Campaign")}, "paging": ref("PageInfo")},
    },
    "NetworkStatuses": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["network", "state"],
            "properties": {"network": {"type": "string"}, "state": {"type": "string"}},
        },
    },
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
    "AdminError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "AdminObject": {"type": "object"},
}


