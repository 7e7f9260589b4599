"""``charloom serve``: trained runs and run groups behind an HTTP API and a playground page."""

from __future__ import annotations

import argparse
import socket

from charloom.cli.app import add_device, command
from charloom.errors import CharloomError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _add_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_OR_GROUP", help="run folders and run groups to serve")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_device(p)
    limits = p.add_argument_group("limits per request")
    limits.add_argument(
        "--max-body", type=int, default=65_536, help="bytes of a request body (default 65536)"
    )
    limits.add_argument("--max-n", type=int, default=200, help="items per request (default 200)")
    limits.add_argument(
        "--max-new-tokens", type=int, default=2_000, help="characters per item (default 2000)"
    )
    limits.add_argument("--max-budget", type=int, default=20_000, help="draws per request (default 20000)")
    limits.add_argument("--timeout", type=float, default=30.0, help="seconds of model work (default 30)")


def _check_free(host: str, port: int) -> None:
    """A taken port or an address not on this machine, in one line before anything loads."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CharloomError(
                f"cannot listen on {host}:{port} ({exc.strerror}); give another --port or --host"
            ) from None


@command("serve", "an HTTP API and a web playground for trained runs (needs charloom[serve])", _add_serve)
def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from charloom.serve.app import Served, create_app
        from charloom.serve.requests import Limits
    except ImportError as exc:
        raise CharloomError(
            f"charloom serve needs the serve extra ({exc.name} is missing): pip install 'charloom[serve]'"
        ) from None
    for name in ("max_body", "max_n", "max_new_tokens", "max_budget", "timeout"):
        if getattr(args, name) <= 0:
            raise CharloomError(f"--{name.replace('_', '-')} must be above 0, got {getattr(args, name)}")
    if not 0 < args.port < 65_536:
        raise CharloomError(f"--port must be between 1 and 65535, got {args.port}")
    _check_free(args.host, args.port)
    limits = Limits(args.max_body, args.max_n, args.max_new_tokens, args.max_budget, args.timeout)
    served = Served(args.runs, limits, device=args.device)
    names = [*served.runs, *(f"{name} (group)" for name in served.groups)]
    where = "this machine only" if args.host in LOOPBACK else "REACHABLE FROM THE NETWORK"
    print(f"serving {', '.join(names)}")
    print(
        f"playground and API at http://{args.host}:{args.port}/ ({where}; API description at /docs)",
        flush=True,
    )
    uvicorn.run(create_app(served), host=args.host, port=args.port, log_level="warning")
    return 0
