"""Seconds for all grid metrics of one landscape, for grids up to 500 × 500.

Prints one line per (surface, size): a smooth surface with a few minima and a rough one
with thousands of candidate minima (noise), the two ends of what landscapes look like.
Run: python benchmarks/metrics_speed.py
"""

import time

import numpy as np
import xarray as xr

from losslandscape.io import cf
from losslandscape.metrics.landscape import landscape_metrics
from losslandscape.metrics.minima import minima_depths


def surfaces(n: int) -> dict[str, np.ndarray]:
    axis = np.linspace(-3, 3, n)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    smooth = (xx**2 + yy - 2) ** 2 / 10 + (xx + yy**2 - 2) ** 2 / 10
    rough = smooth + 0.05 * np.random.default_rng(0).standard_normal(smooth.shape)
    return {"smooth": smooth, "rough": rough}, axis


def main() -> None:
    print(f"{'surface':>8} {'grid':>9} {'seconds':>8} {'candidates':>10} {'minima':>7}")
    for n in (101, 251, 501):
        grids, axis = surfaces(n)
        for name, loss in grids.items():
            landscape = xr.Dataset(
                {"train_loss": (("y", "x"), loss, cf.quantity("training loss", "nats"))},
                {"x": axis, "y": axis},
            )
            started = time.perf_counter()
            metrics = landscape_metrics(landscape)
            seconds = time.perf_counter() - started
            candidates = len(minima_depths(loss)[1])
            found = int(metrics.n_local_minima)
            print(f"{name:>8} {n:>4}×{n:<4} {seconds:8.2f} {candidates:10d} {found:7d}")


if __name__ == "__main__":
    main()
