"""The baseline of the ingest benchmark: the least a webhook endpoint can do and still be correct — a bare
FastAPI route that verifies the signature over the raw body and inserts the body with asyncpg, nothing else
(no queue, no middleware, no ORM). Served the way `wadesk serve` is (one uvicorn process).

`python -m bench.bare_ingest --port 8001` with BENCH_DATABASE_URL (libpq form) and BENCH_APP_SECRET set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from wadesk.whatsapp.signature import SIGNATURE_HEADER, verify_signature

TABLE = "bench_bare_webhook_events"
MAX_BODY = 3 * 1024 * 1024


def create_app(database_url: str, app_secret: str) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(database_url, min_size=4, max_size=20)
        async with pool.acquire() as connection:
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id uuid PRIMARY KEY, raw_body bytea NOT NULL, "
                "headers jsonb NOT NULL, body_sha256 varchar(64) NOT NULL, status varchar(20) NOT NULL, "
                "received_at timestamptz NOT NULL DEFAULT now())"
            )
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/webhook")
    async def receive(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return Response(status_code=413)
        if not verify_signature(raw, request.headers.get(SIGNATURE_HEADER), [app_secret]):
            return Response(status_code=401)
        event_id = uuid.uuid4()
        assert pool is not None
        await pool.execute(
            f"INSERT INTO {TABLE} (id, raw_body, headers, body_sha256, status) VALUES ($1, $2, $3, $4, 'received')",
            event_id,
            raw,
            json.dumps({"x-hub-signature-256": request.headers.get(SIGNATURE_HEADER, "")}),
            hashlib.sha256(raw).hexdigest(),
        )
        return JSONResponse({"status": "ok", "eventId": str(event_id)})

    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.bare_ingest")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_APP_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
