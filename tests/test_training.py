import math
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from losslandscape.checkpoints import load_checkpoints, model_from_checkpoints, save_checkpoints
from losslandscape.datasets import save_dataset
from losslandscape.evaluation import evaluate
from losslandscape.stages.train import resume_folder_for
from losslandscape.training import HISTORY_COLUMNS, crop_flip, train_run
from tests.conftest import make_dataset


def test_history_has_a_row_per_epoch_and_training_learns(toy_run):
    checkpoints, history = toy_run
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [0, 1, 2, 3, 4]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert checkpoints["epochs"] == [0, 1, 2, 3, 4]
    assert len(checkpoints["state_dicts"]) == 5


def test_history_losses_are_the_checkpoints_losses(toy_run, toy_dataset):
    checkpoints, history = toy_run
    model = model_from_checkpoints(checkpoints)
    loss, accuracy = evaluate(model, toy_dataset["x_train"], toy_dataset["y_train"])
    assert math.isclose(loss, history["train_loss"].iloc[-1], rel_tol=1e-6)
    assert accuracy == history["train_accuracy"].iloc[-1]


def test_same_seed_gives_identical_weights_and_other_seed_differs(toy_dataset, toy_run):
    again, _ = train_run(
        toy_dataset, "mnist1d_cnn", "relu", seed=7, epochs=4, learning_rate=1e-2, batch_size=50
    )
    other, _ = train_run(
        toy_dataset, "mnist1d_cnn", "relu", seed=8, epochs=4, learning_rate=1e-2, batch_size=50
    )
    for name, tensor in toy_run[0]["state_dicts"][-1].items():
        assert torch.equal(tensor, again["state_dicts"][-1][name])
    assert not torch.equal(
        toy_run[0]["state_dicts"][-1]["classifier.weight"],
        other["state_dicts"][-1]["classifier.weight"],
    )


def test_checkpoint_schedule_keeps_first_every_kth_and_last(toy_dataset):
    checkpoints, _ = train_run(
        toy_dataset, "mlp", "tanh", seed=1, epochs=5, learning_rate=1e-3, checkpoint_every=2
    )
    assert checkpoints["epochs"] == [0, 2, 4, 5]


def test_checkpoints_round_trip_as_plain_data(tmp_path, toy_run):
    path = tmp_path / "checkpoints.pt"
    save_checkpoints(toy_run[0], path)
    loaded = load_checkpoints(path)  # weights_only=True inside
    assert loaded["epochs"] == toy_run[0]["epochs"] and loaded["activation"] == "relu"
    broken = dict(toy_run[0], epochs=[0, 1])
    save_checkpoints(broken, path)
    with pytest.raises(ValueError, match="one state dict per saved epoch"):
        load_checkpoints(path)


def test_a_diverging_run_stops_early_marked_and_keeps_its_finite_checkpoints(toy_dataset, caplog):
    checkpoints, history = train_run(
        toy_dataset, "mlp", "relu", seed=3, epochs=5, learning_rate=1e12, optimizer="sgd"
    )
    diverged = checkpoints["diverged_epoch"]
    assert 1 <= diverged < 5 and history["epoch"].iloc[-1] == diverged
    assert history["diverged"].tolist() == [0] * diverged + [1]
    assert not math.isfinite(history["train_loss"].iloc[-1])
    assert checkpoints["epochs"] == list(range(diverged))
    for state in checkpoints["state_dicts"]:
        assert all(torch.isfinite(t).all() for t in state.values())
    assert (
        f"diverged at epoch {diverged}" in caplog.text and "lower the learning rate" in caplog.text
    )


def test_a_killed_training_resumes_to_exactly_the_uninterrupted_weights(tmp_path):
    """SIGKILL a training job after a few epochs; the rerun continues from its saved
    progress and ends bit for bit where an uninterrupted run ends (CPU, one thread)."""
    dataset = make_dataset(n_train=3000, n_test=200, seed=3)
    save_dataset(dataset, tmp_path / "data.pt")
    out = tmp_path / "checkpoints.pt"
    args = [sys.executable, "-m", "losslandscape", "train", "--dataset", str(tmp_path / "data.pt")]
    args += ["--model", "mnist1d_cnn", "--activation", "relu", "--seed", "5", "--epochs", "40"]
    args += ["--learning-rate", "1e-2", "--batch-size", "50", "--checkpoint-every", "3"]
    args += ["--plateau-factor", "0.5", "--plateau-patience", "1", "--device", "cpu"]
    args += ["--checkpoints", str(out), "--history", str(tmp_path / "history.csv")]
    job = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    state = resume_folder_for(out) / "state.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state.exists() and torch.load(state, weights_only=True)["epoch"] >= 4:
            break
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL and not out.exists(), "finished before the kill"
    killed_at = torch.load(state, weights_only=True)["epoch"]
    assert 4 <= killed_at < 40

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resuming relu seed 5 after epoch {killed_at}" in rerun.stderr
    assert not resume_folder_for(out).exists()
    resumed = load_checkpoints(out)

    torch.set_num_threads(1)
    reference, history = train_run(
        dataset,
        "mnist1d_cnn",
        "relu",
        seed=5,
        epochs=40,
        learning_rate=1e-2,
        batch_size=50,
        checkpoint_every=3,
        plateau_factor=0.5,
        plateau_patience=1,
    )
    assert resumed["epochs"] == reference["epochs"]
    for saved, expected in zip(resumed["state_dicts"], reference["state_dicts"], strict=True):
        for name, tensor in expected.items():
            assert torch.equal(saved[name], tensor), name
    rows = pd.read_csv(tmp_path / "history.csv")
    assert rows["epoch"].tolist() == list(range(41))
    assert rows["learning_rate"].tolist() == history["learning_rate"].tolist()


def test_crop_flip_crops_padded_images_and_mirrors_some_deterministically():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    first = crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    again = crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    assert first.shape == images.shape and torch.equal(first, again)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for index in range(2):
        windows = [padded[index, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        candidates = windows + [w.flip(-1) for w in windows]
        assert any(torch.equal(first[index], c) for c in candidates)
    many = crop_flip(images.repeat(50, 1, 1, 1), torch.Generator().manual_seed(1), padding=2)
    assert not all(torch.equal(many[i], many[0]) for i in range(0, 100, 2))  # offsets vary


def test_augmentation_is_refused_for_signals(toy_dataset):
    with pytest.raises(ValueError, match="augmentation 'crop_flip' needs images"):
        train_run(toy_dataset, "mnist1d_cnn", "relu", 0, 2, 1e-2, augmentation="crop_flip")


def test_training_with_augmentation_is_reproducible_and_differs_from_without():
    gen = torch.Generator().manual_seed(0)
    images = {
        "name": "tiny-images",
        "x_train": torch.randn(40, 3, 8, 8, generator=gen),
        "y_train": torch.randint(0, 3, (40,), generator=gen),
        "x_test": torch.randn(10, 3, 8, 8, generator=gen),
        "y_test": torch.randint(0, 3, (10,), generator=gen),
        "n_classes": 3,
        "input_shape": [3, 8, 8],
    }
    runs = [
        train_run(images, "small_cnn2d", "relu", 1, 2, 1e-2, batch_size=10, augmentation=a)[0]
        for a in ("crop_flip", "crop_flip", "none")
    ]
    final = [run["state_dicts"][-1]["classifier.2.weight"] for run in runs]
    assert torch.equal(final[0], final[1]) and not torch.equal(final[0], final[2])
