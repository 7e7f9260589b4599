"""The ASGI app of ``charloom serve``: the JSON API over the runs and groups it was started
with, and the playground page.

Each request does its model work in a worker thread with its own random generator (the
pipeline seeds a ``torch.Generator`` per call), so concurrent requests share only the
read-only weights. Long work is cut into pieces with the deadline checked between them,
and a stream stops drawing when its client goes: nothing runs on for a client that left.
"""

import json
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from charloom.errors import CharloomError
from charloom.generate.samples import Samples
from charloom.run import Run, load_run
from charloom.serve.limits import BodyLimit, RequestTimeout, one_line
from charloom.serve.requests import (
    Limits,
    NextRequest,
    ScoreRequest,
    TransferRequest,
    request_models,
    sample_options,
)
from charloom.transfer.group import Group, load_group
from charloom.version import __version__

PIECE = 25  # items drawn between two looks at the clock


class Served:
    """The runs and groups one server holds, by name (the folder's, numbered if taken)."""

    def __init__(self, paths: list[str | Path], limits: Limits | None = None, device: str = "cpu"):
        self.limits = limits or Limits()
        self.runs: dict[str, Run] = {}
        self.groups: dict[str, Group] = {}
        for raw in paths:
            path = Path(raw)
            if (path / "group.json").exists():
                self.groups[_free_name(path.name, self.groups)] = load_group(path, device=device)
            elif (path / "run.json").exists():
                self.runs[_free_name(path.name, self.runs)] = load_run(path, device=device)
            else:
                raise CharloomError(f"{path} is neither a run (run.json) nor a run group (group.json)")

    def run(self, name: str) -> Run:
        if name not in self.runs:
            raise HTTPException(404, f"no run {name!r} here; runs: {', '.join(self.runs) or 'none'}")
        return self.runs[name]

    def group(self, name: str) -> Group:
        if name not in self.groups:
            raise HTTPException(404, f"no group {name!r} here; groups: {', '.join(self.groups) or 'none'}")
        return self.groups[name]


def _free_name(name: str, taken: dict) -> str:
    number, free = 2, name
    while free in taken:
        free, number = f"{name}-{number}", number + 1
    return free


def describe_run(name: str, run: Run) -> dict[str, Any]:
    status = run.info.get("status", {})
    return {
        "name": name,
        "family": run.family,
        "format": run.format,
        "parameters": run.model.num_parameters(),
        "categories": run.categories,
        "val_nll": status.get("val_nll"),
        "test_nll": status.get("test_nll"),
        "alphabet": "".join(c for c in run.vocab.chars if c.isprintable() or c in "\n\t"),
    }


def samples_json(samples: Samples, items: list) -> dict[str, Any]:
    return {
        "items": [sample.to_json() for sample in items],
        "requested": samples.requested,
        "returned": samples.returned,
        "tried": samples.tried,
        "kept": samples.kept,
        "exhausted": samples.exhausted,
        "marks": samples.marks(),
        "summary": samples.summary(),
    }


def draw_within(run: Run, n: int, seed: int | None, options: dict[str, Any], deadline: float) -> dict:
    """``Run.sample`` (in pieces past ``PIECE`` items, as ``sample_chunks``), given up with
    one line once ``deadline`` passes."""
    account = Samples(requested=n, budget=options.get("budget"))
    items: list = []
    for piece in run.sample_chunks(n, seed=seed, chunk=PIECE, **options):
        account.absorb(piece)
        items.extend(piece)
        if time.monotonic() > deadline and account.returned < n:
            raise RequestTimeout()
    return samples_json(account, items)


