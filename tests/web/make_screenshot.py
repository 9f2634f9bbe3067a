"""Make docs/screenshot.png: the page after a recommendation, in headless Chromium (not a test).

    .venv/bin/python tests/web/make_screenshot.py [--db RESULTS.db] [--preset edge] [--out docs/screenshot.png]

Starts the app on a free loopback port, picks a preset, submits, waits for the tree path, the
artifacts and the relation network to settle, and saves the top of the page (``--full`` for all).
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
    parser.add_argument("--preset", default="edge")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--full", action="store_true", help="the whole page, not just the top")
    parser.add_argument("--height", type=int, default=1780, help="height of the top part, in CSS pixels")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    server = LiveServer(create_app(db=args.db)).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-ready=true]", timeout=30000)
            page.click(f"button[data-preset='{args.preset}']")
            page.click("#submit")
            page.wait_for_selector("#tree .node.reached, #tree .node.taken")
            page.wait_for_selector("#artifacts .tab, #artifacts .unavailable")
            page.wait_for_selector("#network svg[data-settled=true]", timeout=30000)
            clip = None if args.full else {"x": 0, "y": 0, "width": 1400, "height": args.height}
            page.screenshot(path=args.out, full_page=True, clip=clip)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
