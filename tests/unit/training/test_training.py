import math
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from losslandscape.data.datasets import save_dataset
from losslandscape.engine.evaluation import evaluate
from losslandscape.stages.train import resume_folder_for, run_train_model
from losslandscape.training.augmentation import crop_flip
from losslandscape.training.checkpoints import (
    load_checkpoints,
    model_from_checkpoints,
    save_checkpoints,
)
from losslandscape.training.loop import HISTORY_COLUMNS, train_run
from losslandscape.training.resume import ResumeStore
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
    assert loaded["target_loss"] is None and loaded["target_epoch"] == -1
    # checkpoints written before the target keys existed still load
    older = {k: v for k, v in toy_run[0].items() if k not in ("target_loss", "target_epoch")}
    save_checkpoints(older, path)
    assert load_checkpoints(path)["epochs"] == toy_run[0]["epochs"]
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


@pytest.mark.workflow
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


class _Interrupted(Exception):
    """Stands for the job being killed (the subprocess test above sends a real SIGKILL)."""


def test_an_interrupted_training_resumes_to_exactly_the_uninterrupted_weights(
    tmp_path, monkeypatch, caplog
):
    """In-process twin of the SIGKILL test: the train stage stops right after saving its
    progress at epoch 4 (what a kill between epochs leaves on disk); a second call resumes
    from there and ends bit for bit where an uninterrupted run ends."""
    dataset = make_dataset(n_train=600, n_test=100, seed=3)
    save_dataset(dataset, tmp_path / "data.pt")
    out = tmp_path / "checkpoints.pt"
    kwargs = dict(model_name="mnist1d_cnn", activation="relu", seed=5, epochs=12)
    kwargs |= dict(learning_rate=1e-2, batch_size=50, checkpoint_every=3)
    kwargs |= dict(plateau_factor=0.5, plateau_patience=1)
    files = dict(dataset=str(tmp_path / "data.pt"), checkpoints=str(out))
    files["history"] = str(tmp_path / "history.csv")
    save_state = ResumeStore.save_state

    def save_then_stop(store, state):
        save_state(store, state)
        if state["epoch"] >= 4:
            raise _Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(ResumeStore, "save_state", save_then_stop)
        with pytest.raises(_Interrupted):
            run_train_model(**files, device="cpu", **kwargs)
    assert not out.exists()
    killed_at = torch.load(resume_folder_for(out) / "state.pt", weights_only=True)["epoch"]
    assert killed_at == 4

    with caplog.at_level("INFO"):
        run_train_model(**files, device="cpu", **kwargs)
    assert f"resuming relu seed 5 after epoch {killed_at}" in caplog.text
    assert not resume_folder_for(out).exists()
    resumed = load_checkpoints(out)

    reference, history = train_run(dataset, **kwargs)
    assert resumed["epochs"] == reference["epochs"]
    for saved, expected in zip(resumed["state_dicts"], reference["state_dicts"], strict=True):
        for name, tensor in expected.items():
            assert torch.equal(saved[name], tensor), name
    rows = pd.read_csv(tmp_path / "history.csv")
    assert rows["epoch"].tolist() == list(range(13))
    assert rows["learning_rate"].tolist() == history["learning_rate"].tolist()


def test_cosine_rates_in_the_history_follow_the_closed_form(toy_dataset):
    """SGDR eq. 5 with η_min = 0 and T = epochs: after epoch e the rate is
    lr (1 + cos(π e / T)) / 2. The history records the rate *used* in each epoch (read
    before that epoch's scheduler step), so row e ≥ 1 holds the closed form at e − 1 and
    row 0 the initial rate."""
    epochs, lr = 6, 1e-2
    _, history = train_run(toy_dataset, "mlp", "tanh", 2, epochs, lr, cosine=True)
    expected = [lr] + [
        lr * (1 + math.cos(math.pi * (e - 1) / epochs)) / 2 for e in range(1, epochs + 1)
    ]
    assert history["learning_rate"].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert history["learning_rate"].iloc[-1] < lr / 10  # nearly annealed in the last epoch


@pytest.mark.parametrize(
    ("schedule", "named"),
    [({"plateau_factor": 0.5}, "a plateau"), ({"milestones": [2]}, "milestones [2]")],
)
def test_cosine_with_another_schedule_is_refused_naming_both(toy_dataset, schedule, named):
    with pytest.raises(ValueError, match=rf"found {re.escape(named)}.* and cosine annealing"):
        train_run(toy_dataset, "mlp", "relu", 0, 2, 1e-2, cosine=True, **schedule)


def test_a_reached_target_marks_the_history_from_its_first_epoch_on(toy_dataset, toy_run):
    """The target only marks: the run is the toy run bit for bit, its rows gain
    reached_target = 0…0 1…1 switching at the first epoch whose training loss is ≤ it."""
    plain_checkpoints, plain = toy_run
    assert plain["reached_target"].tolist() == [0] * 5  # no target: never reached
    assert plain_checkpoints["target_loss"] is None and plain_checkpoints["target_epoch"] == -1
    target = float(plain["train_loss"].iloc[2])
    checkpoints, history = train_run(
        toy_dataset,
        "mnist1d_cnn",
        "relu",
        seed=7,
        epochs=4,
        learning_rate=1e-2,
        batch_size=50,
        target_loss=target,
    )
    first = int(plain.loc[plain["train_loss"] <= target, "epoch"].iloc[0])
    assert 1 <= first <= 2 and checkpoints["target_epoch"] == first
    assert history["reached_target"].tolist() == [0] * first + [1] * (5 - first)
    assert checkpoints["target_loss"] == target
    pd.testing.assert_frame_equal(
        history.drop(columns=["seconds", "reached_target"]),
        plain.drop(columns=["seconds", "reached_target"]),
    )
    for name, tensor in plain_checkpoints["state_dicts"][-1].items():
        assert torch.equal(tensor, checkpoints["state_dicts"][-1][name])


