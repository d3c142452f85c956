"""`run.py report`: one self-contained HTML page, every figure rendered, recorded text escaped."""

import re
import shutil

import pytest

from tests.browser import chromium, rendered_images, severe_console_messages
from tests.conftest import run_cli

FIGURES = {"data", "residuals", "pareto", "timeline", "budget"}


@pytest.fixture(scope="module")
def report_file(recorded_pendulum, tmp_path_factory):
    """The report of the recorded pendulum campaign, written by the CLI."""
    _, url, summary = recorded_pendulum
    out = tmp_path_factory.mktemp("report") / "report.html"
    # In this process, through `main()`: a new interpreter would take seconds.
    done = run_cli("report", summary["campaign_id"][:8], "--out", str(out), "--db", url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "wrote the report" in done.stdout
    return out, summary


def test_report_is_self_contained_and_states_the_accepted_law(report_file):
    out, summary = report_file
    html = out.read_text(encoding="utf-8")
    best = summary["best"]
    assert best["status"] == "accepted"
    assert best["expression"] in html
    # Figures are data URIs; nothing is fetched from anywhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html)
    assert "<script" not in html
    assert "<link" not in html
    figures = set(re.findall(r'data-figure="(\w+)"', html))
    assert figures == FIGURES
    assert (
        html.count('src="data:image/png;base64,') == len(FIGURES) + 1
    )  # + the equation
    # The constants with their uncertainties, and the budget against its limits.
    for name, value in best["parameters"].items():
        assert f"<code>{name}</code>" in html
        assert f"{value:.8g}" in html
    assert "&plusmn;" in html
    assert "5000 points" in html  # max_measurements of the campaign's config
    # A constant shown in closed form lies within its fitted 95 % interval.
    from lawloop.tools import parse_expression

    for name, c in best["constants"].items():
        if c["closed_form"] is not None:
            value = float(parse_expression(c["closed_form"], []))
            assert c["lower"] <= value <= c["upper"], (name, c)
    assert 'id="outcome">accepted</span>' in html
    assert "<th>chi2/dof</th><th>complexity</th>" in html


def test_long_integers_of_exact_constants_read_as_floats():
    from lawloop.agent.views._campaign import readable_law

    law = "c0*n_0*exp(980665000000000000000000000000*c1*m*x/(1380649*T))"
    assert readable_law(law) == "c0*n_0*exp(9.80665e+29*c1*m*x/(1380649*T))"
    # Fitted decimals and exponents are left as they are.
    assert (
        readable_law("1.0000067678082205*x + 3e-20") == "1.0000067678082205*x + 3e-20"
    )


def test_report_escapes_recorded_text(recorded_pendulum, tmp_path):
    """Laws and statements are untrusted: they appear as text, never as markup."""
    from lawloop.agent import render_report
    from lawloop.storage import open_read_only, open_store

    path, _, summary = recorded_pendulum
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    url = f"sqlite:///{copy}"
    hostile = "<img src=x onerror=alert(1)>"
    with open_store(url) as store:
        store.add_hypothesis(
            "hostile-hypothesis",
            campaign_id=summary["campaign_id"],
            iteration_id=None,
            expression=hostile,
            parameters=["c0"],
            source="llm</td><script>alert(2)</script>",
            statement="<script>alert(3)</script> $x$",
            status="accepted",
        )
    with open_read_only(url) as store:
        html = render_report(store, summary["campaign_id"])
    assert "<img src=x" not in html
    assert "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_report_of_an_unknown_campaign_is_a_user_error(recorded_pendulum, tmp_path):
    from typer.testing import CliRunner

    from lawloop.cli import app

    _, url, _ = recorded_pendulum
    out = tmp_path / "r.html"
    done = CliRunner().invoke(
        app, ["report", "no-such-campaign", "--out", str(out), "--db", url]
    )
    assert done.exit_code == 1
    assert "no-such-campaign" in done.output
    assert not out.exists()


@pytest.mark.slow
def test_report_renders_every_figure_in_headless_chromium(report_file, tmp_path):
    out, summary = report_file
    with chromium(width=1200, height=1000) as driver:
        driver.get(out.as_uri())
        images = rendered_images(driver)
        assert {i["name"] for i in images} >= {"the law, typeset"}
        assert len(images) == len(FIGURES) + 1
        for image in images:
            assert image["complete"], image
            assert image["natural"] > 0, f"figure not rendered: {image}"
            assert image["width"] > 0, image
            assert image["height"] > 0, image
        body = driver.find_element("tag name", "body").text
        assert summary["best"]["expression"] in body
        assert severe_console_messages(driver) == []
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1200, min(int(height) + 100, 8000))
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 100_000  # a page of figures, not a blank window
