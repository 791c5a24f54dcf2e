"""The built website in a real browser: Debian's Chromium driven by Playwright,
pages served from 127.0.0.1, every request outside localhost blocked and
counted."""
import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def html_pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "_static" not in p.parts
                  and "_sources" not in p.parts)


@pytest.fixture(scope="module")
def site(built_book):
    assert built_book.build_returncode == 0, "the book did not build"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book.html))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield built_book.html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed: run bash scripts/setup.sh --browser"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                              headless=True)
        yield b
        b.close()


class PageVisit:
    """One page opened in a fresh context, with its console errors and blocked requests."""

    def __init__(self, browser, url, has_math=False):
        self.context = browser.new_context(viewport={"width": 1280, "height": 1400})
        self.external, self.errors = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="networkidle")
        if has_math:    # MathJax is deferred: wait until it has started, then until it is done
            self.page.wait_for_function("() => window.MathJax && window.MathJax.startup", timeout=30_000)
            self.page.evaluate("() => MathJax.startup.promise")

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


def test_every_page_in_the_browser(site, browser, tmp_path):
    root, base = site
    pages = html_pages(root)
    assert len(pages) >= 5
    problems = []
    for path in pages:
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        visit = PageVisit(browser, base + rel, has_math='class="math notranslate' in source)
        page = visit.page
        if 'class="math notranslate' in source:
            if page.locator("mjx-container").count() == 0:
                problems.append(f"{rel}: formulas not typeset")
            text = page.locator("article").first.inner_text() if page.locator("article").count() else ""
            if "$$" in text or "\\begin{" in text:
                problems.append(f"{rel}: raw TeX left in the text")
        broken = page.evaluate("""() => Array.from(document.images)
            .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
        if broken:
            problems.append(f"{rel}: images that did not load: {broken}")
        undrawn = page.evaluate("""() => Array.from(document.querySelectorAll('.rnn-interactive'))
            .filter(f => !f.querySelector('.rnn-interactive-plot.js-plotly-plot .main-svg')).length""")
        if undrawn:
            problems.append(f"{rel}: {undrawn} kernel-free figures drew nothing")
        if page.locator(".jupyter-widgets, .widget-subarea").count():
            problems.append(f"{rel}: a widget area (empty without a kernel)")
        if visit.external:
            problems.append(f"{rel}: {len(visit.external)} requests outside localhost: "
                            f"{visit.external[:3]}")
        if visit.errors:
            problems.append(f"{rel}: console errors {visit.errors[:3]}")
        page.screenshot(path=str(tmp_path / (rel.replace("/", "_") + ".png")))
        visit.close()
    assert not problems, "\n".join(problems)


def test_every_internal_link_resolves(site):
    root, _ = site
    missing = []
    ids_cache = {}

    def ids(path):
        if path not in ids_cache:
            soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
            ids_cache[path] = {tag["id"] for tag in soup.find_all(id=True)}
        return ids_cache[path]

    pages = html_pages(root)
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for a in soup.find_all("a", href=True):
            href = a["href"]
            parsed = urlparse(href)
            if parsed.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target = page if not parsed.path else \
                Path(unquote(urljoin(page.as_posix(), parsed.path)))
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                missing.append(f"{page.relative_to(root)} -> {href}")
            elif parsed.fragment and target.suffix == ".html" and parsed.fragment not in ids(target):
                missing.append(f"{page.relative_to(root)} -> {href} (no such anchor)")
    assert not missing, "\n".join(missing[:30])


def test_kernel_free_sliders_redraw_the_figure(site, browser):
    root, base = site
    pages = [p for p in html_pages(root) if 'type="range"' in p.read_text(encoding="utf-8")]
    assert pages, "no page has a kernel-free interactive figure"
    for path in pages:
        visit = PageVisit(browser, base + path.relative_to(root).as_posix())
        figures = visit.page.locator(".rnn-interactive:not(.rnn-static)")
        assert figures.count() >= 1
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            drawn = lambda: figure.locator(".rnn-interactive-plot .main-svg").first.inner_html()
            before = drawn()
            assert "<g" in before, f"{path.name}: figure {i} drew nothing"
            sliders = figure.locator("input[type=range]")
            assert sliders.count() >= 1
            for j in range(sliders.count()):
                slider = sliders.nth(j)
                new = 0 if slider.input_value() != "0" else slider.get_attribute("max")
                label_before = slider.locator("xpath=following-sibling::output").inner_text()
                slider.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }",
                                new)
                visit.page.wait_for_timeout(200)
                after = drawn()
                assert after != before, f"{path.name}: moving slider {j} of figure {i} changed nothing"
                assert slider.locator("xpath=following-sibling::output").inner_text() != label_before
                before = after
        assert not visit.errors, visit.errors
        assert not visit.external, visit.external
        visit.close()
