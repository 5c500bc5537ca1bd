"""A data set in the user's own file: the three formats round-trip, every rule of
losslandscape.data.files is refused naming the file and what was found, and the torch-free
summary the workflow plans with (losslandscape.settings.datafile) agrees with the reader."""

import collections
import importlib.util
import pathlib
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from losslandscape.data import files
from losslandscape.data.datasets import DATASETS, prepare_dataset
from losslandscape.data.files import read_split_file
from losslandscape.settings import datafile
from losslandscape.settings.datafile import file_summary
from losslandscape.stages.data import run_prepare_dataset


def arrays(shape=(5,), n_train=12, n_test=6, n_classes=3, seed=0) -> dict[str, np.ndarray]:
    """A tiny split with every class in the training set and non-trivial statistics."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.normal(3.0, 2.0, (n_train, *shape)),
        "y_train": np.arange(n_train) % n_classes,
        "x_test": rng.normal(3.0, 2.0, (n_test, *shape)),
        "y_test": rng.integers(0, n_classes, n_test),
    }


def write(path, data: dict) -> None:
    """Write ``data`` in the format of ``path``'s extension, as a user would."""
    suffix = path.suffix.lower()
    if suffix == ".pt":
        torch.save(
            {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in data.items()},
            path,
        )
    elif suffix == ".npz":
        with open(path, "wb") as stream:  # np.savez appends .npz to a name like data.NPZ
            np.savez(stream, **data)
    else:
        frames = [
            pd.DataFrame(
                data[f"x_{split}"], columns=[f"f{i}" for i in range(data["x_train"].shape[1])]
            ).assign(label=data[f"y_{split}"], split=split)
            for split in ("train", "test")
        ]
        pd.concat(frames).to_csv(path, index=False)


