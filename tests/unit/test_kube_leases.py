"""KubeApi's Lease calls: paths, conditional replace, 404 and 409 as the elector needs them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import kopf
import pytest

from tendlc.kube import CONFLICT, KubeApi, KubeApiError

LEASES = "/apis/coordination.k8s.io/v1/namespaces/ops/leases"


class LeaseServer:
    """One Lease with the API server's resourceVersion rule for PUT."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            if self.lease is None:
                return httpx.Response(404, json={"kind": "Status", "message": 'leases "tendlc" not found'})
            return httpx.Response(200, json=self.lease)
        body = json.loads(request.content)
        if request.method == "POST":
            if self.lease is not None:
                return httpx.Response(409, json={"kind": "Status", "message": 'leases "tendlc" already exists'})
            self.lease = body | {"metadata": body["metadata"] | {"resourceVersion": "1"}}
            return httpx.Response(201, json=self.lease)
        assert self.lease is not None
        if body["metadata"]["resourceVersion"] != self.lease["metadata"]["resourceVersion"]:
            message = 'Operation cannot be fulfilled on leases.coordination.k8s.io "tendlc": the object has been ' \
                'modified'
            return httpx.Response(409, json={"kind": "Status", "message": message})
        version = str(int(self.lease["metadata"]["resourceVersion"]) + 1)
        self.lease = body | {"metadata": body["metadata"] | {"resourceVersion": version}}
        return httpx.Response(200, json=self.lease)


def api_for(server: LeaseServer) -> KubeApi:
    return KubeApi(
        login=lambda: kopf.ConnectionInfo(server="https://kube.test", token="t", insecure=True),
        transport=httpx.MockTransport(server),
    )


async def test_get_create_and_conditional_replace_of_a_lease() -> None:
    server = LeaseServer()
    api = api_for(server)
    assert await api.get_lease("ops", "tendlc") is None
    created = await api.create_lease(
        "ops", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "tendlc"},
                "spec": {"holderIdentity": "a"}},
    )
    assert created["metadata"]["resourceVersion"] == "1"
    replaced = await api.replace_lease("ops", "tendlc", created | {"spec": {"holderIdentity": "a", "x": 1}})
    assert replaced["metadata"]["resourceVersion"] == "2"
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("GET", f"{LEASES}/tendlc"), ("POST", LEASES), ("PUT", f"{LEASES}/tendlc"),
    ]
    assert server.requests[1].headers["Content-Type"] == "application/json"
    await api.close()


async def test_a_stale_replace_and_a_second_create_are_conflicts_with_the_servers_words() -> None:
    server = LeaseServer()
    api = api_for(server)
    created = await api.create_lease("ops", {"metadata": {"name": "tendlc"}, "spec": {}})
    await api.replace_lease("ops", "tendlc", created)
    with pytest.raises(KubeApiError, match="the object has been modified") as stale:
        await api.replace_lease("ops", "tendlc", created)  # still at resourceVersion 1
    assert stale.value.status == CONFLICT
    with pytest.raises(KubeApiError, match="already exists") as twice:
        await api.create_lease("ops", {"metadata": {"name": "tendlc"}, "spec": {}})
    assert twice.value.status == CONFLICT
    await api.close()


async def test_an_unconditional_replace_is_refused_before_it_is_sent() -> None:
    server = LeaseServer()
    api = api_for(server)
    with pytest.raises(ValueError, match="resourceVersion"):
        await api.replace_lease("ops", "tendlc", {"metadata": {"name": "tendlc"}, "spec": {"holderIdentity": "me"}})
    assert server.requests == []
    await api.close()
