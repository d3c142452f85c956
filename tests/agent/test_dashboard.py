"""`run.py serve`: the read-only dashboard, through Flask's test client, over HTTP and in Chromium."""

import hashlib
import shutil
import urllib.error
import urllib.request

import pytest

from tests.browser import (
    chromium,
    listening_addresses,
    rendered_images,
    served,
    severe_console_messages,
)


@pytest.fixture(scope="module")
def client(recorded_pendulum):
    from lawloop.agent import create_dashboard

    _, url, _ = recorded_pendulum
    return create_dashboard(url).test_client()


@pytest.fixture(scope="module")
def record(recorded_pendulum):
    """The recorded campaign's hypotheses, read directly from the store."""
    from lawloop.storage import open_read_only

    _, url, summary = recorded_pendulum
    with open_read_only(url) as store:
        return summary, store.list_hypotheses(summary["campaign_id"])


def test_campaign_list_and_progress_json(client, record):
    summary, _ = record
    page = client.get("/")
    assert page.status_code == 200
    assert summary["name"] in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    rows = client.get("/api/campaigns").json
    assert [r["campaign_id"] for r in rows] == [summary["campaign_id"]]
    progress = client.get(f"/api/campaigns/{summary['campaign_id'][:6]}").json
    assert progress["status"] == "finished"
    assert progress["live"] is False
    assert progress["measurements"] == summary["measurements"]
    assert progress["best_expression"] == summary["best"]["expression"]


