"""Provenance tells the truth about the code that ran (issue 21)."""

import subprocess

import losslandscape
from losslandscape.io import provenance


def _git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_the_commit_says_dirty_when_tracked_files_differ_from_it(tmp_path, monkeypatch):
    package = tmp_path / "losslandscape"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("a: 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "config")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.setattr(losslandscape, "__file__", str(package / "__init__.py"))
    assert provenance.git_commit() == head
    (tmp_path / "config" / "config.yaml").write_text("a: 2\n")  # a study's edit, not code
    assert provenance.git_commit() == head
    (package / "new_module.py").write_text("y = 1\n")  # new code
    assert provenance.git_commit() == head + "-dirty"
    (package / "new_module.py").unlink()
    (package / "__init__.py").write_text("x = 2\n")  # changed code
    assert provenance.git_commit() == head + "-dirty"
    assert provenance.provenance_attrs("rule", {})["git_commit"] == head + "-dirty"


def test_outside_a_checkout_the_commit_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(losslandscape, "__file__", str(tmp_path / "__init__.py"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert provenance.git_commit() == "unknown"
