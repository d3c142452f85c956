"""Headless Chromium for the report and dashboard tests (Selenium, system chromedriver).

CI installs Debian's `chromium` and `chromium-driver`; elsewhere the browser
tests skip and say what is missing. Selenium Manager is never asked for a
browser (it would download one): the binary and the driver are given.
"""

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> tuple[str, str]:
    """(browser, driver) paths, or skip the test naming what is missing."""
    pytest.importorskip(
        "selenium", reason="selenium is not installed: pip install -e '.[dev]'"
    )
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = shutil.which("chromedriver")
    missing = [
        what
        for what, path in (("chromium", browser), ("chromedriver", driver))
        if not path
    ]
    if missing:
        pytest.skip(
            f"no {' or '.join(missing)} on PATH "
            "(Debian: apt-get install chromium chromium-driver)"
        )
    return str(browser), str(driver)


@contextmanager
def chromium(width: int = 1280, height: int = 1600):
    """A headless Chromium driven by Selenium, closed at the end."""
    browser, driver_path = find_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def rendered_images(driver) -> list[dict]:
    """Every `<img>` and `<svg>` of the page with its natural and laid-out size."""
    return driver.execute_script(
        """
        const out = [];
        for (const img of document.images) {
          const box = img.getBoundingClientRect();
          out.push({kind: "img", name: img.alt, complete: img.complete,
                    natural: img.naturalWidth, width: box.width, height: box.height});
        }
        for (const svg of document.querySelectorAll("svg")) {
          const box = svg.getBoundingClientRect();
          out.push({kind: "svg", name: svg.id, complete: true,
                    natural: box.width, width: box.width, height: box.height});
        }
        return out;
        """
    )


def severe_console_messages(driver) -> list[str]:
    """The browser console's errors (CSP violations, failed loads, script errors)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@contextmanager
def served(db_url: str, *args: str):
    """`python run.py serve --port 0` in a subprocess; yields (base URL, process)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, str(ROOT / "run.py"), "serve", "--db", db_url]
    # stderr to a file: an unread pipe that fills up would stall the server.
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            [*command, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            cwd=ROOT,
        ) as process,
    ):
        try:
            line = process.stdout.readline()  # blocks until the server is bound
            found = re.search(r"http://(\S+?):(\d+)/", line)
            if not found:
                process.kill()
                process.wait()
                errors.seek(0)
                raise AssertionError(
                    f"serve printed no URL: {line!r}\n{errors.read()[-3000:]}"
                )
            yield f"http://{found[1]}:{found[2]}", process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (Linux `/proc/net/tcp*`)."""
    found = set()
    for name, size in (("tcp", 8), ("tcp6", 32)):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for row in table.read_text().splitlines()[1:]:
            fields = row.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(_address(address, size))
    return found


def _address(hex_address: str, size: int) -> str:
    """A `/proc/net/tcp` address (little-endian hex words) as text."""
    if size == 8:
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    words = [hex_address[i : i + 8] for i in range(0, 32, 8)]
    raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
    return str(ipaddress.IPv6Address(raw))
