"""benchmarks/learning_rate_sweep.py in its --quick configuration: every (activation, rate,
seed) trains and gets a row with finite numbers, and each activation gets its best rate."""

import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "learning_rate_sweep.py"


def test_quick_sweep_trains_each_activation_and_names_its_best_rate():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--rates", "0.01", "0.03"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("activation      rate"))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    assert {(row[0], row[1]) for row in rows} == {
        (activation, rate) for activation in ("relu", "tanh") for rate in ("0.01", "0.03")
    }
    assert all(math.isfinite(float(row[3])) and 0 < float(row[3]) < 10 for row in rows)
    best = next(i for i, line in enumerate(lines) if line.startswith("activation   best rate"))
    chosen = {line.split()[0]: line.split()[1] for line in lines[best + 1 : best + 3]}
    for activation, rate in chosen.items():
        losses = {row[1]: float(row[3]) for row in rows if row[0] == activation}
        assert losses[rate] == min(losses.values())
