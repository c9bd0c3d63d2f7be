"""Open every page of the built HTML docs in headless Chromium and check what a reader sees at 1280 px.

    python docs/check_pages.py HTML_DIR [--chromium PATH] [--width 1280]

For every ``*.html`` page under HTML_DIR (the search page and Sphinx's generated index excepted):

* the page does not scroll sideways (``scrollWidth`` of the document <= the viewport width);
* no table and no code block reaches past the right edge of the viewport, and one whose content is wider
  than its box scrolls (``overflow-x: auto``/``scroll``) instead of being cut off;
* every code block has its copy button (sphinx-copybutton adds one per block when the page loads).

Pages are opened with Playwright driving the system Chromium (``apt-get install chromium``), so nothing
is downloaded. Exits non-zero and lists every problem, page by page, when any check fails.
``nox -s docs-check`` runs this on the output of ``nox -s docs``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

SKIP = {"search.html", "genindex.html", "py-modindex.html"}

# Runs in the page: returns a list of problems (strings). ``WIDTH`` is the viewport width.
PAGE_CHECK = """
(WIDTH) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > WIDTH + 1) {
    problems.push(`the page scrolls sideways: ${doc.scrollWidth}px wide at a ${WIDTH}px viewport`);
  }
  const describe = (el) => {
    const text = (el.innerText || "").trim().split("\\n")[0].slice(0, 60);
    return `${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).split(" ")[0] : ""} "${text}"`;
  };
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const boxes = document.querySelectorAll("article table, article pre, .bd-article table, .bd-article pre");
  for (const el of new Set(boxes)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // hidden (e.g. a collapsed cell)
    if (r.right > WIDTH + 1) {
      problems.push(`${describe(el)} reaches ${Math.round(r.right)}px, past the ${WIDTH}px viewport`);
    }
    if (el.scrollWidth > el.clientWidth + 1) {
      // Content wider than the box: acceptable only if the box (or its wrapper) scrolls.
      let ok = scrolls(el);
      for (let p = el.parentElement; !ok && p && p !== document.body; p = p.parentElement) {
        if (p.getBoundingClientRect().right > WIDTH + 1) break;
        ok = scrolls(p);
      }
      if (!ok) problems.push(`${describe(el)} is cut off: content ${el.scrollWidth}px in a ${el.clientWidth}px box that does not scroll`);
    }
  }
  const blocks = document.querySelectorAll("div.highlight pre");
  const buttons = document.querySelectorAll("button.copybtn");
  if (blocks.length > 0 && buttons.length < blocks.length) {
    problems.push(`${blocks.length} code blocks but ${buttons.length} copy buttons`);
  }
  return problems;
}
"""


def find_chromium(explicit: str | None) -> str:
    for candidate in [explicit, "chromium", "chromium-browser", "google-chrome"]:
        if candidate and (
            path := shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        ):
            return path
    raise SystemExit("no Chromium found: apt-get install chromium (or pass --chromium PATH)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built HTML directory (index.html inside)")
    parser.add_argument("--chromium", help="path of the Chromium executable")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args(argv)
    root = args.html.resolve()
    if not (root / "index.html").is_file():
        raise SystemExit(f"{root} has no index.html: build the docs first (python3 -m nox -s docs)")
    pages = sorted(
        p
        for p in root.rglob("*.html")
        if p.name not in SKIP and not {"_modules", "_static", "_sources"} & set(p.relative_to(root).parts)
    )

    from playwright.sync_api import sync_playwright

    failures: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=find_chromium(args.chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        for i, path in enumerate(pages, 1):
            rel = str(path.relative_to(root))
            page.goto(path.as_uri(), wait_until="load")
            # sphinx-copybutton adds its buttons on DOMContentLoaded; the theme lays out after load.
            page.wait_for_timeout(50)
            problems = page.evaluate(PAGE_CHECK, args.width)
            if problems:
                failures[rel] = problems
            if i % 100 == 0:
                print(f"checked {i}/{len(pages)} pages", flush=True)
        browser.close()
    for rel, problems in failures.items():
        print(f"{rel}:")
        for p in problems:
            print(f"  - {p}")
    print(
        f"{len(pages)} pages checked at {args.width}px: "
        f"{len(failures)} with problems, {len(pages) - len(failures)} clean"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
