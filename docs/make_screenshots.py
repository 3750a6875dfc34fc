"""Render a program card in each interesting state to PNG, with Debian's Chromium.

The cards come from a supervisor on virtual time (the real driver and state machine, a
scripted fake process), so the pictures are reproducible:

    .venv/bin/python docs/make_screenshots.py        # writes docs/screenshots/card-*.png

The browser screenshots of the live widgets in JupyterLab come from the browser tests:
``NBSUP_SCREENSHOTS=docs/screenshots make test``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import simulated_supervisor  # noqa: E402

from nbsup.testing import Life  # noqa: E402
from nbsup.widgets import ProgramCard  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def shoot(name: str, html: str, height: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "card.html"
        page.write_text(f"<html><body style='margin:8px;width:1000px'>{html}</body></html>")
        subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={folder}/profile", f"--screenshot={OUT / name}",
             f"--window-size=1020,{height}", page.as_uri()],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    print("wrote", OUT / name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sup, clock, launcher = simulated_supervisor()
    launcher.script("train", [Life(runs=None, output=b"epoch 1 loss 0.91\nepoch 2 loss 0.52\n")])
    launcher.script("flaky", Life(runs=0.3, exit=1, output=b"\x1b[31mconnection refused\x1b[0m\n"))
    launcher.script("stubborn", Life(runs=None, ignores=frozenset({15})))
    train = sup.add_program("train", command="python train.py", startsecs=2)
    flaky = sup.add_program("flaky", command="python serve.py", startretries=3)
    stubborn = sup.add_program("stubborn", command="python stubborn.py", stopwaitsecs=10)
    cards = {p.name: ProgramCard(p) for p in (train, flaky, stubborn)}
    clock.advance(1.2)
    shoot("card-starting.png", cards["train"].html.value, 470)
    clock.advance(1.4)
    shoot("card-backoff.png", cards["flaky"].html.value, 470)
    shoot("card-running.png", cards["train"].html.value, 470)
    stubborn.stop(wait=False)
    clock.advance(3.3)
    shoot("card-stopping.png", cards["stubborn"].html.value, 470)
    clock.advance(10)
    shoot("card-fatal.png", cards["flaky"].html.value, 470)
    shoot("card-stopped-after-sigkill.png", cards["stubborn"].html.value, 470)


if __name__ == "__main__":
    main()
