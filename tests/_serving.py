"""What the page tests share: a playground server on 127.0.0.1 and a headless Chromium, each stopped by the
fixture that started it."""

import contextlib
import shutil
import threading

import pytest

from micrograd.playground.server import make_server


@contextlib.contextmanager
def running_playground():
    """A playground server on a free port of 127.0.0.1, serving in a thread until the block ends."""
    instance = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance
    finally:
        instance.shutdown()
        instance.server_close()
        thread.join(5)


@contextlib.contextmanager
def headless_chromium(profile_dir, window_size: str):
    """Debian's Chromium through its chromedriver, headless (a test tool's own browser download fails here)."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    binary = next(filter(None, map(shutil.which, names)), None)
    if binary is None:
        pytest.skip("no Chromium or Chrome on this machine (Debian: apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    assert driver_path, f"{binary} is installed but chromedriver is not (Debian: apt install chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-dev-shm-usage", f"--window-size={window_size}", f"--user-data-dir={profile_dir}"]
    for flag in flags:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()
