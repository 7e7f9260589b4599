"""How the server says no: a body over the size limit, work past the time limit, and a
request the schema refuses, each as one line a person can act on."""

from __future__ import annotations

import json
from typing import Any


class RequestTimeout(Exception):
    """The request's model work ran past ``--timeout``."""


class BodyLimit:
    """ASGI middleware: a request body over ``max_body`` bytes gets a 413 before it is
    parsed. A declared length is checked at once; a body sent without one is read here,
    counted, and handed on whole."""

    def __init__(self, app, max_body: int):
        self.app, self.max_body = app, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_body:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return await self._refuse(send)
            more = message.get("more_body", False)
        handed = False

        async def replay():
            nonlocal handed
            if handed:
                return await receive()
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {"error": f"the request body is over this server's limit of {self.max_body:,} bytes (--max-body)"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def one_line(errors: list[dict[str, Any]]) -> str:
    """The first of pydantic's errors, in the words the CLI would use."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    kind = first.get("type", "")
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    field = ".".join(where)
    if kind == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return f"the body is not JSON ({detail})" if detail else "the body is not JSON"
    if kind == "extra_forbidden":
        return f"unknown field {field!r} (see GET /docs for the fields each endpoint takes)"
    if kind == "missing":
        return f"field {field!r} is required"
    if kind == "model_attributes_type" or not field:
        return "the body must be a JSON object"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"field {field!r}: {first.get('msg', 'not valid')}{more}"
