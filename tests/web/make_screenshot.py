"""Make docs/screenshot.png: the page after a recommendation, in headless Chromium (not a test).

    .venv/bin/python tests/web/make_screenshot.py [--db RESULTS.db] [--preset ci-runner] [--rulebook practice]
                                                  [--width 1440] [--height 1180] [--out docs/screenshot.png]

Starts the app on a free loopback port, picks an example from the form's list, presses Recommend,
waits for the verdict, the artifacts and the relation network to settle, and saves the top of the
page (``--full`` for all of it; ``--width 390`` for a phone).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from webutil import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, LiveServer

from rtadvisor.web import create_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="result store with this node's measurements")
    parser.add_argument("--preset", default="ci-runner", help="an example id (GET /api/presets)")
    parser.add_argument("--rulebook", default="practice", choices=["practice", "sources"])
    parser.add_argument("--width", type=int, default=1440, help="window width in CSS pixels")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--full", action="store_true", help="the whole page, not just the top")
    parser.add_argument("--height", type=int, default=1180, help="height of the top part, in CSS pixels")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server = LiveServer(create_app(db=args.db)).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # the window as tall as the picture, so the sticky Recommend bar sits at its bottom edge
            page = browser.new_page(viewport={"width": args.width, "height": args.height}, device_scale_factor=1)
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-ready=true]", timeout=30000)
            page.select_option("#f-preset", args.preset)
            page.check(f"input[name=rulebook][value={args.rulebook}]")
            page.click("#submit")
            page.wait_for_selector("#result-body:not([hidden])", timeout=60000)
            page.wait_for_selector("#artifacts .tab, #artifacts .unavailable")
            page.wait_for_selector("#network svg[data-settled=true]", timeout=30000)
            # a still picture: no focus ring on the verdict, the page at its top
            page.evaluate("() => { document.activeElement.blur(); window.scrollTo({top: 0, behavior: 'instant'}); }")
            page.wait_for_timeout(300)
            clip = None if args.full else {"x": 0, "y": 0, "width": args.width, "height": args.height}
            page.screenshot(path=args.out, full_page=True, clip=clip)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
