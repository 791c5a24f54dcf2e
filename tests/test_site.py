"""The built website in a real browser: Debian's Chromium driven by Playwright,
pages served from 127.0.0.1, every request outside localhost blocked and
counted.

Every check waits for what it checks: the page's load event (the document is
parsed and every script has run), then the elements it looks at (typeset
formulas, drawn figures), never for network silence.

To iterate on these tests without rebuilding the book (minutes), point
``RNN_BOOK_SITE`` at an already built site and the ``site`` fixture serves it
instead of building::

    RNN_BOOK_SITE=/path/to/_build/html .venv/bin/python -m pytest tests/test_site.py
"""
import functools
import http.server
import os
import re
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


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without printing a line per request."""

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site(request):
    """(root of the built site, its URL): the site in $RNN_BOOK_SITE, or the book built now."""
    prebuilt = os.environ.get("RNN_BOOK_SITE")
    if prebuilt:
        html = Path(prebuilt).resolve()
        assert (html / "index.html").is_file(), f"RNN_BOOK_SITE={prebuilt} has no index.html"
    else:
        built_book = request.getfixturevalue("built_book")
        assert built_book.build_returncode == 0, "the book did not build"
        html = built_book.html
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


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


def figure_count(source: str) -> int:
    """How many kernel-free figures a page's HTML holds (static or with sliders)."""
    return len(BeautifulSoup(source, "html.parser").select("div.rnn-interactive"))


def has_math(source: str) -> bool:
    return 'class="math notranslate' in source


