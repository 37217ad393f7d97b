"""The interactive training page: write_page's file, and the page itself in a real headless Chromium.

Every number the browser shows is checked against a re-run of the same training here, step by
step, with the library's eager engine (its MLP, losses and optimizers, in a loop of this file,
not micrograd.train.fit and not micrograd.explore's recorder), printed the way Python prints a
graph (``micrograd.viz.to_dot``). Nothing is read back from the data embedded in the page.
"""

import html.parser
import io
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from micrograd import Value
from micrograd.cli import main
from micrograd.data import load
from micrograd.explore import PAGE_NAME, write_page
from micrograd.losses import cross_entropy, cross_entropy_sample, hinge, hinge_sample, l2_penalty
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam, LinearDecay
from micrograd.viz import format_number, to_dot

from _serving import headless_chromium

pytest.importorskip("numpy")
pytest.importorskip("sklearn")
pytest.importorskip("graphviz")
if shutil.which("dot") is None:
    pytest.fail("Graphviz's dot program is missing: the set-up installs it (Debian: apt install graphviz)")

SEED = 1337
HIDDEN = [8, 8]
# The page's documented training settings for each dataset.
SETTINGS = {
    "moons": dict(load={}, loss="hinge", optimizer=SGD, lr=(1.0, 0.1), l2=1e-4, outputs=1),
    "yinyang": dict(load={"n_samples": 166}, loss="cross_entropy", optimizer=Adam, lr=(0.1, 0.01), l2=0.0, outputs=3),
}
MOONS_STEPS = 6
YINYANG_STEPS = 2
RECORD = re.compile(r'^\t(n\d+) \[label="(?:\{ )?(.*) \| data (\S+) \| grad (\S+)(?: \})?" shape=record\]$')


# ---- The expected numbers: the training re-run here -------------------------------------------------


def point_graph(model, x, label, loss):
    """One point's loss as a graph built here; after backward, each node's (label, data, grad) as
    to_dot prints them, by node name (n0 is the loss)."""
    for p in model.parameters():
        p.grad = 0.0
    score = model([Value(v) for v in x])
    if loss == "hinge":  # the point's own term of the batch loss: no mean over a batch of one
        root = hinge_sample(score, 2.0 * label - 1.0)
    else:
        root = cross_entropy_sample(score, [float(c == label) for c in range(len(score))])
    root.backward()
    nodes = {}
    for line in to_dot(root).splitlines():
        match = RECORD.match(line)
        if match:
            name, text, data, grad = match.groups()
            nodes[name] = (text.replace("\xa0", " ").strip(), data, grad)
    for p in model.parameters():
        p.grad = 0.0
    return nodes


def replay(dataset: str, steps: int) -> dict:
    """What the page must show at each step 0..steps: loss, accuracy and lr texts, and every point's graph."""
    settings = SETTINGS[dataset]
    train = load(dataset, seed=SEED, **settings["load"]).train
    model = MLP(2, HIDDEN + [settings["outputs"]], seed=SEED)
    params = model.parameters()
    start, end = settings["lr"]
    optimizer = settings["optimizer"](params, lr=start)
    schedule = LinearDecay(optimizer, start, end, steps)
    states = []
    for k in range(steps + 1):
        scores = [model(x) for x in train.X]
        if settings["loss"] == "hinge":
            objective = hinge(scores, [2.0 * y - 1.0 for y in train.y])
            correct = sum((s.data > 0) == (y == 1) for s, y in zip(scores, train.y))
        else:
            objective = cross_entropy(scores, train.y)
            correct = sum(max(range(3), key=lambda c: s[c].data) == y for s, y in zip(scores, train.y))
        if settings["l2"]:
            objective = objective + l2_penalty(params, settings["l2"])
        n = len(train)
        states.append(
            {
                "loss": format_number(objective.data),
                "accuracy": f"{correct / n:.1%} ({correct}/{n})",
                "lr": format_number(optimizer.lr) if k < steps else "none (last step)",
                "graphs": [point_graph(model, x, y, settings["loss"]) for x, y in zip(train.X, train.y)],
            }
        )
        if k == steps:
            break
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        schedule.step()
    return {"train": train, "states": states}


