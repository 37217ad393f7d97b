"""The playground in a real headless Chromium: controls, live training, a point's graph, the stepper.

One server and one browser serve every test of this file (in order: each goes on from the last).
The numbers on the page are checked against a re-computation here: the point's loss graph built
with the engine from a copy of the session's weights, its grads from ``backward()``, and each op's
local derivative from a table written by hand below.
"""

import json
import math
import shutil
import threading
import time
import urllib.request

import pytest

from micrograd import Value
from micrograd.engine import topological_order
from micrograd.losses import hinge, hinge_sample
from micrograd.nn import MLP
from micrograd.playground.server import make_server
from micrograd.viz import graph_nodes

pytest.importorskip("numpy")
pytest.importorskip("sklearn")
pytest.importorskip("selenium")
if shutil.which("dot") is None:
    pytest.fail("Graphviz's dot program is missing: the set-up installs it (Debian: apt install graphviz)")

BROWSER_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1400,1300",
]
# Each op's local derivatives, by hand: d(out)/d(input) for each input, from the inputs and out.
LOCAL = {
    "+": lambda out, x, y: (1.0, 1.0),
    "-": lambda out, x, y: (1.0, -1.0),
    "*": lambda out, x, y: (y, x),
    "tanh": lambda out, x: (1.0 - out * out,),
    "ReLU": lambda out, x: (1.0 if x > 0 else 0.0,),
    "dot": lambda out, *wx: wx[len(wx) // 2 :] + wx[: len(wx) // 2],
}


@pytest.fixture(scope="module")
def server():
    instance = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=instance.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance
    finally:
        instance.shutdown()
        instance.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def driver(server, tmp_path_factory):
    binary = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)
    if binary is None:
        pytest.skip("no Chromium or Chrome on this machine (Debian: apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    assert driver_path, f"{binary} is installed but chromedriver is not (Debian: apt install chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in BROWSER_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    browser.set_page_load_timeout(60)
    try:
        open_page(browser, server)
        yield browser
    finally:
        browser.quit()


def open_page(browser, server) -> None:
    browser.get(server.url)
    wait(browser, lambda: browser.execute_script("return window.playground.frame !== null"))


def wait(browser, condition, seconds=30.0, what="the page"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    message = browser.execute_script("return document.getElementById('message').textContent")
    raise AssertionError(f"{what} did not get there in {seconds} s (page says: {message!r})")


def session_of(browser, server):
    key = browser.execute_script("return window.playground.session")
    return server.sessions.get(key).session


def text(browser, element_id):
    return browser.execute_script(f"return document.getElementById({element_id!r}).textContent")


def choose(browser, element_id, value):
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", element_id)).select_by_value(value)


def click(browser, element_id):
    browser.find_element("id", element_id).click()


def shown_hidden(driver):
    """The hidden layers the page has drawn, once no request is under way."""
    return driver.execute_script("return window.playground.busy ? null : window.playground.settings.hidden")


def model_copy(server, key) -> MLP:
    """The session's weights, read through the page's own API as the page would."""
    request = urllib.request.Request(
        server.url + "api/model", data=json.dumps({"session": key}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return MLP.from_dict(json.load(response))


def test_controls_steer_training_and_the_loss_falls(driver, server):
    session = session_of(driver, server)
    choose(driver, "dataset", "xor")
    wait(driver, lambda: session.settings.dataset == "xor" and text(driver, "step-count") == "0")
    click(driver, "add-layer")
    wait(driver, lambda: session.settings.hidden == (4, 2, 2) and shown_hidden(driver) == [4, 2, 2])
    driver.find_element("css selector", "#columns .column:nth-child(2) .head button").click()  # + on layer 1
    wait(driver, lambda: session.settings.hidden == (5, 2, 2) and shown_hidden(driver) == [5, 2, 2])
    choose(driver, "lr", "0.1")
    wait(driver, lambda: session.settings.lr == 0.1)
    assert len(driver.find_elements("css selector", "canvas.neuron")) == 5 + 2 + 2 + 1
    start = float(text(driver, "train-loss"))
    click(driver, "play")
    wait(driver, lambda: session.step >= 300 and float(text(driver, "train-loss")) < 0.6 * start, 60, "training")
    click(driver, "play")  # pause
    wait(driver, lambda: not driver.execute_script("return window.playground.playing || window.playground.busy"))
    step = int(text(driver, "step-count"))
    assert step == session.step
    model = model_copy(server, driver.execute_script("return window.playground.session"))
    data = session.problem.train
    expected = hinge([model(x) for x in data.X], [2.0 * y - 1.0 for y in data.y]).data
    assert text(driver, "train-loss") == f"{expected:.4f}"


def point_graph(model, x, label):
    """The point's loss built here, after backward: (root, the neurons' outputs by name)."""
    h = [Value(v, label=f"x{k}") for k, v in enumerate(x)]
    neurons = {}
    for i, layer in enumerate(model.layers):
        h = [neuron(h) for neuron in layer.neurons]
        neurons.update({f"L{i}.N{j}": v for j, v in enumerate(h)})
    root = hinge_sample(h[0], 2.0 * label - 1.0)
    root.backward()
    return root, neurons


def boxes_on_page(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#graph g.box')].map((g) => [g.dataset.key, g.dataset.data, g.dataset.grad])"
    )


def open_point(driver, index):
    from selenium.webdriver.common.action_chains import ActionChains

    x, y = driver.execute_script(f"return toPixel(window.playground.data.train[{index}])")
    canvas = driver.find_element("id", "output-points")
    ActionChains(driver).move_to_element_with_offset(canvas, x - 150, y - 150).click().perform()
    wait(driver, lambda: driver.execute_script(
        f"return window.playground.graph && window.playground.graph.index === {index} && window.playground.busy === false"
    ))


def a_point_with_a_loss(session) -> int:
    """The first training point whose hinge term is above 0, so that its backward pass has work."""
    data = session.problem.train
    return next(i for i, (x, y) in enumerate(zip(data.X, data.y)) if hinge_sample(session.model(x), 2.0 * y - 1.0).data > 0)


def test_a_points_graph_shows_the_engines_numbers(driver, server):
    session = session_of(driver, server)
    index = a_point_with_a_loss(session)
    open_point(driver, index)
    model = model_copy(server, driver.execute_script("return window.playground.session"))
    root, neurons = point_graph(model, session.problem.train.X[index], session.problem.train.y[index])
    others = {n.key: n for n in graph_nodes(root, expand_dot=True)}  # the page's keys are expand_dot's
    shown = boxes_on_page(driver)
    in_order = {id(v): i for i, v in enumerate(topological_order([root]))}  # the engine's order, as the page's
    neuron_keys = sorted(neurons, key=lambda key: in_order[id(neurons[key])])
    assert [key for key, _, _ in shown if key.startswith("L")] == neuron_keys
    for key, data, grad in shown:
        expected = neurons[key] if key in neurons else others[key]
        assert (float(data), float(grad)) == (expected.data, expected.grad), key
    assert {others[key].label for key, _, _ in shown if key in others} >= {"x0", "x1"} and shown[-1][0] == "n0"
    # it opens readable: the loss box in view, its text at least 8 pixels high
    inside = driver.execute_script("""
        const svg = document.getElementById('graph').getBoundingClientRect();
        const boxes = [...document.querySelectorAll('#graph g.box')];
        const loss = boxes[boxes.length - 1].getBoundingClientRect();
        const letters = boxes[boxes.length - 1].querySelector('text').getBoundingClientRect();
        return [loss.left >= svg.left && loss.right <= svg.right && loss.top >= svg.top && loss.bottom <= svg.bottom,
                letters.height];""")
    assert inside[0] and inside[1] >= 8

    # click a neuron's box: it opens into its scalars (a product per weight, their sum, + b, tanh)
    driver.find_element("css selector", '#graph g.box[data-key="L1.N0"]').click()
    wait(driver, lambda: driver.execute_script("return window.playground.graph.expanded.length === 1 && !window.playground.busy"))
    before, shown = {key for key, _, _ in shown}, boxes_on_page(driver)
    opened = [key for key, _, _ in shown if key not in before]
    fan_in = model.layers[1].nin  # its weights and their products, their sum, b, + b, tanh:
    assert len(opened) == 2 * fan_in + 4 and before - {key for key, _, _ in shown} == {"L1.N0"}
    for key, data, grad in shown:
        expected = neurons[key] if key in neurons else others[key]
        assert (float(data), float(grad)) == (expected.data, expected.grad), key
    driver.find_element("css selector", f'#graph g.box[data-key="{opened[0]}"]').click()  # and closes again
    wait(driver, lambda: driver.execute_script("return window.playground.graph.expanded.length === 0 && !window.playground.busy"))
    assert [key for key, _, _ in boxes_on_page(driver) if key.startswith("L")] == neuron_keys

    driver.find_element("css selector", "input[value=scalars]").click()  # every scalar, dots expanded
    wait(driver, lambda: driver.execute_script("return window.playground.graph.view === 'scalars' && !window.playground.busy"))
    expanded = {n.key: n for n in graph_nodes(root, expand_dot=True)}
    shown = boxes_on_page(driver)
    assert sorted(key for key, _, _ in shown) == sorted(expanded)
    for key, data, grad in shown:
        assert (float(data), float(grad)) == (expanded[key].data, expanded[key].grad), key
    click(driver, "stepper-end")  # the stepper, run to its end, leaves every box as backward() does
    for key, data, grad in boxes_on_page(driver):
        assert float(grad) == pytest.approx(expanded[key].grad, rel=1e-12, abs=1e-300), key
    driver.find_element("css selector", "input[value=neurons]").click()
    wait(driver, lambda: driver.execute_script("return window.playground.graph.view === 'neurons' && !window.playground.busy"))


def test_the_stepper_walks_backward_in_its_order_with_the_right_numbers(driver, server):
    session = session_of(driver, server)
    index = a_point_with_a_loss(session)
    model = model_copy(server, driver.execute_script("return window.playground.session"))
    root, neurons = point_graph(model, session.problem.train.X[index], session.problem.train.y[index])
    key_of = {id(n.value): n.key for n in graph_nodes(root, expand_dot=True) if n.value is not None}
    order = [v for v in reversed(topological_order([root])) if v._prev]
    value_of = {key_of[id(v)]: v for v in topological_order([root])}
    forward = driver.execute_script("return forwardBoxes().length")
    click(driver, "stepper-start")
    for _ in range(forward):
        click(driver, "stepper-next")
    seen, finals = [], {}
    for number in range(len(order)):
        click(driver, "stepper-next")
        step = driver.execute_script("""
            const grad = document.querySelector('#stepper-text [data-role=grad]');
            const rows = [...document.querySelectorAll('#stepper-text tr[data-node]')].map((r) =>
                [r.dataset.node, +r.dataset.local, +r.dataset.added, +r.dataset.before, +r.dataset.after]);
            return [document.querySelector('#stepper-text [data-step-node]').dataset.stepNode,
                    document.querySelector('#graph g.box.current').dataset.key, +grad.dataset.value, rows];""")
        node = order[number]
        step_node, current_box, g, rows = step
        assert step_node == key_of[id(node)], f"step {number + 1} is not backward()'s"
        seen.append(current_box)
        assert g == pytest.approx(node.grad, rel=1e-12, abs=1e-300)
        inputs = node._prev
        if not g:  # backward() skips a node whose grad is 0: so does the stepper
            assert rows == []
            continue
        local = LOCAL[node._op](node.data, *[v.data for v in inputs])
        assert [row[0] for row in rows] == [key_of[id(v)] for v in inputs]
        for (key, shown_local, added, before, after), expected in zip(rows, local):
            assert shown_local == pytest.approx(expected, rel=1e-12, abs=1e-300), key
            assert added == pytest.approx(expected * g, rel=1e-12, abs=1e-300), key
            assert after == before + added and before == finals.get(key, 0.0)  # an input used again adds on
            finals[key] = after
    for key, grad in finals.items():  # what the steps add up to is backward()'s grad
        assert grad == pytest.approx(value_of[key].grad, rel=1e-12, abs=1e-300), key
    # the box each step highlights is the node's own, or its neuron's
    assert seen[0] == key_of[id(root)] and set(seen) >= set(neurons)
    assert driver.execute_script("return window.playground.stepper") == forward + len(order)
    assert "every grad here is the one backward() left" in text(driver, "stepper-text")
    for key, data, grad in boxes_on_page(driver):  # at the end every box shows backward()'s grads
        expected = neurons[key] if key in neurons else value_of[key]
        assert float(grad) == pytest.approx(expected.grad, rel=1e-12, abs=1e-300), key


def test_two_tabs_train_two_models(driver, server):
    first_key = driver.execute_script("return window.playground.session")
    first = server.sessions.get(first_key).session
    step = first.step
    driver.switch_to.new_window("tab")
    try:
        open_page(driver, server)
        second_key = driver.execute_script("return window.playground.session")
        assert second_key != first_key and len(server.sessions) == 2
        second = server.sessions.get(second_key).session
        assert (second.settings.dataset, second.step) == ("circle", 0)
        click(driver, "step")
        wait(driver, lambda: text(driver, "step-count") == "1")
        assert second.step == 1 and first.step == step
        assert [p.data for p in second.model.parameters()] != [p.data for p in first.model.parameters()]
    finally:
        driver.close()
        driver.switch_to.window(driver.window_handles[0])
    deadline = time.monotonic() + 10
    while len(server.sessions) > 1 and time.monotonic() < deadline:  # a closed tab says goodbye
        time.sleep(0.05)
    assert len(server.sessions) == 1 and server.sessions.get(first_key).session is first