class PageVisit:
    """One page opened in a fresh context and read only once it is ready: after
    its load event (document parsed, every script run), with its formulas
    typeset and its figures drawn. Records console errors and blocked requests."""

    TIMEOUT_MS = 60_000     # generous: the machine may be busy; a ready page passes at once

    def __init__(self, browser, url, source, width=1280, height=1400, redirect_to=None):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.external, self.errors, self.not_ready = [], [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load", timeout=self.TIMEOUT_MS)
        if redirect_to:     # a <meta http-equiv="refresh"> page: wait for where it leads
            self.page.wait_for_url(redirect_to, wait_until="load", timeout=self.TIMEOUT_MS)
        self.figures = figure_count(source)
        if has_math(source) and not self.wait_for(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise"):
            self.not_ready.append("MathJax never started")
        elif has_math(source):
            self.page.evaluate("() => MathJax.startup.promise")
        if self.figures and not self.wait_for(
                """n => document.querySelectorAll(
                       '.rnn-interactive .rnn-interactive-plot.js-plotly-plot .main-svg').length >= n""",
                self.figures):
            self.not_ready.append("not every figure was drawn")

    def wait_for(self, expression, arg=None, timeout=None) -> bool:
        """Wait until the JavaScript ``expression`` is truthy; False on timeout."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout or self.TIMEOUT_MS)
            return True
        except PlaywrightTimeout:
            return False

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


def redirect_target(path: Path) -> Path | None:
    """The page a <meta http-equiv="refresh"> page sends the reader to, if any."""
    meta = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").find(
        "meta", attrs={"http-equiv": lambda v: v and v.lower() == "refresh"})
    if not meta or "url=" not in meta.get("content", "").lower():
        return None
    target = meta["content"].split("=", 1)[1].strip().strip("'\"")
    return Path(unquote(urljoin(path.as_posix(), target)))


def visit(browser, site, path, **kwargs) -> PageVisit:
    """Open a page of the site once it is ready (following a redirect page)."""
    root, base = site
    final = redirect_target(path) or path
    return PageVisit(browser, base + path.relative_to(root).as_posix(),
                     final.read_text(encoding="utf-8"),
                     redirect_to=base + final.relative_to(root).as_posix() if final != path else None,
                     **kwargs)


def test_every_page_in_the_browser(site, browser, tmp_path):
    root, base = site
    pages = html_pages(root)
    assert len(pages) >= 5
    problems = []
    for path in pages:
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        v = visit(browser, site, path)
        page = v.page
        problems += [f"{rel}: {p}" for p in v.not_ready]
        if has_math(source):
            if page.locator("mjx-container").count() == 0:
                problems.append(f"{rel}: formulas not typeset")
            text = page.locator("article").first.inner_text() if page.locator("article").count() else ""
            if "$$" in text or "\\begin{" in text:
                problems.append(f"{rel}: raw TeX left in the text")
        broken = page.evaluate("""() => Array.from(document.images)
            .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
        if broken:
            problems.append(f"{rel}: images that did not load: {broken}")
        in_dom = page.locator("div.rnn-interactive").count()
        if in_dom != v.figures:
            problems.append(f"{rel}: {in_dom} kernel-free figures in the page, {v.figures} in its HTML")
        undrawn = page.evaluate("""() => Array.from(document.querySelectorAll('.rnn-interactive'))
            .filter(f => !f.querySelector('.rnn-interactive-plot.js-plotly-plot .main-svg')).length""")
        if undrawn:
            problems.append(f"{rel}: {undrawn} kernel-free figures drew nothing")
        if page.locator(".jupyter-widgets, .widget-subarea").count():
            problems.append(f"{rel}: a widget area (empty without a kernel)")
        if v.external:
            problems.append(f"{rel}: {len(v.external)} requests outside localhost: "
                            f"{v.external[:3]}")
        if v.errors:
            problems.append(f"{rel}: console errors {v.errors[:3]}")
        page.screenshot(path=str(tmp_path / (rel.replace("/", "_") + ".png")))
        v.close()
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
    """Every control of every kernel-free figure (a slider, or a dropdown for
    a choice) redraws the figure when it moves, and a slider's label follows."""
    root, _ = site
    pages = [p for p in html_pages(root) if 'data-param="' in p.read_text(encoding="utf-8")
             or 'type="range"' in p.read_text(encoding="utf-8")]
    assert pages, "no page has a kernel-free interactive figure"
    for path in pages:
        v = visit(browser, site, path)
        assert not v.not_ready, f"{path.name}: {v.not_ready}"
        figures = v.page.locator(".rnn-interactive:not(.rnn-static)")
        assert figures.count() >= 1, f"{path.name}: no figure with controls"
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            svg = figure.locator(".rnn-interactive-plot .main-svg").first
            before = svg.inner_html()
            assert "<g" in before, f"{path.name}: figure {i} drew nothing"
            controls = figure.locator("input[type=range], select")
            assert controls.count() >= 1, f"{path.name}: figure {i} has no control"
            for j in range(controls.count()):
                control = controls.nth(j)
                is_slider = control.evaluate("el => el.tagName") == "INPUT"
                if is_slider:
                    new = "0" if control.input_value() != "0" else control.get_attribute("max")
                else:
                    new = "0" if control.input_value() != "0" else "1"
                output = control.locator("xpath=following-sibling::output")
                label_before = output.inner_text() if is_slider else None
                control.evaluate("""(el, v) => { el.value = v;
                    el.dispatchEvent(new Event('input', {bubbles: true}));
                    el.dispatchEvent(new Event('change', {bubbles: true})); }""", new)
                # wait for the redraw itself, not for a fixed time
                redrawn = v.wait_for("""([root, old]) => {
                    const svg = root.querySelector('.rnn-interactive-plot .main-svg');
                    return svg && svg.innerHTML !== old; }""",
                                     [figure.element_handle(), before], timeout=20_000)
                assert redrawn, f"{path.name}: moving control {j} of figure {i} changed nothing"
                if is_slider:
                    assert output.inner_text() != label_before, \
                        f"{path.name}: slider {j} of figure {i}: its label did not follow"
                before = svg.inner_html()
        assert not v.errors, v.errors
        assert not v.external, v.external
        v.close()


def test_plotly_is_loaded_deferred_and_only_where_figures_are(site):
    """plotly.js (megabytes) is requested by the pages that draw figures and no
    other, with ``defer`` (book/_ext/rnn_book.py says why that order is safe)."""
    root, _ = site
    wrong = []
    for path in html_pages(root):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        plotly = [s for s in soup.find_all("script", src=True) if "plotly" in s["src"]]
        figures = bool(soup.select("div.rnn-interactive"))
        rel = path.relative_to(root).as_posix()
        if figures and len(plotly) != 1:
            wrong.append(f"{rel}: has figures but loads plotly.js {len(plotly)} times")
        if not figures and plotly:
            wrong.append(f"{rel}: loads plotly.js without a figure")
        if plotly and not plotly[0].has_attr("defer"):
            wrong.append(f"{rel}: plotly.js is not deferred (it blocks the first paint)")
    assert not wrong, "\n".join(wrong)
    assert any(bool(BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")
                    .select("div.rnn-interactive")) for p in html_pages(root)), "no figure at all"


def test_no_script_blocks_the_first_paint(site):
    """Every external script in a page's head is deferred or async: nothing
    large stands between the HTML and the first paint."""
    root, _ = site
    blocking = set()
    for path in html_pages(root):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for s in soup.head.find_all("script", src=True) if soup.head else []:
            if not (s.has_attr("defer") or s.has_attr("async") or s.get("type") == "module"):
                target = root / urljoin(path.relative_to(root).as_posix(), s["src"].split("?")[0])
                size = target.stat().st_size if target.exists() else 0
                if size > 100_000:
                    blocking.add(f"{s['src'].split('?')[0]} ({size / 1e6:.1f} MB)")
    assert not blocking, f"render-blocking scripts: {sorted(blocking)}"


MAX_PAGE_BYTES = 1_500_000


def test_no_page_is_heavier_than_the_limit(site):
    root, _ = site
    heavy = [f"{p.relative_to(root)}: {p.stat().st_size / 1e6:.2f} MB"
             for p in html_pages(root) if p.stat().st_size > MAX_PAGE_BYTES]
    assert not heavy, f"pages over {MAX_PAGE_BYTES / 1e6} MB of their own HTML: {heavy}"


def test_the_site_ships_no_source_maps(site):
    root, _ = site
    maps = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.map"))
    assert not maps, f"source maps shipped: {maps[:5]} ({len(maps)} in all)"
    pointers = sorted(p.relative_to(root).as_posix()
                      for p in [*root.rglob("*.js"), *root.rglob("*.css")]
                      if "sourceMappingURL=" in p.read_text(encoding="utf-8", errors="replace")[-300:])
    assert not pointers, f"files that point to missing source maps: {pointers[:5]}"


@pytest.mark.parametrize("width", [390, 1280])
def test_the_primary_sidebar_opens_by_clicking(site, browser, width):
    """The ☰ button shows the chapter list: on a phone it opens it over the
    page; on a wide screen it collapses the visible list and opens it again."""
    root, _ = site
    path = root / "book" / "gru.html"
    v = visit(browser, site, path, width=width, height=900)
    page = v.page
    link = page.locator(".bd-sidebar-primary a.reference.internal[href*='lstm']").first \
        if width >= 992 else None

    shown = """() => {
            const links = Array.from(document.querySelectorAll(
                '.bd-sidebar-primary a[href*="lstm"], dialog[open] a[href*="lstm"]'));
            return links.some(a => { const r = a.getBoundingClientRect();
                const s = getComputedStyle(a);
                return r.width > 0 && r.right > 0 && r.left < innerWidth && s.visibility === 'visible'; });
        }"""

    def chapter_list_shown() -> bool:
        return page.evaluate(shown)

    def chapter_list_comes_into_view() -> bool:   # the sidebar slides in: wait for it
        return v.wait_for(shown, timeout=10_000)

    toggle = page.locator(".header-article-item .primary-toggle")
    assert toggle.is_visible(), "no visible ☰ button"
    if width < 992:
        assert not chapter_list_shown(), "the chapter list is open before any click"
        toggle.click()
        assert v.wait_for("() => document.querySelector('dialog#pst-primary-sidebar-modal')?.open",
                          timeout=10_000), "clicking ☰ did not open the chapter list"
        assert chapter_list_comes_into_view(), "the chapter list opened, but its links are not visible"
        page.keyboard.press("Escape")
        assert v.wait_for("() => !document.querySelector('dialog#pst-primary-sidebar-modal').open",
                          timeout=10_000), "Escape did not close the chapter list"
    else:
        assert chapter_list_shown() and link is not None, "no chapter list on a wide screen"
        toggle.click()
        assert v.wait_for("() => document.querySelector('.bd-sidebar-primary')"
                          ".classList.contains('pst-sidebar-hidden')", timeout=10_000), \
            "clicking ☰ did not collapse the chapter list"
        toggle.click()
        assert v.wait_for("() => !document.querySelector('.bd-sidebar-primary')"
                          ".classList.contains('pst-sidebar-hidden')", timeout=10_000)
        assert chapter_list_comes_into_view(), "clicking ☰ again did not bring the chapter list back"
    assert not v.errors, v.errors
    v.close()


def test_the_page_contents_open_by_clicking_on_a_phone(site, browser):
    root, _ = site
    v = visit(browser, site, root / "book" / "gru.html", width=390, height=900)
    toggle = v.page.locator(".secondary-toggle:visible").first
    assert toggle.count(), "no visible on-page contents button"
    toggle.click()
    assert v.wait_for("() => document.querySelector('dialog#pst-secondary-sidebar-modal')?.open",
                      timeout=10_000), "clicking the contents button opened nothing"
    assert v.page.locator("dialog#pst-secondary-sidebar-modal a.nav-link").first.is_visible()
    assert not v.errors, v.errors
    v.close()


def test_no_display_equation_is_wider_than_its_column(site, browser):
    """At 1280 px every typeset display equation, with its number, fits its
    column (nothing clipped, nothing to scroll); narrower screens may scroll."""
    root, _ = site
    too_wide = []
    for path in html_pages(root):
        if not has_math(path.read_text(encoding="utf-8")):
            continue
        v = visit(browser, site, path, width=1280, height=900)
        assert not v.not_ready, f"{path.name}: {v.not_ready}"
        for number, need, have, clipped in v.page.evaluate("""() =>
            Array.from(document.querySelectorAll('div.math')).map(d => {
                const c = d.querySelector('mjx-container');
                const eqno = d.querySelector('.eqno');
                return [eqno ? eqno.textContent.replace('#', '').trim() : '(unnumbered)',
                        c ? c.scrollWidth : 0, c ? c.clientWidth : 0,
                        d.scrollWidth > d.clientWidth + 1];
            })"""):
            if need > have + 1 or clipped:
                too_wide.append(f"{path.stem} {number}: needs {need} px, has {have} px"
                                + (" (clipped)" if clipped else ""))
        v.close()
    assert not too_wide, "display equations wider than the column at 1280 px:\n" + \
        "\n".join(too_wide)


def test_printed_lines_of_a_cell_make_one_output_block(site):
    """nb_merge_streams: the print() lines of one cell are shown as one block,
    not one grey box per line."""
    root, _ = site
    split = []
    for path in html_pages(root):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for i, output in enumerate(soup.select("div.cell_output")):
            streams = [o for o in output.find_all("div", recursive=False)
                       if "stream" in o.get("class", [])]
            names = [next((c for c in o["class"] if c in ("stdout", "stderr")), "") for o in streams]
            if len(names) != len(set(names)):
                split.append(f"{path.relative_to(root)}: output {i} has {len(streams)} stream blocks")
    assert not split, "\n".join(split)


CONTRAST_JS = """
(el, textColorOf) => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
      const v = m[1].split(',').map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const lum = ([r, g, b]) => { const f = x => { x /= 255;
      return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let bg = null;
  for (let e = el; e && !bg; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0.5) bg = c;
  }
  bg = bg || [255, 255, 255, 1];
  const fg = parse(textColorOf === 'fill' ? getComputedStyle(el).fill : getComputedStyle(el).color);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""


def test_outputs_and_figures_are_readable_in_dark_mode(site, browser):
    """In dark mode, code-styled names in output tables keep a WCAG AA contrast
    (4.5:1) with what is behind them, and figure text (plotly draws dark text
    for a light paper) stays readable: the figure sits on a light card."""
    root, _ = site
    unreadable, checked_code, checked_figures = [], 0, 0
    for path in html_pages(root):
        source = path.read_text(encoding="utf-8")
        soup = BeautifulSoup(source, "html.parser")
        if not (soup.select(".cell_output table code") or soup.select("div.rnn-interactive")):
            continue
        v = visit(browser, site, path, width=1280, height=900)
        v.page.evaluate("() => { localStorage.setItem('mode', 'dark'); "
                        "localStorage.setItem('theme', 'dark'); }")
        v.page.reload(wait_until="load")
        assert v.wait_for("() => document.documentElement.dataset.theme === 'dark'"), \
            "dark mode did not switch on"
        if v.figures:
            assert v.wait_for("n => document.querySelectorAll('.rnn-interactive .main-svg').length"
                              " >= n", v.figures), f"{path.name}: figures not drawn in dark mode"
        for code in v.page.locator(".cell_output table code").all()[:20]:
            checked_code += 1
            ratio = code.evaluate(CONTRAST_JS, "color")
            if ratio < 4.5:
                unreadable.append(f"{path.stem}: output-table code {code.inner_text()!r} "
                                  f"contrast {ratio:.2f}:1")
        for text in v.page.locator(".rnn-interactive .main-svg .xtick text").all()[:3]:
            checked_figures += 1
            ratio = text.evaluate(CONTRAST_JS, "fill")
            if ratio < 4.5:
                unreadable.append(f"{path.stem}: figure tick labels contrast {ratio:.2f}:1")
        v.close()
    assert checked_code and checked_figures, (checked_code, checked_figures)
    assert not unreadable, "\n".join(unreadable)


def bibliography(root: Path) -> dict[str, str]:
    """The references page's entries: anchor id -> label."""
    soup = BeautifulSoup((root / "book" / "references.html").read_text(encoding="utf-8"),
                         "html.parser")
    return {c["id"]: " ".join(c.select_one(".label").get_text(" ", strip=True).strip("[] ").split())
            for c in soup.select("div.citation")}


def test_the_bibliography_is_labelled_by_author_and_year(site):
    """One citation style: the list's labels read as the text cites
    ("Elman, 1990", "Glorot and Bengio, 2010", "Bengio et al., 1994")."""
    root, _ = site
    entries = bibliography(root)
    assert len(entries) >= 10
    name = r"[^\W\d][\w'’.-]*(?: [^\W\d][\w'’.-]*)*"
    style = re.compile(rf"{name}(?: and {name}| et al\.)?, (?:19|20)\d\d[a-z]?")
    wrong = [label for label in entries.values() if not style.fullmatch(label)]
    assert not wrong, f"labels not in author-year style: {wrong}"


def test_every_bibliography_entry_is_cited(site):
    root, _ = site
    entries = bibliography(root)
    cited = set()
    for path in html_pages(root):
        for a in BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").select(
                "a[href*='references.html#']"):
            cited.add(a["href"].split("#", 1)[1])
    uncited = sorted(label for anchor, label in entries.items() if anchor not in cited)
    assert not uncited, f"entries no chapter cites: {uncited}"