# ---- write_page without a browser -----------------------------------------------------------------


class _Resources(html.parser.HTMLParser):
    """Every tag and attribute that could make a browser fetch something."""

    def __init__(self):
        super().__init__()
        self.fetches = []
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "data", "srcset", "poster", "action") and value is not None:
                self.fetches.append((tag, name, value))


@pytest.fixture(scope="module")
def moons_page(tmp_path_factory) -> Path:
    return write_page(tmp_path_factory.mktemp("moons"), steps=MOONS_STEPS, progress=False)


@pytest.fixture(scope="module")
def moons_expected() -> dict:
    return replay("moons", MOONS_STEPS)


def test_write_page_writes_one_self_contained_page(moons_page):
    assert moons_page.name == PAGE_NAME and moons_page.is_file()
    assert [p.name for p in moons_page.parent.iterdir()] == [PAGE_NAME]  # no temporary file left
    text = moons_page.read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(text)
    assert parser.fetches == [], f"the page fetches {parser.fetches}"
    assert "link" not in parser.tags and "iframe" not in parser.tags and "img" not in parser.tags
    assert parser.tags.count("script") == 3 and parser.tags.count("style") == 1
    assert not re.search(r"@import|url\(", text), "the style must not load anything"
    # The only web addresses are the SVG and XLink namespace names, which nothing fetches.
    addresses = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, addresses
    assert "{{" not in text, "a template placeholder was left in the page"


def test_default_page_stays_under_10_mb(tmp_path):
    started = time.perf_counter()
    page = write_page(tmp_path, progress=False)  # moons, 100 steps, [8, 8]: the CLI's defaults
    seconds = time.perf_counter() - started
    size = page.stat().st_size
    print(f"default page: {size / 1e6:.2f} MB, written in {seconds:.1f} s")
    assert 100_000 < size < 10_000_000


