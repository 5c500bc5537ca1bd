import numpy as np
import pytest
import torch

from losslandscape.data.datasets import (
    load_dataset,
    prepare_dataset,
    save_dataset,
    tensor_checksum,
)


@pytest.fixture(scope="module")
def mnist1d():
    return prepare_dataset("mnist1d")


def test_mnist1d_has_the_papers_shapes_and_train_standardization(mnist1d):
    assert mnist1d["x_train"].shape == (4000, 40) and mnist1d["x_test"].shape == (1000, 40)
    assert mnist1d["x_train"].dtype == torch.float32 and mnist1d["y_train"].dtype == torch.int64
    assert mnist1d["n_classes"] == 10 and mnist1d["input_shape"] == [40]
    assert abs(float(mnist1d["x_train"].mean())) < 1e-5
    assert abs(float(mnist1d["x_train"].std()) - 1) < 1e-3


def test_preparing_twice_gives_identical_tensors_and_leaves_numpy_global_rng_alone(mnist1d):
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    again = prepare_dataset("mnist1d")
    assert np.random.rand() == expected
    assert again["sha256"] == mnist1d["sha256"]


def test_digits_split_is_fixed_and_disjoint():
    digits = prepare_dataset("digits")
    assert len(digits["y_train"]) + len(digits["y_test"]) == 1797
    assert digits["input_shape"] == [8, 8] and digits["n_classes"] == 10
    assert prepare_dataset("digits")["sha256"] == digits["sha256"]


def test_round_trip_and_corruption_is_detected(tmp_path, toy_dataset):
    path = tmp_path / "data.pt"
    save_dataset(toy_dataset, path)
    assert torch.equal(load_dataset(path)["x_train"], toy_dataset["x_train"])
    tampered = dict(toy_dataset, x_train=toy_dataset["x_train"] + 1)
    save_dataset(tampered, path)
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_dataset(path)
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"prepared data set .*data.pt: cannot be read"):
        load_dataset(path)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(
        ValueError, match="dataset 'cifar7' is unknown; choose one of mnist1d, digits"
    ):
        prepare_dataset("cifar7")


@pytest.mark.parametrize(
    ("split", "label", "found"),
    [
        ("test", 10, "1 test labels lie outside the 4 classes 0…3 .*found 10"),
        ("train", -1, "found -1"),
    ],
)
def test_labels_outside_the_classes_are_named_with_file_and_split(
    tmp_path, toy_dataset, split, label, found
):
    """Every stage reads its data through load_dataset: a label past the classes is named
    there, not met later as torch's bare index error in training or evaluation."""
    labels = toy_dataset[f"y_{split}"].clone()
    labels[0] = label
    bad = dict(toy_dataset, **{f"y_{split}": labels})
    bad["sha256"] = tensor_checksum(bad)
    path = tmp_path / "data.pt"
    save_dataset(bad, path)
    with pytest.raises(ValueError, match=f"prepared data set {path}: .*{found}"):
        load_dataset(path)


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: y.float(),  # not indices
        lambda y: y.int(),  # int32: cross_entropy would refuse it only in training
        lambda y: torch.nn.functional.one_hot(y),  # one-hot, 2-D
        lambda y: y[:-1],  # one label short
    ],
)
def test_labels_that_are_not_one_int64_index_per_input_are_refused(tmp_path, toy_dataset, labels):
    bad = dict(toy_dataset, y_train=labels(toy_dataset["y_train"]))
    bad["sha256"] = tensor_checksum(bad)
    save_dataset(bad, tmp_path / "data.pt")
    with pytest.raises(ValueError, match="train labels are torch.* expected int64 class indices"):
        load_dataset(tmp_path / "data.pt")
