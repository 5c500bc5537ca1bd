"""The test study's report in a real browser (headless chromium)."""

import os
import shutil
from pathlib import Path

import pytest

from tests.study import REPO, plane_names, snakemake, study_config


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


BROWSER_REQUIRED = os.environ.get("LOSSLANDSCAPE_BROWSER_REQUIRED") == "1"
ARTIFACTS = Path(os.environ.get("LOSSLANDSCAPE_ARTIFACTS", REPO / "artifacts"))


@pytest.mark.skipif(
    not BROWSER_REQUIRED and _chromium() is None,
    reason="no chromium here (Debian: apt-get install chromium); CI installs it and runs this",
)
def test_report_opens_in_headless_chromium_with_every_figure(finished_study):
    """The report in a real browser: no console errors, every figure of every run decodes
    at a readable size, every result has a caption; a screenshot of the front page is
    saved to ``artifacts/`` (or ``$LOSSLANDSCAPE_ARTIFACTS``)."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    assert _chromium(), "LOSSLANDSCAPE_BROWSER_REQUIRED=1 but no chromium is installed"
    report = finished_study / "report.html"
    if not report.exists():
        assert snakemake(finished_study, "--report", "report.html").returncode == 0
    config = study_config(finished_study)
    runs = [(a, s) for a in config["activations"] for s in config["seeds"]]
    drawn = {
        (seed, str(plane))
        for seed in config["seeds"]
        for plane in plane_names(config, seed)
        if plane.draw == 1 and plane.epoch is None
    }
    compared = {plane for seed, plane in drawn if seed == 42 and plane != "three_seed"}
    figures = {
        f"results/test/report/{name}.png"
        for name in (
            "training_curves",
            "training_curves_per_seed",
            "metric_comparison",
            "metric_accuracy",
            "width_over_training",
            "seed_barriers",
            *(f"planes/{plane}" for plane in compared),
            *(
                f"{kind}/{a}/seed_{s}/{plane}"
                for kind in ("landscape", "analysis")
                for a, s in runs
                for seed, plane in drawn
                if seed == s
            ),
        )
    }
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        page.wait_for_selector("text=Trained models")
        # report/stylesheet.css: a front page taller than the window keeps its top in view
        top = page.evaluate("document.querySelector('.document').getBoundingClientRect().top")
        assert top >= 0, f"the front page starts {-top:.0f} pixels above the window"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-front-page.png"), full_page=True)
        captions = page.evaluate(
            "Object.fromEntries(Object.entries(results).map(([path, r]) => [path, r.caption]))"
        )
        assert figures <= set(captions), sorted(figures - set(captions))
        assert all(text.strip() for text in captions.values()), "a result without caption"
        for path in figures:  # per-run captions quote the run's own numbers
            if "/landscape/" in path or "/analysis/" in path:
                assert "This run: " in captions[path] and "local minim" in captions[path], path
        for path in sorted(figures):
            page.evaluate(
                "p => app.setView({content: 'img', contentPath: results[p].data_uri,"
                " resultPath: p})",
                path,
            )
            width = page.wait_for_function(
                "p => { const i = Array.from(document.images).find("
                "i => i.src === results[p].data_uri); "
                "return i && i.complete && i.naturalWidth; }",
                arg=path,
            ).json_value()
            assert width >= 800, f"{path} shows {width} pixels wide"
        browser.close()
    assert not errors, errors
