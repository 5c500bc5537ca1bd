"""The report's front page (report/workflow.rst, a Jinja template Snakemake renders) with any
title a user may write: it renders without a docutils warning and shows the title as typed
(issue 21: `|` and wide characters had put a "System Message" box on the page)."""

import html
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from docutils.core import publish_parts

ROOT = Path(__file__).resolve().parents[3]

TITLES = [
    "Activation functions and the loss landscape: mnist1d CNN",
    "Aktivierungsfunktionen – Verlustlandschaft (ß, é, ü)",
    "ReLU | Tanh | Sigmoid",
    "激活函数与损失景观",
    "loss *landscape* of `relu` and leaky_relu_ [1] <x> \\ 🙂",
    "- a title like a list item",
    "+ plus",
    ".. like a comment",
    ":field: like a field list",
    ">>> like a doctest",
    "\\ starts with a backslash",
    "#1 study",
]


def render(config: dict) -> str:
    """The front page as Snakemake renders it (its report's jinja2 environment: blocks
    trimmed, so a newline after a tag is dropped)."""
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string((ROOT / "report" / "workflow.rst").read_text())
    return template.render(snakemake=SimpleNamespace(config=config))


@pytest.mark.parametrize("title", TITLES)
def test_any_title_renders_as_typed_without_a_warning(title, tmp_path, monkeypatch):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    # the page includes the study's answer, relative to where Snakemake renders it
    answer = tmp_path / "results" / config["study"] / "statistics" / "answer.rst"
    answer.parent.mkdir(parents=True)
    answer.write_text("**The answer.** Written by the statistics stage.\n")
    monkeypatch.chdir(tmp_path)
    config["report"]["title"] = title
    text = render(config)
    parts = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})
    assert parts["title"] == html.escape(title, quote=False)


# every character Python's str.splitlines (and so docutils) breaks a line at, and the rest
# of the control characters
LINE_BREAKERS = ["\n", "\r", "\t", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("character", LINE_BREAKERS + ["\x00", "\x1b", "\x7f"], ids=ascii)
def test_the_schema_refuses_a_title_that_would_not_be_one_line(character):
    """U+2028 had passed the schema and split the heading: the front page showed no title.
    Whatever the schema lets through renders (the test above, and the one below)."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    pattern = schema["properties"]["report"]["properties"]["title"]["pattern"]
    title = f"first{character}second"
    assert len(title.splitlines()) > 1 or not title.isprintable()
    assert re.search(pattern, title) is None
    assert re.search(pattern, "first\u00a0second\u200b 🙂") is not None


@pytest.mark.parametrize("title", ["zero\u200bwidth", "rtl \u05e9\u05dc\u05d5\u05dd"])
def test_unusual_printable_titles_render_as_typed(title, tmp_path, monkeypatch):
    test_any_title_renders_as_typed_without_a_warning(title, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ({"cosine": True}, "with batch 100 under a cosine schedule, to a"),
        (
            {"cosine": False, "plateau": {"factor": 0.1, "patience": 15}},
            "with batch 100, the rate multiplied by 0.1 after 15 epochs without improvement, to a",
        ),
        (
            {"cosine": False, "milestones": {"epochs": [80, 120], "factor": 0.1}},
            "with batch 100, the rate multiplied by 0.1 after epochs 80, 120, to a",
        ),
        ({"cosine": False}, "with batch 100, to a"),
    ],
    ids=["cosine", "plateau", "milestones", "constant"],
)
def test_the_setup_names_the_learning_rate_schedule(schedule, said):
    """Snakemake's trimmed blocks had run "batch 100under a cosine schedule" together, and
    a plateau or step schedule was never named (issue 21, found by the new-user check)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["training"].update({"plateau": None, "milestones": None, **schedule})
    config["training"]["batch_size"] = 100
    config["training"]["target_loss"] = 0.5
    text = " ".join(render(config).split())
    assert said in text


def test_the_setup_names_models_trained_elsewhere_and_the_loss(tmp_path, monkeypatch):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    answer = tmp_path / "results" / config["study"] / "statistics" / "answer.rst"
    answer.parent.mkdir(parents=True)
    answer.write_text("")
    monkeypatch.chdir(tmp_path)
    trained = render(config)
    assert "40\nepochs of adam on the cross-entropy loss with batch\n100 under a cosine" in trained
    config["training"]["external_checkpoints"] = "weights/{activation}/seed_{seed}.pt"
    config["training"]["loss"] = "mse"
    imported = render(config)
    assert (
        "models trained elsewhere\n(``weights/{activation}/seed_{seed}.pt``), measured on "
        "the mse loss, to a" in imported
    )
    assert "epochs of" not in imported and "nats" not in imported