def create_app(served: Served) -> FastAPI:
    limits = served.limits
    # the bodies as declared now: the endpoints' annotations read these locals (this module
    # does not postpone annotations, so FastAPI sees the classes themselves)
    sample_request, stream_request = request_models()
    app = FastAPI(
        title="charloom",
        version=__version__,
        description="Generate, score and explore with trained charloom runs.",
    )
    app.add_middleware(BodyLimit, max_body=limits.max_body)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        status = 400 if errors and errors[0].get("type") == "json_invalid" else 422
        return JSONResponse({"error": one_line(errors)}, status_code=status)

    @app.exception_handler(CharloomError)
    async def refused(request: Request, exc: CharloomError) -> JSONResponse:
        return JSONResponse({"error": exc.spelled(flags=False).splitlines()[0]}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestTimeout)
    async def timed_out(request: Request, exc: RequestTimeout) -> JSONResponse:
        message = f"the request ran past this server's limit of {limits.timeout:g} s of work (--timeout)"
        return JSONResponse({"error": message}, status_code=503)

    async def work(fn, *args):
        return await run_in_threadpool(fn, *args)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "runs": len(served.runs), "groups": len(served.groups)}

    @app.get("/v1/runs")
    async def runs() -> dict:
        listed = [describe_run(name, run) for name, run in served.runs.items()]
        groups = [{"name": name, "categories": g.categories} for name, g in served.groups.items()]
        return {"runs": listed, "groups": groups}

    @app.post("/v1/runs/{name}/sample")
    async def sample(name: str, request: sample_request) -> dict:  # type: ignore[valid-type]
        run = served.run(name)
        n, seed, category, options = sample_options(request)
        limits.check(n, options)
        deadline = time.monotonic() + limits.timeout
        return await work(draw_within, run, n, seed, {**options, "category": category}, deadline)

    @app.post("/v1/runs/{name}/score")
    async def score(name: str, request: ScoreRequest) -> dict:
        run = served.run(name)
        return (await work(run.score, request.items)).to_json()

    @app.post("/v1/runs/{name}/next")
    async def next_chars(name: str, request: NextRequest) -> dict:
        run = served.run(name)
        found = await work(
            lambda: run.next_chars(
                request.text, top=request.k, temperature=request.temperature, category=request.category
            )
        )
        return {"text": request.text, "next": [{"char": c, "end": c == "", "p": p} for c, p in found]}

    @app.post("/v1/runs/{name}/stream")
    async def stream(name: str, request: stream_request) -> StreamingResponse:  # type: ignore[valid-type]
        run = served.run(name)
        _, seed, category, options = sample_options(request)
        limits.check(1, options)
        drawn = await work(lambda: run.stream(seed=seed, category=category, **options))
        deadline = time.monotonic() + limits.timeout
        return StreamingResponse(_events(drawn, deadline), media_type="text/event-stream")

    @app.post("/v1/groups/{name}/transfer")
    async def transfer(name: str, request: TransferRequest) -> dict:
        from charloom.transfer.complete import parse_cuts
        from charloom.transfer.table import transfer_table

        group = served.group(name)
        cuts = parse_cuts(request.cut)
        rows = await work(
            lambda: transfer_table(
                group,
                request.names,
                cuts,
                samples=request.samples,
                best_of=request.best_of,
                temperature=request.temperature,
                contrast=request.contrast,
                categories=[request.category] if request.category else None,
                seed=request.seed,
            )
        )
        return {"rows": [row.to_json() for row in rows]}

    @app.get("/", response_class=HTMLResponse)
    async def playground() -> str:
        return resources.files("charloom.serve").joinpath("playground.html").read_text(encoding="utf-8")

    return app


def _events(drawn, deadline: float) -> Iterator[str]:
    """Server-sent events: each piece as it is drawn, then the finished item. Starlette
    pulls each piece in a worker thread and stops pulling when the client disconnects."""
    for piece in drawn:
        yield f"data: {json.dumps({'text': piece})}\n\n"
        if time.monotonic() > deadline:
            yield f"event: error\ndata: {json.dumps({'error': 'the stream ran past --timeout'})}\n\n"
            return
    yield f"event: done\ndata: {json.dumps(drawn.sample.to_json())}\n\n"
