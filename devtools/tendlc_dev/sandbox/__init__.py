"""tendlc_dev.sandbox: a faithful HTTP simulator of Infobip's and TCR's APIs, for tests and rehearsals.

Like LocalStack for AWS, it is part of the product: tests, the demo, the benchmarks and users'
rehearsals talk real HTTP to it on loopback. Infobip lives under `/infobip`, TCR under `/tcr/v2`,
the admin API under `/_admin` (see `docs/sandbox.md`). It never imports the operator.
"""

from tendlc_dev.sandbox.app import SandboxServer
from tendlc_dev.sandbox.config import FaultConfig, RateLimitConfig, SandboxConfig, Schedule, WebhookConfig
from tendlc_dev.sandbox.model import Scenario, ScenarioKind
from tendlc_dev.sandbox.webhooks import SIGNATURE_HEADER, sign

__all__ = [
    "SIGNATURE_HEADER",
    "FaultConfig",
    "RateLimitConfig",
    "SandboxConfig",
    "SandboxServer",
    "Scenario",
    "ScenarioKind",
    "Schedule",
    "WebhookConfig",
    "sign",
]
