"""A tiny imaginary "notes" service built on the fake kit, for the kit's tests.

It has token auth (header or ``access_token`` query parameter), page-number
pagination, a create endpoint that emits a ``note.created`` webhook, and a
leaky bucket of 5 requests draining 1 per second per token.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from servicesync import Clock
from servicesync_sdk.fakes import Decision, FakeService, HubSignature, LeakyBucket
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

PER_PAGE_MAX = 20


class NotesFake(FakeService):
    """The notes service: ``/notes``, ``/notes/{note_id}``, ``/webhooks``."""

    name = "notes"

    def __init__(self, *, clock: Clock | None = None, seed: int | None = None) -> None:
        super().__init__(clock=clock, seed=seed, base_url="http://notes.invalid")
        self.token = f"notes-token-{self.random.getrandbits(64):016x}"
        self.webhook_secret = f"notes-hook-{self.random.getrandbits(64):016x}"
        self.notes: dict[int, dict[str, Any]] = {}
        self.bucket = LeakyBucket(capacity=5, drain_per_second=1.0, clock=self.clock)
        self.add_rate_limit(self.bucket, reject=self._too_many, key=self._token_of)

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/notes", self.list_notes, methods=["GET"]),
            Route("/notes", self.create_note, methods=["POST"]),
            Route("/notes/{note_id:int}", self.get_note, methods=["GET"]),
            Route("/webhooks", self.create_webhook, methods=["POST"]),
        ]

    def credentials(self) -> dict[str, str]:
        return {"base_url": self.base_url, "token": self.token}

    def secrets(self) -> Iterable[str]:
        return [self.token, self.webhook_secret]

    def error_response(self, status: int, message: str) -> Response:
        code = {401: "unauthorized", 404: "not_found", 429: "rate_limited"}
        body = {"errors": [{"code": code.get(status, "error"), "message": message}]}
        return JSONResponse(body, status_code=status)

    async def authenticate(self, request: Request) -> Response | None:
        if self._token_of(request) != self.token:
            return self.error_response(401, "The token is missing or wrong.")
        return None

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        for note in records.get("notes", ()):
            self._store(dict(note))

    async def list_notes(self, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        per_page = min(int(request.query_params.get("per_page", "10")), PER_PAGE_MAX)
        ordered = [self.notes[k] for k in sorted(self.notes)]
        items = ordered[(page - 1) * per_page : page * per_page]
        pages = max(1, math.ceil(len(ordered) / per_page))
        return JSONResponse({"items": items, "page": page, "pages": pages})

    async def create_note(self, request: Request) -> Response:
        data = await request.json()
        if not data.get("title"):
            raise HTTPException(400, "A note needs a title.")
        note = self._store({"title": data["title"], "body": data.get("body", "")})
        self.webhooks.emit("note.created", {"event": "note.created", "note": note})
        return JSONResponse(note, status_code=201)

    async def get_note(self, request: Request) -> Response:
        note = self.notes.get(request.path_params["note_id"])
        if note is None:
            raise HTTPException(404, "No such note.")
        return JSONResponse(note)

    async def create_webhook(self, request: Request) -> Response:
        data = await request.json()
        scheme = HubSignature(self.webhook_secret)
        sub = self.webhooks.subscribe(
            data["url"], scheme, events=data.get("events", ())
        )
        return JSONResponse({"id": sub.id, "secret": self.webhook_secret}, 201)

    def _store(self, note: dict[str, Any]) -> dict[str, Any]:
        note_id = len(self.notes) + 1
        note = {**note, "id": note_id, "created": self.clock.now().isoformat()}
        self.notes[note_id] = note
        return note

    def _token_of(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ")
        return request.query_params.get("access_token", "")

    def _too_many(self, decision: Decision) -> Response:
        response = self.error_response(429, "Slow down.")
        response.headers["Retry-After"] = str(math.ceil(decision.retry_after))
        return response


def factory(*, clock: Clock, seed: int | None) -> NotesFake:
    """Build the notes fake; the ``servicesync.fakes`` entry point of the tests."""
    return NotesFake(clock=clock, seed=seed)