def escaped(path) -> str:
    return re.escape(str(path))


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".npz", ".csv", ".NPZ"])
def test_every_format_reads_back_what_was_written(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    data = arrays()
    write(path, data)
    read = read_split_file(path)
    for key, value in data.items():
        np.testing.assert_allclose(read[key], value, rtol=0, atol=1e-12 if key[0] == "x" else 0)
    assert read["x_train"].dtype == np.float64 and read["y_train"].dtype == np.int64
    assert "n_classes" not in read


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
def test_image_inputs_keep_their_shape_and_n_classes_is_read(tmp_path, suffix):
    path = tmp_path / f"images{suffix}"
    data = arrays(shape=(3, 8, 8), n_classes=3)
    write(path, dict(data, n_classes=np.int64(7) if suffix == ".npz" else 7))
    read = read_split_file(path)
    assert read["x_train"].shape == (12, 3, 8, 8) and read["x_test"].shape == (6, 3, 8, 8)
    assert read["n_classes"] == 7 and isinstance(read["n_classes"], int)


def test_a_pt_may_hold_numpy_arrays_and_float_labels_without_fractions(tmp_path):
    data = arrays()
    path = tmp_path / "numpy.pt"
    torch.save(dict(data, y_train=data["y_train"].astype(np.float32)), path)
    read = read_split_file(path)
    np.testing.assert_array_equal(read["y_train"], data["y_train"])
    assert read["y_train"].dtype == np.int64


@pytest.mark.parametrize("suffix", [".pt", ".npz", ".csv"])
def test_prepare_dataset_standardizes_with_training_statistics(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    data = arrays()
    write(path, data)
    dataset = prepare_dataset("file", path=path)
    assert dataset["name"] == f"file:{path.name}" and dataset["path"] == str(path)
    assert dataset["n_classes"] == 3 and dataset["input_shape"] == [5]
    x_train = dataset["x_train"].double()
    assert abs(float(x_train.mean())) < 1e-6 and abs(float(x_train.std(unbiased=False)) - 1) < 1e-6
    mean, std = data["x_train"].mean(), data["x_train"].std()
    np.testing.assert_allclose(dataset["x_test"].numpy(), (data["x_test"] - mean) / std, atol=1e-5)
    assert torch.equal(dataset["y_test"], torch.from_numpy(data["y_test"]).long())


def test_images_are_standardized_per_channel_and_n_classes_comes_from_the_file(tmp_path):
    path = tmp_path / "images.npz"
    data = arrays(shape=(3, 4, 4))
    data["x_train"][:, 1] *= 10  # channels with different scales
    np.savez(path, n_classes=5, **data)
    dataset = prepare_dataset("file", path=path)
    per_channel = dataset["x_train"].double().transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(per_channel.mean(1).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(per_channel.std(1, unbiased=False).numpy(), 1, atol=1e-6)
    assert len(dataset["normalization"]["mean"]) == 3 and dataset["n_classes"] == 5


def test_file_is_the_last_dataset_name_and_needs_a_path():
    assert DATASETS[-1] == "file"
    with pytest.raises(
        ValueError,
        match=r"a data set file \(d.csv\) is read only for dataset "
        r"'file'; found dataset 'mnist1d'",
    ):
        prepare_dataset("mnist1d", path="d.csv")
    with pytest.raises(ValueError, match="dataset 'file' is read from dataset.path"):
        prepare_dataset("file")


def test_the_stage_writes_the_prepared_file(tmp_path):
    path = tmp_path / "data.csv"
    write(path, arrays())
    out = tmp_path / "prepared.pt"
    run_prepare_dataset("file", str(out), path=str(path))
    assert torch.load(out, weights_only=True)["path"] == str(path)


# --- errors -----------------------------------------------------------------------------


def test_an_unknown_extension_names_the_three(tmp_path):
    path = tmp_path / "data.h5"
    path.write_bytes(b"")
    message = (
        f"data file {escaped(path)}: extension '.h5' is unknown; expected one of .pt, .npz, .csv"
    )
    for read in (read_split_file, file_summary):
        with pytest.raises(ValueError, match=message):
            read(path)


@pytest.mark.parametrize("read", [read_split_file, file_summary])
def test_a_missing_file_is_named(tmp_path, read):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError, match=f"data file {escaped(path)}: no such file"):
        read(path)


@pytest.mark.parametrize(
    ("suffix", "found"),
    [
        (".pt", r"missing keys \['y_test'\]; found \['x_test', 'x_train', 'y_train'\]"),
        (".npz", r"missing arrays \['y_test'\]; found \['x_test', 'x_train', 'y_train'\]"),
    ],
)
@pytest.mark.parametrize("read", [read_split_file, file_summary])
def test_missing_keys_are_named_with_those_found(tmp_path, suffix, found, read):
    path = tmp_path / f"data{suffix}"
    data = arrays()
    del data["y_test"]
    write(path, data)
    with pytest.raises(ValueError, match=f"data file {escaped(path)}: {found}"):
        read(path)


@pytest.mark.parametrize("read", [read_split_file, file_summary])
def test_missing_csv_columns_are_named_with_those_found(tmp_path, read):
    path = tmp_path / "data.csv"
    path.write_text("a,b,class,split\n1,2,0,train\n")
    found = r"missing columns \['label'\]; found \['a', 'b', 'class', 'split'\]"
    with pytest.raises(ValueError, match=f"{escaped(path)}: {found}"):
        read(path)


def bad_file(tmp_path, suffix=".npz", **changes) -> object:
    path = tmp_path / f"bad{suffix}"
    write(path, dict(arrays(), **changes))
    return path


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        (
            {"x_test": np.zeros((0, 5)), "y_test": np.zeros(0, int)},
            r"the test split has no samples \(x_test has shape \[0, 5\]\)",
        ),
        ({"y_train": np.zeros(11, int)}, r"y_train has shape \[11\] but x_train holds 12 samples"),
        (
            {"x_test": np.zeros((6, 4))},
            r"train inputs have shape \[5\] per sample, test inputs \[4\]",
        ),
        (
            {"y_test": np.array([0, 1, 2, 1.5, 0, 0])},
            r"y_test: 1 labels are not integers \(found 1.5\)",
        ),
        ({"y_train": np.array(["cat"] * 12)}, r"y_train: labels are <U3 \(found 'cat'\)"),
        (
            {"y_test": np.array([0, -1, 2, -3, 0, 0])},
            r"y_test: 2 labels are negative \(found -1, -3\)",
        ),
        (
            {"x_train": np.full((12, 5), np.nan)},
            r"x_train holds 60 non-finite values \(NaN or ±inf\) among 60",
        ),
        ({"n_classes": 2}, r"n_classes is 2 but the largest label is 2; expected n_classes ≥ 3"),
        ({"x_train": np.zeros(12)}, r"x_train is float64 of shape \[12\]; expected numbers"),
    ],
)
def test_broken_rules_name_the_file_and_what_was_found(tmp_path, changes, found):
    path = bad_file(tmp_path, **changes)
    with pytest.raises(ValueError, match=f"data file {escaped(path)}: {found}"):
        read_split_file(path)


