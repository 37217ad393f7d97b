"""How live the playground feels: training steps and heatmap refreshes per second, end to end.

    python bench/playground.py             # 3 rounds of 10 seconds each; prints a line per round
    python bench/playground.py --seconds 5 --rounds 1
    python bench/playground.py --graph     # with a point's graph open, following the training live

The problem is TensorFlow Playground's default (circle, 500 points, half for training, batch 10)
with a 2-8-8-1 net (tanh, SGD, lr 0.03). The server runs as ``micrograd playground`` does, in a
process of its own; headless Chromium loads the page and presses play, and the page's own
counters are read before and after each round: the training step it shows (steps/s), and how
many times it has repainted the output heatmap and every neuron's 50x50 heatmap (refreshes/s).
The target (issue 16): at least 20 steps/s while the heatmaps refresh at least 5 times a second.
This is a measurement to read, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
TARGET_STEPS, TARGET_REFRESHES = 20.0, 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each round (default: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, the best counts (default: 3)")
    parser.add_argument("--graph", action="store_true", help="open a point's graph (one box per neuron) first")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    server = subprocess.Popen(
        [sys.executable, "-m", "micrograd", "playground", "--no-browser"], stdout=subprocess.PIPE, text=True
    )
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
    for flag in FLAGS + ["--window-size=1400,1300"]:
        options.add_argument(flag)
    browser = None
    try:
        url = server.stdout.readline().split(" at ")[1].split()[0]
        browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        browser.get(url)
        _wait(browser, "window.playground.frame !== null")
        browser.execute_script("changeSettings({dataset: 'circle', hidden: [8, 8], activations: ['tanh', 'tanh'], lr: 0.03, batch_size: 10})")
        _wait(browser, "!window.playground.busy && window.playground.settings.hidden.length === 2 && "
                       "document.querySelectorAll('canvas.neuron').length === 17")
        if args.graph:
            browser.execute_script("openGraph({part: 'train', index: 0})")
            _wait(browser, "window.playground.graph !== null && !window.playground.busy")
        browser.execute_script("play()")
        time.sleep(1.0)  # warm up
        results = []
        for round_number in range(1, args.rounds + 1):
            before = _counters(browser)
            time.sleep(args.seconds)
            after = _counters(browser)
            elapsed = after["time"] - before["time"]
            steps = (after["step"] - before["step"]) / elapsed
            refreshes = (after["heatmaps"] - before["heatmaps"]) / elapsed
            results.append((steps, refreshes))
            print(f"round {round_number}: {steps:.0f} training steps/s, {refreshes:.1f} heatmap refreshes/s "
                  f"(17 neuron heatmaps and the output, 50x50 each) over {elapsed:.1f} s", flush=True)
        browser.execute_script("pause()")
        steps, refreshes = max(results)
        verdict = "meets" if steps >= TARGET_STEPS and refreshes >= TARGET_REFRESHES else "misses"
        print(f"best: {steps:.0f} steps/s with {refreshes:.1f} refreshes/s; {verdict} the target "
              f"({TARGET_STEPS:.0f} steps/s, {TARGET_REFRESHES:.0f} refreshes/s)")
        return 0 if verdict == "meets" else 1
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(10)


def _counters(browser) -> dict:
    return browser.execute_script(
        "return {time: performance.now() / 1000, step: window.playground.frame.step, "
        "heatmaps: window.playground.stats.heatmaps}"
    )


def _wait(browser, condition: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not browser.execute_script(f"return {condition}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the page did not get ready: {condition}")
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
