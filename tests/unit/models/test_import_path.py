"""A model of the user's own by import path ``package.module:factory``: found where the
workflow looks (the working directory), built with the documented signature, its source
and its project's modules tracked, and every mistake named."""

import re
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from losslandscape.models import import_path
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.settings import checks
from losslandscape.settings.training import IMPORT_PATH

FACTORY = """
from torch import nn
{imports}

def make(activation, input_shape, n_classes, width=8):
    n_in = 1
    for size in input_shape:
        n_in *= size
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, width), activation(),
                         nn.Linear(width, n_classes))

def not_a_model(activation, input_shape, n_classes):
    return "a string"

def no_activation(activation, input_shape, n_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0], n_classes))

def wrong_logits(activation, input_shape, n_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0], 7), activation())

def positional_only(act, n_classes):
    return nn.Linear(1, n_classes)

NOT_CALLABLE = 3
"""


def _project(root: Path, package: str, imports: str = "") -> Path:
    """A user's package ``package`` under ``root`` with a module ``nets`` holding the
    factory ``make`` and a sibling ``layers``."""
    folder = root / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "nets.py").write_text(FACTORY.format(imports=imports))
    (folder / "layers.py").write_text("WIDTH = 8\n")
    (folder / "unrelated.py").write_text("X = 1\n")
    return folder


@pytest.fixture
def in_project(tmp_path, monkeypatch):
    """The working directory a study runs in, with a user's package in it; the packages
    the test imports are forgotten after it (each test's are new files)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("proj_")]:
        del sys.modules[name]


def test_the_import_path_grammar_is_one_in_the_settings_and_the_checks():
    assert IMPORT_PATH == import_path.IMPORT_PATH == checks._IMPORT_PATH
    good = ("own.nets:make", "nets:Make_2", "a.b.c:f")
    bad = ("mlp", "own.nets", "own.nets:", "own/nets:make", "own.nets:make:x", "1own:make")
    assert all(import_path.is_import_path(name) for name in good)
    assert not any(import_path.is_import_path(name) for name in bad)


def test_a_factory_under_the_working_directory_builds_the_model(in_project):
    _project(in_project, "proj_build")
    kwargs = data_kwargs("proj_build.nets:make", [2, 3], 4)
    assert kwargs == {"input_shape": [2, 3], "n_classes": 4}
    model = build_model("proj_build.nets:make", "tanh", width=5, **kwargs)
    assert isinstance(model[2], nn.Tanh) and model[1].out_features == 5
    assert model(torch.zeros(7, 2, 3)).shape == (7, 4)
    slope = build_model("proj_build.nets:make", "leaky_relu", leaky_relu_slope=0.2, **kwargs)
    assert slope[2].negative_slope == 0.2


@pytest.mark.parametrize(
    "name, message",
    [
        ("proj_err.nets:missing", r"expected a callable missing in .*nets\.py; found nothing"),
        ("proj_err.nets:NOT_CALLABLE", r"expected a callable NOT_CALLABLE .*found a int"),
        (
            "proj_err.nets:not_a_model",
            r"expected the factory to return a torch nn\.Module; found str",
        ),
        ("proj_err.absent:make", r"expected proj_err/absent\.py or proj_err/absent/__init__\.py"),
        ("proj_err.nets:no_activation", r"the factory never called activation\(\)"),
        (
            "proj_err.nets:wrong_logits",
            r"expected logits of shape \(batch, 2\) for the data set's 2 classes; found \[2, 7\]",
        ),
        (
            "proj_err.nets:positional_only",
            r"calling the factory as factory\(activation=…, input_shape=…, n_classes=…, "
            r"\*\*model.kwargs\) with \['input_shape', 'n_classes'\] failed: TypeError",
        ),
    ],
)
def test_a_wrong_factory_is_named(in_project, name, message):
    _project(in_project, "proj_err")
    with pytest.raises(ValueError, match=message):
        build_model(name, "relu", input_shape=[3], n_classes=2)


def test_a_module_that_fails_to_import_names_its_file_and_error(in_project):
    _project(in_project, "proj_broken", imports="raise RuntimeError('broken on purpose')")
    with pytest.raises(
        ValueError,
        match=r"importing proj_broken\.nets from .*nets\.py failed: "
        r"RuntimeError: broken on purpose",
    ):
        build_model("proj_broken.nets:make", "relu", input_shape=[3], n_classes=2)


def test_source_files_follow_the_projects_imports_and_no_library(in_project):
    _project(
        in_project,
        "proj_deps",
        imports="import torch\nfrom proj_deps.layers import WIDTH\nfrom . import layers",
    )
    files = import_path.source_files("proj_deps.nets")
    names = sorted(path.name for path in files)
    # the package's __init__ runs first; layers is found through both forms of import
    assert names == ["__init__.py", "layers.py", "nets.py"]
    assert import_path.source_digest("proj_deps.nets")[0] == files
    digest = import_path.source_digest("proj_deps.nets")[1]
    (in_project / "proj_deps" / "unrelated.py").write_text("X = 2\n")
    assert import_path.source_digest("proj_deps.nets")[1] == digest
    (in_project / "proj_deps" / "layers.py").write_text("WIDTH = 9\n")
    assert import_path.source_digest("proj_deps.nets")[1] != digest


def test_an_installed_package_is_its_module_and_version_and_planning_roots_are_fixed(
    in_project, monkeypatch
):
    """An installed package's module is tracked by its file and the package's version,
    not a walk through site-packages; a folder only Snakemake puts on sys.path at planning
    (the Snakefile's) is no root, as it is none in the jobs."""
    import xarray

    files, digest = import_path.source_digest("xarray.core.dataset")
    assert files == [Path(xarray.core.dataset.__file__).resolve()] and len(digest) == 16
    assert import_path._installed_version("xarray.core.dataset") == f"xarray {xarray.__version__}"
    elsewhere = in_project / "snakefile_folder"
    _project(elsewhere, "proj_planning")
    monkeypatch.setattr(sys, "path", [str(elsewhere), *sys.path])
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(ValueError, match="expected proj_planning/nets.py"):
        import_path.module_source("proj_planning.nets")
    monkeypatch.setenv("PYTHONPATH", str(elsewhere))
    assert import_path.module_source("proj_planning.nets")[0] == elsewhere.resolve()


def test_the_start_up_check_names_a_missing_module_or_factory(in_project):
    message = "config model.name: nowhere.nets:make: module 'nowhere.nets': expected"
    with pytest.raises(ValueError, match=re.escape(message)):
        checks._check_own_model("nowhere.nets:make", import_path.check_import_path)
    _project(in_project, "proj_here")
    checks._check_own_model("proj_here.nets:make", import_path.check_import_path)
    checks._check_own_model("proj_here.nets:NOT_CALLABLE", import_path.check_import_path)
    with pytest.raises(
        ValueError,
        match=r"expected mak \(the model's factory\) at the top "
        r"level of .*nets\.py; found NOT_CALLABLE, make, nn, no_activation, not_a_model, "
        r"positional_only, wrong_logits",
    ):
        checks._check_own_model("proj_here.nets:mak", import_path.check_import_path)


def test_the_module_docstring_states_the_factory_signature():
    """The config's meaning of model.name points here for the signature."""
    doc = textwrap.dedent(import_path.__doc__)
    assert "factory(activation=…, input_shape=…, n_classes=…, **kwargs)" in doc
