"""KubeApi's request plumbing: re-login on 401, Status messages, 404s; the real API server is in tests/e2e."""

from __future__ import annotations

import base64
import json

import httpx
import kopf
import pytest

from tendlc.kube import KubeApi, KubeApiError, ResourceGone


class FakeServer:
    """Accepts only `valid_token`; records what it was sent."""

    def __init__(self, valid_token: str) -> None:
        self.valid_token = valid_token
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.valid_token}":
            return httpx.Response(401, json={"kind": "Status", "message": "Unauthorized"})
        if request.url.path.endswith("/secrets/loa"):
            return httpx.Response(200, json={"metadata": {"name": "loa", "labels": {"tendlc.io/usage": "loa"}},
                                             "data": {"signedDate": base64.b64encode(b"2026-11-20").decode()}})
        if request.url.path.endswith("/secrets/absent"):
            return httpx.Response(404, json={"kind": "Status", "message": 'secrets "absent" not found'})
        if request.url.path.endswith("/campaignmigrations/gone/status"):
            return httpx.Response(404, json={"kind": "Status", "message": "not found"})
        if request.url.path.endswith("/status"):
            return httpx.Response(200, json={"status": json.loads(request.content)["status"]})
        return httpx.Response(403, json={"kind": "Status", "message": "campaignmigrations is forbidden: no"})



def api_with(server: FakeServer, tokens: list[str]) -> KubeApi:
    def login() -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server="https://kube.test", token=tokens.pop(0), insecure=True)

    return KubeApi(login=login, transport=httpx.MockTransport(server), secret_max_age=0)


async def test_a_rotated_token_is_read_again_once_on_401() -> None:
    server, tokens = FakeServer("new"), ["old", "new"]
    api = api_with(server, tokens)
    secret = await api.read_secret("ns", "loa")
    assert secret is not None
    assert secret.values == {"signedDate": b"2026-11-20"}
    assert secret.labels == {"tendlc.io/usage": "loa"}  # the opt-in travels with the data
    assert "2026-11-20" not in repr(secret)
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer old", "Bearer new"]
    assert tokens == []
    await api.close()


async def test_a_second_401_is_an_error_not_a_loop() -> None:
    server = FakeServer("never")
    api = api_with(server, ["a", "b"])
    with pytest.raises(KubeApiError, match="HTTP 401") as error:
        await api.read_secret("ns", "loa")
    assert error.value.status == 401
    assert len(server.requests) == 2
    await api.close()


async def test_status_patch_is_a_merge_patch_of_status_only() -> None:
    server = FakeServer("t")
    api = api_with(server, ["t"])
    stored = await api.patch_status("ns", "cm", {"phase": "InMigration"})
    assert stored == {"status": {"phase": "InMigration"}}
    sent = server.requests[-1]
    assert sent.method == "PATCH"
    assert sent.url.path == "/apis/tendlc.io/v1alpha1/namespaces/ns/campaignmigrations/cm/status"
    assert sent.headers["Content-Type"] == "application/merge-patch+json"
    assert sent.headers["Accept"].startswith("application/json;as=PartialObjectMetadata")  # metadata back only
    await api.close()


async def test_absent_secret_is_none_deleted_resource_is_gone_refusal_carries_the_server_message() -> None:
    api = api_with(FakeServer("t"), ["t"])
    assert await api.read_secret("ns", "absent") is None
    with pytest.raises(ResourceGone):
        await api.patch_status("ns", "gone", {"phase": "Failed"})
    with pytest.raises(KubeApiError, match="campaignmigrations is forbidden: no") as error:
        await api.read_secret("ns", "other")
    assert error.value.status == 403
    await api.close()


async def test_an_unreachable_server_is_a_kube_api_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api = KubeApi(login=lambda: kopf.ConnectionInfo(server="https://kube.test", token="t"),
                  transport=httpx.MockTransport(refuse))
    with pytest.raises(KubeApiError, match="ConnectError"):
        await api.patch_status("ns", "cm", {})
    await api.close()


async def test_unreadable_credentials_are_a_kube_api_error() -> None:
    def login() -> kopf.ConnectionInfo:
        raise FileNotFoundError("/var/run/secrets/kubernetes.io/serviceaccount/token")

    api = KubeApi(login=login, transport=httpx.MockTransport(FakeServer("t")))
    with pytest.raises(KubeApiError, match="Kubernetes credentials: FileNotFoundError"):
        await api.read_secret("ns", "loa")
    await api.close()


async def test_a_permanent_401_reads_the_credentials_once_not_per_request() -> None:
    server, logins = FakeServer("never"), []

    def login() -> kopf.ConnectionInfo:
        logins.append(1)
        return kopf.ConnectionInfo(server="https://kube.test", token=f"t{len(logins)}", insecure=True)

    api = KubeApi(login=login, transport=httpx.MockTransport(server), secret_max_age=0)
    for _ in range(5):
        with pytest.raises(KubeApiError, match="HTTP 401"):
            await api.read_secret("ns", "loa")
    assert len(logins) == 2  # the first login and one re-read within RELOGIN_INTERVAL
    await api.close()
