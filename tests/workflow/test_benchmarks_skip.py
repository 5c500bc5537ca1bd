"""benchmarks/skip_connections.py in its --quick configuration: both nets train, both
extents are evaluated, and the table holds finite numbers for every net and extent."""

import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "skip_connections.py"
EXTENTS = ("0.5", "1")


def run_quick(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--threads", "1", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def table_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """(net, extent) → the row's remaining cells, from the lines after the table header."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("net "))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_quick_run_prints_finite_rows_for_both_nets_and_extents():
    result = run_quick("--target-accuracy", "0.8", "--extents", *EXTENTS)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {(net, e) for net in ("skip", "noshort") for e in EXTENTS}
    for key, cells in rows.items():
        accuracy, epochs, *numbers = cells
        assert float(accuracy.rstrip("%")) >= 80.0, key
        assert int(epochs) >= 1, key
        assert len(numbers) >= 3, key  # loss at the origin and at least two metrics
        for cell in numbers:
            assert math.isfinite(float(cell.lstrip("≥"))), (key, cell)
    assert "in their direction at every extent" in result.stdout
    assert "total wall time" in result.stdout


def test_lower_accuracy_target_needs_quick():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--target-accuracy", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "only with --quick" in result.stderr


def test_net_missing_its_target_exits_non_zero():
    result = run_quick("--max-epochs", "1", "--target-accuracy", "0.999")
    assert result.returncode == 1
    assert "FAILED" in result.stdout


def test_a_lower_bound_width_never_counts_as_narrower():
    """A noshort basin that reaches the window's edge gives only a lower bound on its
    width: below the skip net's it proves nothing, so the verdict cannot be "yes"."""
    import importlib.util

    import xarray as xr

    spec = importlib.util.spec_from_file_location("skip_connections", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    def widths(values, edges):
        return xr.Dataset(
            {
                "basin_height": ("level", [0.1, 0.3]),
                "basin_width": ("level", values),
                "basin_touches_edge": ("level", edges),
            }
        )

    skip = {"metrics": {1.0: widths([0.2, 0.4], [0, 0])}}
    bounded = {"metrics": {1.0: widths([0.05, 0.1], [1, 1])}}
    inside = {"metrics": {1.0: widths([0.05, 0.1], [0, 0])}}
    verdict = script.width_verdict({"skip": skip, "noshort": bounded}, [1.0])
    assert verdict.endswith(": no") and "2 undecided" in verdict
    assert script.width_verdict({"skip": skip, "noshort": inside}, [1.0]).endswith(": yes")
