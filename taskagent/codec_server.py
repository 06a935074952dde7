"""The codec server: decrypts payloads for the Temporal Web UI and the `temporal` CLI.

    python starter.py codec-server --port 8081        # with TASKAGENT_ENCRYPTION_KEYS set

It speaks Temporal's remote codec protocol: `POST /decode` and `POST /encode` take and return
`{"payloads": [...]}` in protobuf JSON. CORS lets the Web UI's origin (TASKAGENT_WEB_UI) call it
from the browser. With `--token`, every request must carry `Authorization: Bearer <token>` (the
Web UI passes its user's access token when told to; the CLI takes `--codec-auth`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from taskagent.encryption import EncryptionError

MAX_BODY_BYTES = 8 * 1024 * 1024
Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def codec_app(codec: PayloadCodec, origins: Sequence[str], token: str | None = None) -> Starlette:
    """The codec server's application: `codec` applied to what the Web UI or the CLI sends."""

    async def encode(request: Request) -> Response:
        return await _apply(request, codec.encode, token)

    async def decode(request: Request) -> Response:
        return await _apply(request, codec.decode, token)

    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["content-type", "x-namespace", "authorization"],
            allow_credentials=True,
        )
    ]
    routes = [
        Route("/encode", encode, methods=["POST"]),
        Route("/decode", decode, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=middleware)


async def _apply(request: Request, transform: Transform, token: str | None) -> Response:
    if token is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"error": "the request is too large"}, status_code=413)
    try:
        payloads = json_format.Parse(body, Payloads())
    except json_format.ParseError as err:
        return JSONResponse({"error": f"not a Payloads message: {err}"}, status_code=400)
    try:
        done = await transform(list(payloads.payloads))
    except EncryptionError as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    text = json_format.MessageToJson(Payloads(payloads=done))
    return Response(text, media_type="application/json")
