"""Plot ``GET /api/search`` latency (p50, p99) against corpus size from bench/results/warm_api.json.

.venv/bin/python -m bench.plot      # → bench/results/latency_vs_corpus.png
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import json
import sys
from pathlib import Path

from bench.common import RESULTS


def plot(source: Path | None = None, target: Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads((source or RESULTS / "warm_api.json").read_text())
    sizes = sorted(data["sizes"], key=lambda r: r["entries"])
    x = [r["entries"] for r in sizes]
    clients = data["clients"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    series = [
        ("concurrent", "median", f"p50, {clients} concurrent clients", "-o", "tab:blue"),
        ("concurrent", "p99", f"p99, {clients} concurrent clients", "--o", "tab:blue"),
        ("sequential", "median", "p50, 1 client", "-s", "tab:green"),
        ("sequential", "p99", "p99, 1 client", "--s", "tab:green"),
    ]
    for key, stat, label, style, color in series:
        y = [r[key]["latency_ms"][stat] for r in sizes]
        ax.plot(x, y, style, color=color, label=label)
        for xi, yi in zip(x, y):
            if stat == "median":
                ax.annotate(f"{yi:.0f}", (xi, yi), textcoords="offset points", xytext=(4, -12), fontsize=8, color=color)
    ax.axhline(20, color="tab:red", linestyle=":", linewidth=1, label="target p50 ≤ 20 ms (10k entries)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ax.yaxis.set_major_locator(FixedLocator([5, 10, 20, 50, 100, 200, 500, 1000, 2000]))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v:,}" for v in x])
    ax.set_xlabel("entries in the index")
    ax.set_ylabel("latency per request (ms)")
    m = data["machine"]
    ax.set_title(
        f"GET /api/search on synapse serve — {m['cores']} cores, load {m['load_average_1_5_15'][0]}", fontsize=10
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = target or RESULTS / "latency_vs_corpus.png"
    fig.savefig(out)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(plot())
    sys.exit(0)
