"""The component schemas of the sandbox's own OpenAPI document (`openapi.py` assembles the paths).

Shapes of what this sandbox answers, narrowed from Infobip's published schemas and the choices in
`docs/decisions.md`; the published documents in `tests/data/specs/` stay the contract. Pure data.
"""

from __future__ import annotations

from tendlc_dev.sandbox.openapi_subscriptions_tcr import DATE_TIME, SUBSCRIPTION_AND_TCR_SCHEMAS, Schema, ref

__all__ = ["DATE_TIME", "NUMBER", "SCHEMAS", "Schema", "ref"]

NUMBER: Schema = {"type": "string", "pattern": r"^1\d{10}$"}

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
    **SUBSCRIPTION_AND_TCR_SCHEMAS,
    "AdminError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "AdminObject": {"type": "object"},
}