def test_a_pt_with_bad_labels_and_infinite_inputs_is_refused(tmp_path):
    x_test = arrays()["x_test"]
    x_test[0, :2] = np.inf
    path = bad_file(tmp_path, ".pt", x_test=x_test)
    with pytest.raises(ValueError, match=f"{escaped(path)}: x_test holds 2 non-finite values"):
        read_split_file(path)
    path = bad_file(tmp_path, ".pt", y_train=np.arange(12) + 0.25)
    with pytest.raises(ValueError, match=f"{escaped(path)}: y_train: 12 labels are not integers"):
        read_split_file(path)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "a,label,split\n1,0,train\n2,1,validation\n",
            r"column `split` holds \['validation'\]; expected only train or test",
        ),
        (
            "a,label,split\n1,0,train\n2,x,test\n",
            r"column 'label' holds 1 labels that are not numbers \(e.g. 'x' in data row 2\)",
        ),
        (
            "a,label,split\n1,0,train\n2,0.5,test\n",
            r"y_test: 1 labels are not integers \(found 0.5\)",
        ),
        (
            "a,label,split\n1,0,train\nhigh,1,test\n",
            r"column 'a' holds 1 values that are not numbers \(e.g. 'high' in data row 2\)",
        ),
        ("a,label,split\n1,0,train\n,1,test\n", r"x_test holds 1 non-finite values"),
        ("a,label,split\n1,0,train\n", r"the test split has no samples"),
        ("label,split\n0,train\n1,test\n", r"no feature columns; found only \['label', 'split'\]"),
    ],
)
def test_csv_rules_name_the_file_and_what_was_found(tmp_path, text, found):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"data file {escaped(path)}: {found}"):
        read_split_file(path)


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
@pytest.mark.parametrize("read", [read_split_file, file_summary])
def test_a_file_that_is_not_its_format_cannot_be_read(tmp_path, suffix, read):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match=f"data file {escaped(path)}: cannot be read"):
        read(path)


# --- the summary the workflow plans with ------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "shape"),
    [(".pt", (7,)), (".npz", (7,)), (".csv", (7,)), (".pt", (3, 8, 8)), (".npz", (3, 8, 8))],
)
def test_the_summary_agrees_with_the_reader(tmp_path, suffix, shape):
    """A .csv holds 1-D inputs only; the others hold image-shaped ones too."""
    path = tmp_path / f"data{suffix}"
    write(path, arrays(shape=shape, n_train=9, n_test=4))
    read = read_split_file(path)
    summary = (read["x_train"].shape[1:], len(read["y_train"]), len(read["y_test"]))
    assert file_summary(path) == summary == (shape, 9, 4)


