"""The HTML report: written by the report command, self-contained, escaped, and usable
in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).
"""

from __future__ import annotations

import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from peftsweep.cli.report import main

from helpers import grid_results, make_result, write_sweep

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A sweep with a failed trial whose strategy name and error are markup, reported."""
    results = grid_results()
    results.append(make_result(HOSTILE, 1e-4, 8, 1, status="failed",
                               error="<b>boom</b> & <img src=x onerror=alert(2)>"))
    root = write_sweep(tmp_path_factory.mktemp("sweep"), results)
    assert main([str(root)]) == 0
    return root / "report"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(path: Path) -> list[tuple[str, dict]]:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


def test_html_is_self_contained_and_escaped(report):
    text = (report / "index.html").read_text(encoding="utf-8")
    tags = parse(report / "index.html")
    # Nothing loaded from anywhere: every src/href is a data: URI or an in-page anchor.
    for tag, attrs in tags:
        for name in ("src", "href"):
            if name in attrs:
                assert attrs[name].startswith(("data:", "#")), (tag, attrs)
    assert [tag for tag, _ in tags].count("script") == 1
    assert HOSTILE not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    ids = {attrs["id"] for _, attrs in tags if "id" in attrs}
    for table in ("selection", "test", "comparisons", "pareto", "per_seed", "gaps", "trials"):
        assert table in ids
    links = [attrs["href"][1:] for tag, attrs in tags if tag == "a" and "href" in attrs]
    assert links and set(links) <= ids
    # Every figure file is embedded, plus one curve per trial that has a history.
    images = [attrs for tag, attrs in tags if tag == "img"]
    pngs = sorted(report.glob("*.png"))
    assert {a["alt"] for a in images} >= {p.name for p in pngs}
    assert sum(a.get("class") == "curve" for a in images) == 19
    # The tables the Markdown shows are in the page too, with the statistics.
    assert "paired t-test" in text and "95% CI of difference" in text and "Holm" in text
    # Two seeds and no per-example results: no interval (a t interval read [0.6544, 1.0356]).
    assert "[0.6544, 1.0356]" not in text and "no interval for accuracy" in text


def test_no_plots_still_writes_the_page(tmp_path):
    root = write_sweep(tmp_path / "sweep", grid_results()[:4])
    assert main([str(root), "--no-plots"]) == 0
    tags = parse(root / "report" / "index.html")
    assert not [attrs for tag, attrs in tags if tag == "img"]


def test_markdown_csv_latex_carry_the_comparisons(report):
    assert "## Comparisons" in (report / "report.md").read_text()
    comparisons = pd.read_csv(report / "comparisons.csv")
    assert set(comparisons["factor"]) == {"strategy", "pretrained"}
    assert (comparisons["test"] == "paired t-test").all()
    assert "95\\% CI of difference" in (report / "comparisons.tex").read_text()
    assert "test/accuracy ci_low" in pd.read_csv(report / "test.csv").columns


# --- the page in a real browser -------------------------------------------------------------

def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


@pytest.fixture(scope="module")
def page(report):
    browser = _browser()
    try:
        browser.get((report / "index.html").as_uri())
        yield browser
    finally:
        browser.quit()


def _column(page, table_id: str, header: str) -> list[str]:
    """The texts of one column, top to bottom, in a single round trip."""
    return page.execute_script("""
        var table = document.querySelector("table[data-table='" + arguments[0] + "']");
        var names = Array.from(table.tHead.rows[0].cells, function (th) {
          return th.textContent.trim(); });
        var index = names.indexOf(arguments[1]);
        return Array.from(table.tBodies[0].rows, function (row) {
          return row.cells[index].textContent.trim(); });""", table_id, header)


def _header(page, table_id: str, header: str):
    from selenium.webdriver.common.by import By

    table = page.find_element(By.CSS_SELECTOR, f"table[data-table='{table_id}']")
    return next(th for th in table.find_elements(By.CSS_SELECTOR, "thead th")
                if th.text.rstrip(" ▲▼") == header)


def _loaded(page, image) -> bool:
    return page.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0",
                               image)


def test_page_loads_without_errors_and_shows_everything(page, report):
    from selenium.webdriver.common.by import By

    severe = [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    tables = page.find_elements(By.CSS_SELECTOR, "table.sortable")
    assert len(tables) == 7
    for table in tables:
        assert table.is_displayed() and table.size["width"] > 0 and table.size["height"] > 0
    # One round trip for all images: per image, is it rendered, its size, and did it decode.
    images = page.execute_script("""
        return Array.from(document.images, function (img) {
          var box = img.getBoundingClientRect(), style = getComputedStyle(img);
          return {alt: img.alt, shown: style.display !== "none" && style.visibility === "visible",
                  width: box.width, height: box.height,
                  natural: img.complete ? img.naturalWidth : 0};
        });""")
    # The figure files, and one curve per trial with a history.
    assert len(images) == len(list(report.glob("*.png"))) + 19
    for image in images:
        assert image["shown"] and image["width"] > 0 and image["height"] > 0, image
        assert image["natural"] > 0, image
    png = matplotlib.image.imread(io.BytesIO(page.get_screenshot_as_png()))
    pixels = png[..., :3].reshape(-1, 3)
    # Not blank: many distinct colours, a real spread, and a fair share of non-white pixels.
    rgb = (pixels * 255).round().astype(np.int64)
    assert np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]).size > 50
    assert pixels.std() > 0.05
    assert (pixels.min(axis=1) < 0.9).mean() > 0.02


def test_clicking_a_header_sorts_numerically(page):
    before = [int(v) for v in _column(page, "trials", "batch size")]
    assert before != sorted(before)  # the page's own order is not already by batch size
    _header(page, "trials", "batch size").click()
    ascending = [int(v) for v in _column(page, "trials", "batch size")]
    assert ascending == sorted(before)
    _header(page, "trials", "batch size").click()
    assert [int(v) for v in _column(page, "trials", "batch size")] == sorted(before, reverse=True)
    # 5e-4 sorts above 1e-3 by value, though not as text; "–" (no value) goes last.
    _header(page, "trials", "learning rate").click()
    rates = _column(page, "trials", "learning rate")
    values = [float(v) for v in rates]
    assert values == sorted(values) and rates.index("5e-4") < rates.index("1e-3")
    # "0.8450 ± 0.0212" sorts by its mean; the row without one goes last.
    _header(page, "test", "test accuracy").click()
    assert [v.split(" ")[0] for v in _column(page, "test", "test accuracy")] == [
        "0.6605", "0.7050", "0.8450", "–"]


def test_a_trial_row_links_to_its_config_and_curve(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    link = page.find_element(By.CSS_SELECTOR, "table[data-table='per_seed'] tbody tr td a")
    folder, target = link.text, link.get_attribute("href").split("#")[1]
    link.click()
    WebDriverWait(page, 10).until(lambda p: p.execute_script("return location.hash")
                                  == f"#{target}")
    section = page.find_element(By.ID, target)
    assert section.is_displayed()
    # The browser scrolled to the section: its heading is inside the window.
    top, height = page.execute_script(
        "return [arguments[0].getBoundingClientRect().top, window.innerHeight]", section)
    assert -2 <= top < height / 2  # (sub-pixel scrolling)
    assert folder in section.text
    config = section.find_element(By.CSS_SELECTOR, "pre.config").text
    assert "max_epochs: 3" in config and "strategy:" in config
    curve = section.find_element(By.CSS_SELECTOR, "img.curve")
    assert curve.is_displayed() and _loaded(page, curve)



def test_a_table_wider_than_the_window_shows_that_it_scrolls(page):
    state = """
        var frame = document.querySelector("table[data-table='trials']").closest(".scroll-frame");
        var hint = frame.previousElementSibling;
        return {left: frame.classList.contains("more-left"),
                right: frame.classList.contains("more-right"),
                hint: getComputedStyle(hint).display !== "none",
                shadow: getComputedStyle(frame, "::after").opacity};"""
    size = page.get_window_size()
    try:
        page.set_window_size(640, size["height"])
        page.execute_script("window.dispatchEvent(new Event('resize'))")
        narrow = page.execute_script(state)
        assert narrow["right"] and not narrow["left"] and narrow["hint"], narrow
        page.execute_script("""var box = document.querySelector(
            "table[data-table='trials']").closest(".scroll");
            box.scrollLeft = box.scrollWidth; box.dispatchEvent(new Event('scroll'));""")
        scrolled = page.execute_script(state)
        assert scrolled["left"] and not scrolled["right"], scrolled
    finally:
        page.set_window_size(size["width"], size["height"])
        page.execute_script("window.dispatchEvent(new Event('resize'))")
    # Wide enough for every column: no cue at all.
    wide = page.execute_script(state.replace("'trials'", "'selection'"))
    assert not wide["right"] and not wide["left"] and not wide["hint"], wide
