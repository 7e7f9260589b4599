"""The learning-rate sweep as the lecture draws it: loss against log10(rate)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from charloom.inspect.diagnostics.plots import pyplot


def plot_lr_sweep(sweep: dict[str, Any], path: str | Path) -> Path:
    """Each step's loss (faint) and the smoothed loss against log10(rate), the suggested
    rate marked; written to ``path`` (PNG)."""
    plt = pyplot()
    exponents = [math.log10(rate) for rate in sweep["rates"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(exponents, sweep["losses"], alpha=0.3, lw=0.8, label="step loss")
    ax.plot(exponents, sweep["smoothed"], lw=1.8, label="smoothed")
    if sweep["suggested_lr"]:
        ax.axvline(math.log10(sweep["suggested_lr"]), color="crimson", ls="--",
                   label=f"suggested {sweep['suggested_lr']:.3g}")  # fmt: skip
    ax.set_xlabel("log10(learning rate)")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title(f"learning-rate sweep: {sweep['family']}, {sweep['optimizer']}")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