def test_the_summary_reads_compressed_npz_numpy_arrays_in_a_pt_and_parameters(tmp_path):
    data = arrays(shape=(2, 3), n_train=4, n_test=3)
    np.savez_compressed(tmp_path / "data.npz", **data)
    assert file_summary(tmp_path / "data.npz") == ((2, 3), 4, 3)
    torch.save(dict(data, n_classes=np.int64(3)), tmp_path / "numpy.pt")
    assert file_summary(tmp_path / "numpy.pt") == ((2, 3), 4, 3)
    tensors = {k: torch.as_tensor(v) for k, v in data.items()}
    # a parameter, strided (a transposed view), in an OrderedDict
    tensors["x_train"] = torch.nn.Parameter(torch.zeros(4, 3, 2).transpose(1, 2))
    torch.save(collections.OrderedDict(tensors), tmp_path / "mixed.pt")
    assert file_summary(tmp_path / "mixed.pt") == ((2, 3), 4, 3)
    tensors["x_test"] = tensors["x_test"][:, :, :2]
    torch.save(tensors, tmp_path / "mismatch.pt")
    with pytest.raises(
        ValueError, match=r"train inputs have shape \[2, 3\] per sample, test inputs \[2, 2\]"
    ):
        file_summary(tmp_path / "mismatch.pt")


def test_the_summary_reads_npy_format_version_2(tmp_path):
    """np.savez writes version 1.0 headers; 2.0 (a uint32 length) appears past 64 KiB of
    header, here written by hand."""
    from numpy.lib import format as npy

    path = tmp_path / "v2.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays(shape=(4,), n_train=3, n_test=2).items():
            with archive.open(f"{key}.npy", "w") as member:
                npy.write_array(member, value, version=(2, 0))
    assert file_summary(path) == ((4,), 3, 2)
    assert read_split_file(path)["x_train"].shape == (3, 4)


class _Touches:
    """Pickles as a call of Path.touch: unpickling it the ordinary way would run it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_the_summary_runs_no_code_of_the_file(tmp_path):
    marker = tmp_path / "touched"
    path = tmp_path / "payload.pt"
    torch.save(dict(arrays(), extra=_Touches(marker)), path)
    assert file_summary(path) == ((5,), 12, 6)
    assert not marker.exists()
    with pytest.raises(ValueError, match=f"data file {escaped(path)}: cannot be read"):
        read_split_file(path)  # torch's weights-only unpickler refuses it
    assert not marker.exists()


def test_the_summary_refuses_what_is_not_a_tensor(tmp_path):
    path = tmp_path / "lists.pt"
    torch.save({k: v.tolist() for k, v in arrays().items()}, path)
    with pytest.raises(ValueError, match=f"{escaped(path)}: x_train is a list; expected a tensor"):
        file_summary(path)


def test_an_unknown_csv_split_is_named_with_its_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,label,split\n1,0,train\n\n2,1,valid\n")
    with pytest.raises(ValueError, match=f"{escaped(path)}: line 4 has split 'valid'"):
        file_summary(path)


def test_the_torch_free_summary_and_the_reader_share_their_vocabulary():
    for name in ("FORMATS", "SPLITS", "SPLIT_KEYS", "CSV_COLUMNS", "WHAT"):
        assert getattr(datafile, name) == getattr(files, name), name


def test_the_summary_works_loaded_by_path_as_planning_loads_it(tmp_path):
    """workflow/rules/common.smk loads settings modules by path, outside the package."""
    spec = importlib.util.spec_from_file_location("datafile", datafile.__file__)
    by_path = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(by_path)
    write(tmp_path / "data.pt", arrays(shape=(1, 6)))
    assert by_path.file_summary(tmp_path / "data.pt") == ((1, 6), 12, 6)


def test_classes_counted_from_the_labels_start_at_zero(tmp_path):
    """Labels 1 … 3 without an n_classes would make a fourth, empty class 0: refused."""
    path = tmp_path / "from_one.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.normal(size=(6, 2)), y_train=np.array([1, 2, 3] * 2),
             x_test=rng.normal(size=(3, 2)), y_test=np.array([1, 2, 3]))  # fmt: skip
    with pytest.raises(ValueError, match=r"found none of class\(es\) \[0\] among labels 1 … 3"):
        prepare_dataset("file", path=path)