def test_hypothesis_log_filters_and_sorts_on_the_server(client, record):
    summary, hypotheses = record
    cid = summary["campaign_id"]
    api = f"/api/campaigns/{cid}/hypotheses"
    assert len(client.get(api).json) == len(hypotheses)
    rejected = client.get(f"{api}?status=rejected&sort=score&order=desc").json
    assert {r["status"] for r in rejected} == {"rejected"}
    assert len(rejected) == sum(h.status == "rejected" for h in hypotheses)
    scores = [r["score"] for r in rejected if r["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert rejected[-1]["score"] is None  # unfitted laws come last in either order
    by_text = client.get(f"{api}?q=SIN(").json
    assert by_text
    assert all("sin(" in r["expression"] for r in by_text)
    by_source = client.get(f"{api}?source=mutation").json
    assert by_source
    assert {r["source"] for r in by_source} == {"mutation"}
    page = client.get(f"/campaigns/{cid[:8]}?status=accepted")
    assert page.text.count('class="hypothesis-row"') == 1
    assert summary["best"]["hypothesis_id"][:8] in page.text


def test_hypothesis_page_shows_law_plot_lineage_and_decision(client, record):
    summary, _ = record
    hid = summary["best"]["hypothesis_id"]
    page = client.get(f"/hypotheses/{hid[:10]}")
    assert page.status_code == 200
    text = page.text
    assert summary["best"]["expression"] in text
    assert f"/hypotheses/{hid}/plot.png" in text
    for section in ('id="decisions"', 'id="proposed-by"', 'id="fits"', 'id="why"'):
        assert section in text
    assert "<strong>accept</strong>" in text
    plot = client.get(f"/hypotheses/{hid}/plot.png")
    assert plot.status_code == 200
    assert plot.mimetype == "image/png"
    assert plot.data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"], ids=str)
@pytest.mark.parametrize(
    "path", ["/", "/api/campaigns", "/no/such/page"], ids=["index", "api", "unknown"]
)
def test_only_reading_methods_are_served(client, method, path):
    assert client.open(path, method=method).status_code == 405


def test_unknown_ids_are_404(client):
    assert client.get("/campaigns/no-such-campaign").status_code == 404
    assert client.get("/hypotheses/ffffffff").status_code == 404
    assert client.get("/campaigns/x/figures/secret.png").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/<script>alert(1)</script>",
        "/hypotheses/<script>alert(1)</script>",
        "/api/campaigns/<script>alert(1)</script>",
        "/<script>alert(1)</script>",
    ],
    ids=["campaign", "hypothesis", "api", "no-route"],
)
def test_404_page_escapes_what_was_asked_for(tmp_path, path):
    from lawloop.agent import create_dashboard
    from lawloop.storage import open_store

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    page = create_dashboard(url).test_client().get(path)
    assert page.status_code == 404
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_dashboard_escapes_recorded_text(recorded_pendulum, tmp_path):
    from lawloop.agent import create_dashboard
    from lawloop.storage import open_store

    path, _, summary = recorded_pendulum
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    url = f"sqlite:///{copy}"
    with open_store(url) as store:
        store.add_hypothesis(
            "hostile-hypothesis",
            campaign_id=summary["campaign_id"],
            iteration_id=None,
            expression="<img src=x onerror=alert(1)>",
            parameters=[],
            source="<b>llm</b>",
            statement="<script>alert(3)</script>",
        )
    hostile = create_dashboard(url).test_client()
    for page in (
        hostile.get(f"/campaigns/{summary['campaign_id']}"),
        hostile.get("/hypotheses/hostile-hypothesis"),
    ):
        assert page.status_code == 200
        assert "<img src=x" not in page.text
        assert "<script>alert" not in page.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_serve_binds_loopback_by_default_and_refuses_writes(recorded_pendulum):
    path, url, _ = recorded_pendulum
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with served(url) as (base, _):
        assert base.startswith("http://127.0.0.1:")
        port = int(base.rsplit(":", 1)[1])
        listening = listening_addresses(port)
        if listening:  # Linux: the socket table says where it listens
            assert listening == {"127.0.0.1"}
        with urllib.request.urlopen(base + "/", timeout=30) as reply:
            assert reply.status == 200
        for method in ("POST", "PUT", "DELETE"):
            request = urllib.request.Request(base + "/", data=b"x", method=method)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=30)
            assert refused.value.code == 405
            refused.value.close()
        # A foreign `Host` (DNS rebinding) is refused on loopback.
        rebound = urllib.request.Request(base + "/", headers={"Host": "evil.test"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebound, timeout=30)
        assert refused.value.code == 400
        refused.value.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_dashboard_end_to_end_in_headless_chromium(recorded_pendulum, record, tmp_path):
    """Open the list, a campaign, filter its log, open a hypothesis, see its plot; watch progress."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from lawloop.storage import open_store

    path, _, summary = recorded_pendulum
    _, hypotheses = record
    # A copy marked running, to watch the page follow the record live.
    copy = tmp_path / "live.db"
    shutil.copy(path, copy)
    url = f"sqlite:///{copy}"
    with open_store(url) as store:
        store.set_campaign_status(summary["campaign_id"], "running")

    def wait(driver, condition, timeout=30):
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)

    def rows(driver):
        return driver.find_elements(By.CSS_SELECTOR, "tr.hypothesis-row")

    with served(url) as (base, _), chromium() as driver:
        driver.get(base + "/")
        driver.find_element(By.CSS_SELECTOR, "a.campaign-link").click()
        wait(driver, lambda d: d.find_elements(By.ID, "hypothesis-log"))
        assert len(rows(driver)) == len(hypotheses)
        assert driver.find_element(By.ID, "p-status").text == "running"
        images = rendered_images(driver)
        assert len(images) == 5
        assert all(i["natural"] > 0 and i["height"] > 0 for i in images), images

        # Live progress: the record changes, the page follows without a reload.
        with open_store(url) as store:
            store.set_campaign_status(summary["campaign_id"], "finished")
        wait(driver, lambda d: d.find_element(By.ID, "p-status").text == "finished")

        Select(driver.find_element(By.ID, "filter-status")).select_by_value("accepted")
        driver.find_element(By.ID, "filter-apply").click()
        wait(driver, lambda d: "status=accepted" in d.current_url)
        accepted = rows(driver)
        assert len(accepted) == sum(h.status == "accepted" for h in hypotheses) == 1
        assert accepted[0].get_attribute("data-status") == "accepted"

        accepted[0].find_element(By.CSS_SELECTOR, "a.hypothesis-link").click()
        plot = wait(driver, lambda d: d.find_elements(By.ID, "hypothesis-plot"))[0]
        wait(
            driver,
            lambda d: d.execute_script("return arguments[0].naturalWidth > 0", plot),
        )
        assert plot.size["width"] > 0
        assert plot.size["height"] > 0
        law = driver.find_element(By.ID, "hypothesis-law").text
        assert summary["best"]["expression"] in law
        assert severe_console_messages(driver) == []
        shot = tmp_path / "hypothesis.png"
        assert driver.save_screenshot(str(shot))
    assert len(shot.read_bytes()) > 20_000
