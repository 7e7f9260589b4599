"""`charloom serve` under load on loopback: requests per second, latency and memory, with
the same requests made in-process through the Python API as the baseline.

    python bench/serve.py [--run RUN] [--clients 8] [--seconds 30] [--json] [--write docs/benchmarks.md]

Without ``--run`` a names transformer is trained for 60 s first. Each client sends, in
turn, a sample (n 10, temperature 0.8), a next-character request for a name so far and a
stream of one name, each with its own seed; a request that does not answer 200 counts as
an error. The server's resident memory is read from /proc at the start and the end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from common import REPO, parser, report, scratch

from charloom import train
from charloom.run import load_run

KINDS = ("sample", "next", "stream")


def request_for(kind: str, number: int) -> tuple[str, dict]:
    if kind == "sample":
        return "sample", {"n": 10, "seed": number, "temperature": 0.8}
    if kind == "next":
        return "next", {"text": "ma" if number % 2 else "jo", "k": 10}
    return "stream", {"seed": number, "max_new_tokens": 30}


def served_call(base: str, run: str, kind: str, number: int) -> bool:
    route, body = request_for(kind, number)
    data = json.dumps(body).encode()
    ask = urllib.request.Request(f"{base}/v1/runs/{run}/{route}", data, {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(ask, timeout=60) as answer:
            answer.read()
            return answer.status == 200
    except OSError:
        return False


def in_process_call(run, kind: str, number: int) -> bool:
    route, body = request_for(kind, number)
    if route == "sample":
        run.sample(**body)
    elif route == "next":
        run.next_chars(body["text"], top=body["k"])
    else:
        "".join(run.stream(**body))
    return True


def load(call, clients: int, seconds: float) -> dict:
    """``clients`` threads calling ``call(kind, number)`` in turn for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        number = index * 1_000_000
        while time.monotonic() < stop:
            kind = KINDS[number % len(KINDS)]
            started = time.perf_counter()
            ok = call(kind, number)
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                errors[0] += not ok
            number += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors[0],
    }


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(run_path: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "charloom", "serve", str(run_path), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", help="a names run to serve (default: train a transformer for 60 s)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    run_path = Path(args.run) if args.run else None
    if run_path is None:
        run_path = train(
            "names", "transformer", out=scratch() / "names", time_budget=60, log=lambda m: None
        ).path
    run = load_run(run_path, device="cpu")
    baseline = load(lambda kind, number: in_process_call(run, kind, number), args.clients, args.seconds)
    process, base = start_server(run_path)
    try:
        name = run_path.name
        served_call(base, name, "sample", 0)  # the first request warms the server up
        memory_start = resident_mb(process.pid)
        served = load(lambda kind, number: served_call(base, name, kind, number), args.clients, args.seconds)
        memory_end = resident_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
    rows = [
        {"through": "Run (in process)", **baseline},
        {
            "through": "charloom serve (HTTP)",
            **served,
            "rss_start_mb": memory_start,
            "rss_end_mb": memory_end,
        },
    ]
    ratio = served["per_s"] / baseline["per_s"]
    report(
        rows,
        args,
        "serve",
        f"charloom serve under load: {args.clients} clients for {args.seconds:g} s (bench/serve.py)",
        notes=f"The server answers {ratio:.2f}x the requests per second of the same calls made in-process. "
        "Requests: sample (n 10), next (k 10) and stream (one name) in turn; latency per request.",
    )


if __name__ == "__main__":
    main()