def test_an_unreached_target_leaves_the_history_unmarked(toy_dataset):
    checkpoints, history = train_run(toy_dataset, "mlp", "relu", 1, 2, 1e-3, target_loss=0.0)
    assert history["reached_target"].tolist() == [0, 0, 0]
    assert checkpoints["target_epoch"] == -1 and checkpoints["target_loss"] == 0.0


@pytest.mark.parametrize("target", [-0.1, math.nan, math.inf])
def test_a_target_that_is_no_loss_is_refused(toy_dataset, target):
    with pytest.raises(ValueError, match="target_loss .*expected a finite loss"):
        train_run(toy_dataset, "mlp", "relu", 1, 2, 1e-3, target_loss=target)


def test_a_cosine_run_resumes_to_exactly_the_uninterrupted_weights(tmp_path, monkeypatch, caplog):
    """A cosine run with a target stopped right after saving its progress at epoch 3 (as a
    kill after that write would leave it) continues from there to the uninterrupted run's
    weights, rates and target marks; a rerun with another schedule or target does not
    pick up that progress."""
    dataset = make_dataset(n_train=300, n_test=100, seed=4)
    settings = dict(
        dataset=dataset,
        model_name="mnist1d_cnn",
        activation="relu",
        seed=5,
        epochs=6,
        learning_rate=1e-2,
        batch_size=50,
        checkpoint_every=2,
        cosine=True,
        target_loss=0.35,
    )
    reference, expected = train_run(**settings)
    below = (expected["train_loss"] <= 0.35).astype(int)
    assert expected["reached_target"].tolist() == below.cummax().tolist()  # stays 1

    class Killed(Exception):
        pass

    save_state = ResumeStore.save_state

    def stop_after(epoch: int):
        def save_then_stop(store, state):
            save_state(store, state)
            if state["epoch"] == epoch:
                raise Killed

        return save_then_stop

    folder = tmp_path / "resume"
    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(ResumeStore, "save_state", stop_after(3))
        train_run(**settings, resume_folder=folder)
    with caplog.at_level("INFO", logger="losslandscape.training.loop"):
        resumed, history = train_run(**settings, resume_folder=folder)
    assert "resuming relu seed 5 after epoch 3" in caplog.text
    assert resumed["epochs"] == reference["epochs"] == [0, 2, 4, 6]
    for saved, wanted in zip(resumed["state_dicts"], reference["state_dicts"], strict=True):
        for name, tensor in wanted.items():
            assert torch.equal(saved[name], tensor), name
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), expected.drop(columns="seconds"))
    assert resumed["target_epoch"] == reference["target_epoch"]

    # the folder now holds the finished run's progress; changed settings must not use it
    for changed in ({"cosine": False}, {"target_loss": 0.5}):
        caplog.clear()
        with monkeypatch.context() as patch, pytest.raises(Killed), caplog.at_level("INFO"):
            patch.setattr(ResumeStore, "save_state", stop_after(0))  # stop once it started
            train_run(**(settings | changed), resume_folder=folder)
        assert "from other settings; starting afresh" in caplog.text, changed
        assert "resuming" not in caplog.text, changed


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


@pytest.mark.parametrize("model", ["small_cnn2d", "resnet20", "convmlp_s"])
def test_training_grey_scale_images_with_crop_flip(model):
    """Digits and MNIST store (n, h, w): training with crop-and-flip runs on every image
    model (the loop had still refused anything but (n, c, h, w); new-user check)."""
    gen = torch.Generator().manual_seed(0)
    grey = {
        "name": "tiny-grey",
        "x_train": torch.randn(20, 8, 8, generator=gen),
        "y_train": torch.randint(0, 3, (20,), generator=gen),
        "x_test": torch.randn(10, 8, 8, generator=gen),
        "y_test": torch.randint(0, 3, (10,), generator=gen),
        "n_classes": 3,
        "input_shape": [8, 8],
    }
    ckpt, history = train_run(
        grey, model, "relu", 1, 1, 1e-3, batch_size=10, augmentation="crop_flip"
    )
    assert len(ckpt["state_dicts"]) == 2 and history["train_loss"].notna().all()


def test_crop_flip_keeps_grey_scale_images_without_a_channel_axis():
    """Digits and MNIST store (n, h, w): augmentation adds the channel axis and removes it
    again (issue 21: it had been refused only when training started)."""
    from losslandscape.training.augmentation import crop_flip

    images = torch.randn(5, 8, 8)
    out = crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    again = crop_flip(images[:, None], torch.Generator().manual_seed(0), padding=2)
    assert out.shape == images.shape
    torch.testing.assert_close(out, again[:, 0])
