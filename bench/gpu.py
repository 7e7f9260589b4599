"""The transformer on a GPU: nanoGPT's shakespeare_char size (6 layers, 6 heads, 384 wide,
context 256, batch 64, dropout 0.2) trained for a fixed time on the Shakespeare text of
scripts/fetch_text.py, with tokens per second, model FLOPs utilisation against the GPU's
bf16 matmul rate measured in the same run, and val loss over time; then the makemore-size
names transformer with its sampling throughput.

    python scripts/fetch_text.py && python bench/gpu.py --budget 180
    python bench/gpu.py --device cpu --budget 20 --small       # the same path, on the CPU, small

nanoGPT's own figure for this config: val 1.47 after 5,000 iterations (its README, one
A100, about three minutes). Its train.py can run beside this from a checkout given with
--nanogpt DIR (not done here).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from common import parser, report, scratch

from charloom import train
from charloom.device import resolve_device
from charloom.run import load_run

TEXT = Path(__file__).resolve().parents[1] / "data" / "text.txt"
NANOGPT = {"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "dropout": 0.2}
SMALL = {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 64, "dropout": 0.0}
NAMES = {"n_layer": 4, "n_head": 4, "n_embd": 64, "block_size": 16}


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int = 4096, repeats: int = 20) -> float:
    """FLOP/s of a large square matmul at ``dtype``: the rate the MFU is measured against."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_token(parameters: int, config: dict) -> float:
    """Training FLOPs per token, as the PaLM paper counts them: 6 N for the matmuls of
    forward and backward, plus 12 L T d for attention (T the context, d the width)."""
    return 6 * parameters + 12 * config["n_layer"] * config["block_size"] * config["n_embd"]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(data=str(TEXT))
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--budget", type=float, default=180.0, help="training seconds for the text model")
    p.add_argument("--small", action="store_true", help="a small model (for a look on the CPU)")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()
    device = resolve_device(args.device)
    if not Path(args.data).exists():
        raise SystemExit(f"no {args.data}: run python scripts/fetch_text.py first")
    dtype = torch.bfloat16 if args.dtype == "bfloat16" and device.type == "cuda" else torch.float32
    peak = matmul_peak(device, dtype, 1024 if args.small else 4096)
    config = SMALL if args.small else NANOGPT
    out = scratch()
    started = time.perf_counter()
    run = train(args.data, "transformer", out=out / "text", format="text", model_options=config,
                batch_size=64, lr=1e-3, time_budget=args.budget, eval_every=250, device=args.device,
                dtype=args.dtype if device.type == "cuda" else "float32", compile=args.compile,
                log=lambda m: None)  # fmt: skip
    wall = time.perf_counter() - started
    metrics = run.dir.read_metrics()
    status = run.info["status"]
    speeds = [m["tokens_per_s"] for m in metrics if m.get("tokens_per_s")]
    tokens_per_s = sorted(speeds)[len(speeds) // 2] if speeds else 0.0
    parameters = run.model.num_parameters()
    mfu = tokens_per_s * flops_per_token(parameters, config) / peak
    curve = ", ".join(f"{m['train_seconds']:.0f}s {m['val_loss']:.3f}" for m in metrics if m.get("val_loss"))
    names_budget = min(60.0, args.budget)
    names = train("names", "transformer", out=out / "names", model_options=NAMES, time_budget=names_budget,
                  device=args.device, log=lambda m: None)  # fmt: skip
    sampler = load_run(names.path, device=args.device)
    sampler.sample(n=100, seed=0)
    synchronize(device)
    begun = time.perf_counter()
    sampler.sample(n=10_000, seed=1)
    synchronize(device)
    sampled = time.perf_counter() - begun
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    rows = [
        {
            "model": "text transformer " + ("(small)" if args.small else "(nanoGPT shakespeare_char)"),
            "device": gpu,
            "dtype": str(dtype).replace("torch.", ""),
            "parameters": parameters,
            "steps": status["step"],
            "train s": status["train_seconds"],
            "tokens/s": tokens_per_s,
            "MFU vs measured matmul": mfu,
            "best val": status["val_nll"],
            "wall s": wall,
        },
        {
            "model": "names transformer (makemore size)",
            "device": gpu,
            "parameters": names.model.num_parameters(),
            "best val": names.info["status"]["val_nll"],
            "10,000 names sampled, s": sampled,
        },
    ]
    notes = f"Matmul rate measured here: {peak / 1e12:.1f} TFLOP/s at {dtype}. Val by training time: {curve}."
    report(rows, args, "gpu", "The transformer on a GPU (bench/gpu.py)", notes)


if __name__ == "__main__":
    main()
