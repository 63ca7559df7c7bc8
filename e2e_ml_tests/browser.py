"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, for pages people read.

Also a command: `python -m e2e_ml_tests.browser PAGE.html OUT.png` makes the README's screenshot
the same way the tests look at the page.
"""

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,2800",
]


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    failed_requests: list[str] = field(default_factory=list)
    marks_per_chart: list[int] = field(default_factory=list)
    texts_per_chart: list[str] = field(default_factory=list)
    rendered: str | None = None


def visit(page: Path, screenshot: Path | None = None, timeout: float = 60) -> PageVisit:
    """Open `page`, wait for its charts, and report what a person's browser would have shown."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            driver.get(page.resolve().as_uri())
            WebDriverWait(driver, timeout).until(
                lambda d: d.execute_script("return document.body.dataset.rendered")
            )
            result = PageVisit(rendered=driver.execute_script("return document.body.dataset.rendered"))
            charts = driver.execute_script(
                """return [...document.querySelectorAll('.chart')].map(chart => [
                    chart.querySelectorAll('g.role-mark > path, g.role-mark > text, g.role-mark > g').length,
                    chart.textContent])"""
            )
            result.marks_per_chart = [count for count, _ in charts]
            result.texts_per_chart = [text for _, text in charts]
            result.console_errors = [
                e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
            ]
            page_requests: dict[str, str] = {}
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                params = message["params"]
                # The page's own requests only, not those of the browser's start page.
                if message["method"] == "Network.requestWillBeSent" and params.get(
                    "documentURL", ""
                ).startswith("file://"):
                    page_requests[params["requestId"]] = params["request"]["url"]
                    result.requests.append(params["request"]["url"])
                elif message["method"] == "Network.loadingFailed" and params["requestId"] in page_requests:
                    result.failed_requests.append(
                        f"{page_requests[params['requestId']]}: {params.get('errorText')}"
                    )
            if screenshot:
                driver.save_screenshot(str(screenshot))
            return result
        finally:
            driver.quit()


if __name__ == "__main__":
    outcome = visit(Path(sys.argv[1]), Path(sys.argv[2]))
    charts = len(outcome.marks_per_chart)
    print(f"{charts} charts, marks {outcome.marks_per_chart}; console errors {outcome.console_errors}")
