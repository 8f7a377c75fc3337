import httpx


async def test_health_reports_database_and_queue(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["unprocessedWebhookEvents"] == 0
    assert body["checks"]["queue"]["mode"] == "embedded"


async def test_liveness_and_readiness_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health/live")).json() == {"status": "ok"}
    ready = await client.get("/api/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_every_response_carries_security_headers_and_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_a_malformed_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