def test_write_page_refuses_bad_arguments_before_training(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'digits'"):
        write_page(tmp_path, dataset="digits")
    for steps, error in ((0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="write_page: steps must be a positive whole number"):
            write_page(tmp_path, steps=steps)
    for hidden, error in (([], ValueError), ("8,8", TypeError), ([8, 0], ValueError), ([8.0], TypeError)):
        with pytest.raises(error, match="write_page: hidden"):
            write_page(tmp_path, hidden=hidden)
    with pytest.raises(TypeError, match="write_page: seed must be a whole number, got str"):
        write_page(tmp_path, seed="1337")
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        write_page(a_file)
    assert a_file.read_text() == "keep me"
    started = time.perf_counter()
    with pytest.raises(ValueError, match="use fewer steps or narrower hidden layers"):
        write_page(tmp_path / "huge", steps=1000)
    with pytest.raises(ValueError, match="loss graph has 1[0-9]{3} nodes, more than the 600.*use narrower hidden layers"):
        write_page(tmp_path / "huge", steps=1, hidden=[32, 32])
    assert time.perf_counter() - started < 5, "a page too big to load must be refused before training"
    assert not (tmp_path / "huge" / PAGE_NAME).exists()


@pytest.mark.parametrize("dataset", ["moons", "yinyang"])
def test_recorded_regions_are_the_models_own_predictions(dataset):
    # The page colours cell (row, column) of its square by the bytes recorded here; they must be what
    # the eager model predicts at the cell's centre (row 0 at the top), one point at a time.
    from micrograd.explore import GRID, _Recorder

    settings = SETTINGS[dataset]
    train = load(dataset, seed=SEED, **settings["load"]).train
    model = MLP(2, HIDDEN + [settings["outputs"]], seed=SEED)
    recorder = _Recorder(model, train, settings["loss"], steps=1)
    recorder.record()
    low_x, high_x, low_y, high_y = recorder.bounds
    cell = (high_x - low_x) / GRID
    classes, confidence = [], []
    for row in range(GRID):
        for column in range(GRID):
            scores = [v.data for v in model.forward([low_x + (column + 0.5) * cell, high_y - (row + 0.5) * cell])]
            if len(scores) == 1:  # class 1 above 0; hinge's margin has scale 1
                predicted, margin = int(scores[0] > 0), abs(scores[0])
            else:  # the largest score's class, by its lead over the runner-up
                runner_up, best = sorted(scores)[-2:]
                predicted, margin = scores.index(best), best - runner_up
            classes.append(predicted)
            confidence.append(round(255 * min(margin, 1.0)))
    assert recorder.regions[0].tolist() == classes
    assert len(set(classes)) > 1  # a boundary crosses the square, so the check has teeth
    assert max(abs(a - b) for a, b in zip(recorder.confidence[0].tolist(), confidence)) <= 1


def test_laying_out_the_graph_leaves_the_trained_weights_alone():
    from micrograd.explore import _graph_svg, _Recorder

    train = load("moons", seed=SEED).train
    model = MLP(2, HIDDEN + [1], seed=SEED)
    weights = [p.data for p in model.parameters()]
    svg = _graph_svg(_Recorder(model, train, "hinge", steps=1))
    assert svg.startswith("<svg") and "data &#45;1000000.0000" in svg  # laid out with the widest text
    assert [p.data for p in model.parameters()] == weights


def test_what_the_page_relies_on_holds_by_construction():
    # Checked here once, not on every page written: the script is inlined in a <script> element,
    # which a '</script' in it would end early; every number's text fits the page's fixed width;
    # and every point's loss graph has point 0's shape, since the page indexes the numbers by node.
    from importlib import resources

    from micrograd.explore import _MAX_TEXT, PRECISION, _Recorder

    script = (resources.files("micrograd") / "explore_assets" / "explore.js").read_text(encoding="utf-8")
    assert "</script" not in script.lower()
    extremes = [0.0, -0.0, 5e-324, -5e-324, 1e-4, -0.99995e-4, 999999.99996, -999999.99996, 1e6, -1e6,
                -1.7976931348623157e308, -2.2250738585072014e-308, -123456.78949]
    widths = [len(format_number(x, PRECISION)) for x in extremes]
    assert max(widths) == _MAX_TEXT == len(format_number(-999999.99996, PRECISION))
    for dataset, settings in SETTINGS.items():
        train = load(dataset, seed=SEED, **settings["load"]).train
        recorder = _Recorder(MLP(2, [3, settings["outputs"]], seed=SEED), train, settings["loss"], steps=1)
        labels = set(train.y)
        assert len(labels) > 1  # different targets, one shape
        assert all([node.op for node in recorder.point_graph(i)] == recorder.ops for i in range(len(train)))


def test_missing_graphviz_is_named_before_training(tmp_path, monkeypatch):
    started = time.perf_counter()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if the graphviz package were not installed
    with pytest.raises(ImportError, match=r"needs graphviz, not installed: pip install 'micrograd-plus\[demo,viz\]'"):
        write_page(tmp_path / "a", progress=False)
    monkeypatch.delitem(sys.modules, "graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on it
    with pytest.raises(OSError, match="the explore page needs Graphviz's dot program.*apt install graphviz"):
        write_page(tmp_path / "b", progress=False)
    assert time.perf_counter() - started < 2  # refused before training (which takes seconds)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_expand_dot_records_each_product_of_a_neuron(tmp_path):
    from micrograd.explore import _graph_svg, _Recorder

    train = load("moons", seed=SEED).train
    model = MLP(2, [3, 1], seed=SEED)
    recorder = _Recorder(model, train, "hinge", steps=1, expand_dot=True)
    recorder.record()
    plain = _Recorder(model, train, "hinge", steps=1).ops
    assert plain.count("dot") == 3 + 1 and "dot" not in recorder.ops  # a dot per neuron, each expanded
    assert recorder.ops.count("*") == plain.count("*") + 2 * 3 + 3  # into a w*x per weight
    column = recorder.labels.index("L0.N1.w0*x0")
    w0 = model.layers[0].neurons[1].w[0].data
    assert [float(x) for x in recorder.data[0, :, column]] == [w0 * x[0] for x in train.X]
    svg = _graph_svg(recorder)
    assert "L0.N1.w0*x0" in svg and "&gt;dot&lt;" not in svg and ">dot<" not in svg
    assert main(["explore", "--out", str(tmp_path), "--steps", "1", "--hidden", "2", "--expand-dot",
                 "--no-progress"]) == 0  # fmt: skip
    assert ">L0.N0.w1*x1<" in (tmp_path / PAGE_NAME).read_text(encoding="utf-8")


def test_cli_explore_writes_the_page(tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path / "page"), "--steps", "2", "--hidden", "4,4"]) == 0
    page = tmp_path / "page" / PAGE_NAME
    assert capsys.readouterr().out.strip() == f"wrote {page}"
    assert "an MLP 2-4-4-1 learning moons" in page.read_text(encoding="utf-8")
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert main(["explore", "--out", str(a_file), "--steps", "2"]) == 2
    assert "micrograd explore: error: out:" in capsys.readouterr().err


# ---- The page in Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile"), "1400,1000") as driver:
        yield driver


def open_page(driver, page: Path) -> None:
    driver.get(page.resolve().as_uri())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = driver.execute_script("return document.body.getAttribute('data-ready')")
        if ready:
            break
        time.sleep(0.05)
    error = driver.execute_script("return document.getElementById('error').textContent")
    assert ready == "true", f"the page did not start: {error!r}"


def shown(driver) -> dict:
    """What the page shows right now, read from the screen's elements."""
    return driver.execute_script(
        """
        const text = (id) => document.getElementById(id).textContent;
        const nodes = {};
        for (const g of document.querySelectorAll('#graph g.node[data-node]')) {
          nodes['n' + g.getAttribute('data-node')] = [
            g.querySelector('text').textContent,
            g.querySelector('text[data-field=data]').textContent,
            g.querySelector('text[data-field=grad]').textContent,
          ];
        }
        return {step: Number(text('step-number')), loss: text('loss'), accuracy: text('accuracy'),
                lr: text('lr'), point: text('point-name'), state: window.micrograd.state(), nodes: nodes};
        """
    )


def assert_page_matches(page: dict, expected: dict, step: int, point: int) -> None:
    state = expected["states"][step]
    assert page["step"] == step and page["state"]["step"] == step
    assert page["state"]["point"] == point
    assert page["point"].startswith(f"point {point} ")
    assert (page["loss"], page["accuracy"], page["lr"]) == (state["loss"], state["accuracy"], state["lr"])
    graph = state["graphs"][point]
    assert set(page["nodes"]) == set(graph), "the page's graph has other nodes than the loss graph"
    for name, (label, data, grad) in graph.items():
        page_label, page_data, page_grad = page["nodes"][name]
        assert (page_data, page_grad) == (f"data {data}", f"grad {grad}"), f"node {name} ({label or page_label})"
        if label:  # the parameters keep their names (L0.N3.w1); the page names more nodes than that
            assert page_label.replace("\xa0", " ").strip() == label


def test_page_steps_and_shows_the_engines_numbers(browser, moons_page, moons_expected, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, moons_page)
    # The graph opens at a readable zoom with its output end in view: the loss (n0) inside the panel.
    in_view = browser.execute_script("""
        const panel = document.getElementById('graph').getBoundingClientRect();
        const box = document.querySelector('#graph g.node[data-node="0"]').getBoundingClientRect();
        return box.left >= panel.left && box.right <= panel.right && box.top >= panel.top && box.bottom <= panel.bottom;""")
    assert in_view
    start = shown(browser)
    first = start["state"]["point"]
    assert moons_expected["states"][0]["graphs"][first]["n0"][1] != "0.0000", "the page starts with a point whose loss is 0"
    assert_page_matches(start, moons_expected, 0, first)

    browser.find_element(By.ID, "step").click()
    after = shown(browser)
    assert_page_matches(after, moons_expected, 1, first)
    assert after["loss"] != start["loss"]
    changed = [n for n in after["nodes"] if after["nodes"][n][1] != start["nodes"][n][1] and after["nodes"][n][2] != start["nodes"][n][2]]
    weights = [n for n in changed if re.fullmatch(r"L\d\.N\d\.w\d", after["nodes"][n][0])]
    assert weights, "no weight's data and grad changed with the step"

    # Clicking another point (one whose loss sends gradients back) shows its graph instead.
    train = moons_expected["train"]
    others = [i for i in range(len(train)) if i != first and moons_expected["states"][1]["graphs"][i]["n0"][1] != "0.0000"]
    target = others[len(others) // 2]
    dx, dy = browser.execute_script("return window.micrograd.pointOffset(arguments[0])", target)
    canvas = browser.find_element(By.ID, "plot")
    ActionChains(browser).move_to_element_with_offset(canvas, round(dx), round(dy)).click().perform()
    clicked = shown(browser)
    assert_page_matches(clicked, moons_expected, 1, target)
    inputs = {clicked["nodes"][n][1] for n in clicked["nodes"]}
    assert {f"data {format_number(train.X[target][0])}", f"data {format_number(train.X[target][1])}"} <= inputs

    # More steps, back, play and pause, reset: the numbers always follow the step shown.
    for _ in range(3):
        browser.find_element(By.ID, "step").click()
    assert_page_matches(shown(browser), moons_expected, 4, target)
    browser.find_element(By.ID, "back").click()
    assert_page_matches(shown(browser), moons_expected, 3, target)
    browser.find_element(By.ID, "play").click()
    deadline = time.monotonic() + 10
    while shown(browser)["step"] < MOONS_STEPS and time.monotonic() < deadline:
        time.sleep(0.05)
    final = shown(browser)
    assert_page_matches(final, moons_expected, MOONS_STEPS, target)
    assert not final["state"]["playing"], "playing must stop at the last step"
    assert browser.find_element(By.ID, "step").get_attribute("disabled") is not None
    browser.find_element(By.ID, "play").click()  # from the end, play starts again from step 0...
    browser.find_element(By.ID, "play").click()  # ...and pauses at once
    paused = shown(browser)["step"]
    time.sleep(0.5)
    assert shown(browser)["step"] == paused and not shown(browser)["state"]["playing"]
    browser.find_element(By.ID, "reset").click()
    assert_page_matches(shown(browser), moons_expected, 0, target)
    browser.find_element(By.ID, "plot").click()  # (the middle of the plot: focus off the buttons)
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()
    assert shown(browser)["step"] == 2
    assert_page_matches(shown(browser), moons_expected, 2, shown(browser)["state"]["point"])

    png = browser.get_screenshot_as_png()
    (tmp_path / "explore.png").write_bytes(png)
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 1000 and pixels.shape[2] in (3, 4)
    assert pixels[..., :3].std() > 0.05, "the screenshot is blank"


def test_page_of_yinyang_shows_three_classes_and_cross_entropy_graphs(browser, tmp_path):
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path, dataset="yinyang", steps=YINYANG_STEPS, progress=False)
    expected = replay("yinyang", YINYANG_STEPS)
    open_page(browser, page)
    point = shown(browser)["state"]["point"]
    assert_page_matches(shown(browser), expected, 0, point)
    browser.find_element(By.ID, "step").click()
    assert_page_matches(shown(browser), expected, 1, point)
    labels = {label for label, _, _ in shown(browser)["nodes"].values()}
    assert {"score0", "score1", "score2", "loss"} <= {label.replace("\xa0", " ").strip() for label in labels}
