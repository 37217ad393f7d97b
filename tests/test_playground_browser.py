"""The playground in a real headless Chromium: controls, live training, a point's graph, the stepper.

One server and one browser serve every test of this file (in order: each goes on from the last).
The numbers on the page are checked against a re-computation here: the point's loss graph built
with the engine from a copy of the session's weights, its grads from ``backward()``, and each op's
local derivative from a table written by hand below.
"""

import json
import math
import shutil
import time
import urllib.request

import pytest

from micrograd import Value
from micrograd.engine import topological_order
from micrograd.losses import hinge, hinge_sample
from micrograd.nn import MLP
from micrograd.viz import graph_nodes

from _serving import headless_chromium, running_playground

pytest.importorskip("numpy")
pytest.importorskip("sklearn")
pytest.importorskip("selenium")
if shutil.which("dot") is None:
    pytest.fail("Graphviz's dot program is missing: the set-up installs it (Debian: apt install graphviz)")

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
    with running_playground() as instance:
        yield instance


@pytest.fixture(scope="module")
def driver(server, tmp_path_factory):
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile"), "1400,1300") as browser:
        open_page(browser, server)
        yield browser


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
    h = [Value(v, label=f"x{k + 1}") for k, v in enumerate(x)]  # the features x1 and x2
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
    assert {others[key].label for key, _, _ in shown if key in others} >= {"x1", "x2"} and shown[-1][0] == "n0"
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


# ---- issue 17: TensorFlow Playground's controls, own points, links, session files, exports ----------
# Each check reads what the page shows or holds and compares it with Python: the problems drawn
# here, the features written by hand, the losses from the weights the page's own API returns.

HAND_FEATURES = {
    "x1": lambda a, b: a, "x2": lambda a, b: b, "x1_squared": lambda a, b: a * a, "x2_squared": lambda a, b: b * b,
    "x1_times_x2": lambda a, b: a * b, "sin_x1": lambda a, b: math.sin(a), "sin_x2": lambda a, b: math.sin(b),
}


def idle(driver):
    wait(driver, lambda: not driver.execute_script("return window.playground.busy || window.playground.playing"))


def set_range(driver, element_id, value):
    """Move a slider as a hand would: its value, then the change event the page listens to."""
    driver.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));", element_id, value)


def page_points(driver):
    return driver.execute_script("return [window.playground.data.train, window.playground.data.test]")


def drawn_points(problem):
    return [[[x, y, label] for (x, y), label in zip(part.X, part.y)] for part in (problem.train, problem.test)]


def page_model(driver, server):
    return model_copy(server, driver.execute_script("return window.playground.session"))


def losses_by_hand(model, points, classes):
    """The page's losses, from the weights: hinge on two classes, squared error on a regression."""
    scores = [model([f(x, y) for f in (HAND_FEATURES[name] for name in model.inputs)]).data for x, y, _ in points]
    if classes is None:
        return sum((s - t) ** 2 for s, (_, _, t) in zip(scores, points)) / len(points), None
    margins = [s * (2.0 * label - 1.0) for s, (_, _, label) in zip(scores, points)]
    right = sum((s > 0) == (label == 1) for s, (_, _, label) in zip(scores, points))  # a score of 0 picks class 0
    return sum(max(0.0, 1.0 - m) for m in margins) / len(points), right / len(points)


def page_export(driver, kind):
    """The text an export button downloads, from the page's own function."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "exportText(arguments[0]).then((file) => done(file[1]), (error) => done('failed: ' + error.message));", kind)


def check_page_losses(driver, server):
    session = session_of(driver, server)
    model = page_model(driver, server)
    _, test = page_points(driver)
    loss, accuracy = losses_by_hand(model, test, session.problem.classes)
    assert text(driver, "test-loss") == f"{loss:.4f}"
    assert text(driver, "test-accuracy") == ("-" if accuracy is None else f"{100 * accuracy:.1f}%")


def test_each_tensorflow_playground_control_changes_what_the_page_computes(driver, server):
    from micrograd.playground.problems import make_problem

    choose(driver, "dataset", "circle")
    set_range(driver, "noise", 30)
    idle(driver)
    set_range(driver, "train-percent", 70)
    wait(driver, lambda: len(page_points(driver)[0]) == 350 and not driver.execute_script("return window.playground.busy"))
    seed = session_of(driver, server).settings.seed
    assert page_points(driver) == drawn_points(make_problem("circle", seed, noise=30, train_percent=70))
    click(driver, "regenerate")
    wait(driver, lambda: session_of(driver, server).settings.seed != seed)
    idle(driver)
    seed = session_of(driver, server).settings.seed
    assert page_points(driver) == drawn_points(make_problem("circle", seed, noise=30, train_percent=70))
    # the input features: click the nodes as in TensorFlow Playground
    for name in ("sin_x1", "x1_times_x2"):
        driver.find_element("css selector", f'[data-feature="{name}"]').click()
        wait(driver, lambda: name in session_of(driver, server).settings.features)
        idle(driver)
    widths = [4, *session_of(driver, server).settings.hidden, 1]  # x1, x2 and the two chosen: one link per weight
    assert driver.execute_script("return document.querySelectorAll('#links line').length") == sum(
        a * b for a, b in zip(widths, widths[1:]))
    # per-layer activation: the first hidden layer's menu
    from selenium.webdriver.support.ui import Select

    layers = len(session_of(driver, server).settings.hidden)
    Select(driver.find_element("css selector", "select.layer-activation")).select_by_value("relu")
    wait(driver, lambda: session_of(driver, server).settings.activations == ("relu",) + ("tanh",) * (layers - 1))
    idle(driver)
    model = page_model(driver, server)
    assert model.inputs == ["x1", "x2", "x1_times_x2", "sin_x1"]
    assert [layer.activation for layer in model.layers] == ["relu"] + ["tanh"] * (layers - 1) + [None]
    check_page_losses(driver, server)
    # discretize output: each cell of the picture in the colour of the class Python predicts at its centre
    click(driver, "discretize")
    pixels = driver.execute_script(
        "const c = document.getElementById('output-map'); return [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]")
    low, high = session_of(driver, server).problem.bounds
    faded = {1: [round(255 - 0.45 * (255 - v)) for v in (8, 119, 189)], 0: [round(255 - 0.45 * (255 - v)) for v in (245, 147, 34)]}
    for cell in range(0, 2500, 97):
        row, column = divmod(cell, 50)
        x, y = low + (column + 0.5) * (high - low) / 50, high - (row + 0.5) * (high - low) / 50
        score = model([HAND_FEATURES[name](x, y) for name in model.inputs]).data
        if abs(score) > 1e-9:
            assert [abs(a - b) <= 1 for a, b in zip(pixels[4 * cell : 4 * cell + 3], faded[int(score > 0)])] == [True] * 3, cell
    click(driver, "discretize")
    # the learning rate's range is TensorFlow Playground's menu
    options = driver.execute_script("return [...document.getElementById('lr').options].map((o) => Number(o.value))")
    assert options[0] == 0.00001 and options[-1] == 10
    # a regression problem
    choose(driver, "dataset", "plane")
    wait(driver, lambda: session_of(driver, server).problem.classes is None and text(driver, "test-accuracy") == "-")
    idle(driver)
    assert page_points(driver) == drawn_points(make_problem("plane", seed, noise=30, train_percent=70))
    check_page_losses(driver, server)
    # a weight and a bias set by hand: click the link, then the neuron
    spot = driver.execute_script("""
        const line = document.querySelector('#links line[data-layer="0"][data-neuron="2"][data-weight="1"]');
        const box = document.getElementById('links').getBoundingClientRect(), at = (name) => Number(line.getAttribute(name));
        for (let t = 0.1; t < 0.95; t += 0.05) {  // a spot of the line that no other line or node covers
          const x = at('x1') + t * (at('x2') - at('x1')), y = at('y1') + t * (at('y2') - at('y1'));
          if (document.elementFromPoint(box.left + x, box.top + y) === line) return [x - box.width / 2, y - box.height / 2];
        }
        return null;""")
    assert spot, "the link from x2 to L0.N2 has no spot a click reaches"
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element_with_offset(driver.find_element("id", "links"), *spot).click().perform()
    field = driver.find_element("id", "param-value")
    field.clear()
    field.send_keys("1.5")
    click(driver, "param-set")
    wait(driver, lambda: page_model(driver, server).layers[0].neurons[2].w[1].data == 1.5)
    idle(driver)
    driver.find_element("css selector", 'canvas.neuron[data-node="L1.N0"]').click()
    field.clear()
    field.send_keys("-0.25\n")
    wait(driver, lambda: page_model(driver, server).layers[1].neurons[0].b.data == -0.25)
    idle(driver)
    check_page_losses(driver, server)
    # test points on: a click on one opens its graph
    train, test = page_points(driver)
    click(driver, "show-test")
    far = max(range(len(test)), key=lambda i: min(math.dist(test[i][:2], p[:2]) for p in train))

    x, y = driver.execute_script(f"return toPixel(window.playground.data.test[{far}])")
    ActionChains(driver).move_to_element_with_offset(driver.find_element("id", "output-points"), x - 150, y - 150).click().perform()
    wait(driver, lambda: driver.execute_script("const g = window.playground.graph; return g && g.part === 'test' && g.index === arguments[0]", far))
    click(driver, "show-test")


def click_at(driver, x, y, shift=False):
    """Click the picture at pixel (x, y) from its top left (with shift held, if asked)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    actions = ActionChains(driver)
    if shift:
        actions.key_down(Keys.SHIFT)
    actions.move_to_element_with_offset(driver.find_element("id", "output-points"), x - 150, y - 150).click()
    if shift:
        actions.key_up(Keys.SHIFT)
    actions.perform()


def test_own_points_by_clicking_a_csv_round_trip_and_regularisation(driver, server, tmp_path):
    import torch

    from micrograd.export import to_torch

    choose(driver, "dataset", "xor")
    wait(driver, lambda: session_of(driver, server).settings.dataset == "xor")
    idle(driver)
    click(driver, "edit-points")
    train, _ = page_points(driver)
    pixels = driver.execute_script("return window.playground.data.train.map((p) => toPixel(p))")
    empty = [(x, y) for x in range(20, 290, 10) for y in range(20, 290, 10)
             if min(math.dist((x, y), p) for p in pixels) > 12]
    for (x, y), shift, label in ((empty[0], False, 1), (empty[-1], True, 0)):
        count = len(page_points(driver)[0])
        click_at(driver, x, y, shift)
        wait(driver, lambda: len(page_points(driver)[0]) == count + 1)
        px, py, got = page_points(driver)[0][-1]
        assert got == label and abs(px - (-6 + x / 25)) < 0.05 and abs(py - (6 - y / 25)) < 0.05  # 300 px for 12 units
    idle(driver)
    click_at(driver, *empty[0])  # on the point just added: it goes
    wait(driver, lambda: len(page_points(driver)[0]) == len(train) + 1)
    assert page_points(driver)[0][-1][2] == 0 and session_of(driver, server).problem.own
    click(driver, "edit-points")
    # CSV: export, import elsewhere, the same points; a malformed file changes nothing and names its line
    exported = page_export(driver, "csv")
    kept = page_points(driver)
    choose(driver, "dataset", "circle")
    wait(driver, lambda: page_points(driver) != kept)
    idle(driver)
    path = tmp_path / "points.csv"
    path.write_text(exported)
    driver.find_element("id", "import-csv").send_keys(str(path))
    wait(driver, lambda: page_points(driver) == kept)
    assert page_export(driver, "csv") == exported
    bad = exported.splitlines()
    bad[2] = "1.0,2.0,7,train"
    path.write_text("\n".join(bad))
    driver.find_element("id", "import-csv").send_keys(str(path))
    wait(driver, lambda: "line 3" in text(driver, "message"))
    assert "label must be a class from 0 to 1" in text(driver, "message") and page_points(driver) == kept
    # regularisation on one training point: one SGD step equals PyTorch's on the same loss
    path.write_text("x1,x2,label,part\n1.0,2.0,1,train\n-1.0,-2.0,0,test\n")
    driver.find_element("id", "import-csv").send_keys(str(path))
    wait(driver, lambda: len(page_points(driver)[0]) == 1)
    choose(driver, "lr", "0.1")
    for kind, rate in (("L2", "0.3"), ("L1", "0.1")):
        choose(driver, "regularization", kind)
        choose(driver, "reg-rate", rate)
        wait(driver, lambda: (session_of(driver, server).settings.regularization, session_of(driver, server).settings.reg_rate) == (kind, float(rate)))
        idle(driver)
        before = page_model(driver, server)
        net = to_torch(before)
        click(driver, "step")
        wait(driver, lambda: text(driver, "step-count") == str(session_of(driver, server).step) and not driver.execute_script("return window.playground.busy"))
        features = torch.tensor([[HAND_FEATURES[n](1.0, 2.0) for n in before.inputs]], dtype=torch.float64)
        weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
        penalty = sum(0.5 * (w**2).sum() for w in weights) if kind == "L2" else sum(w.abs().sum() for w in weights)
        loss = torch.clamp(1 - net(features)[0, 0], min=0) + float(rate) * penalty
        loss.backward()
        with torch.no_grad():
            expected = [p - 0.1 * p.grad for p in net.parameters()]
        after = to_torch(page_model(driver, server))
        for ours, theirs in zip(after.parameters(), expected):
            assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-14), kind
    choose(driver, "regularization", "none")
    idle(driver)


def test_a_shared_link_and_a_classroom_link_reproduce_the_run(driver, server):
    click(driver, "reset")
    wait(driver, lambda: text(driver, "step-count") == "0")
    idle(driver)
    first = session_of(driver, server)
    weights = page_model(driver, server).to_dict()
    link = driver.find_element("id", "share-link").get_attribute("value")
    classroom = driver.find_element("id", "classroom-link").get_attribute("value")
    assert "points=" in link and classroom == link + "&classroom=1"
    driver.switch_to.new_window("tab")
    try:
        driver.get(link)
        wait(driver, lambda: driver.execute_script("return window.playground.frame !== null"))
        second = session_of(driver, server)
        assert second is not first and second.settings == first.settings
        assert page_points(driver) == drawn_points(first.problem) and page_model(driver, server).to_dict() == weights
        assert driver.find_element("id", "controls").is_displayed()
        for _ in range(3):
            click(driver, "step")
            idle(driver)
        key = driver.execute_script("return window.playground.session")
        driver.get(classroom)  # the same page with another fragment: it starts again from the link
        wait(driver, lambda: driver.execute_script("return window.playground && window.playground.frame !== null && window.playground.session !== arguments[0]", key))
        assert not driver.find_element("id", "controls").is_displayed()
        assert page_model(driver, server).to_dict() == weights
    finally:
        driver.close()
        driver.switch_to.window(driver.window_handles[0])


def test_a_saved_session_comes_back_and_the_exported_script_predicts_what_the_page_shows(driver, server, tmp_path):
    import base64
    import subprocess
    import sys

    import numpy as np

    choose(driver, "dataset", "plane")  # back to the drawn points
    wait(driver, lambda: session_of(driver, server).problem.classes is None)
    idle(driver)  # the page has drawn the new network (and its input nodes)
    driver.find_element("css selector", '[data-feature="x2_squared"]').click()
    wait(driver, lambda: "x2_squared" in session_of(driver, server).settings.features)
    for _ in range(4):
        click(driver, "step")
        idle(driver)
    saved = json.loads(page_export(driver, "session"))
    history = driver.execute_script("return window.playground.history.length")
    assert saved["step"] == 4 and len(saved["history"]) == history == 5
    path = tmp_path / "playground-session.json"
    path.write_text(json.dumps(saved))
    choose(driver, "dataset", "spiral")
    wait(driver, lambda: session_of(driver, server).settings.dataset == "spiral")
    idle(driver)
    driver.find_element("id", "load-session").send_keys(str(path))
    wait(driver, lambda: text(driver, "step-count") == "4" and session_of(driver, server).settings.dataset == "plane")
    idle(driver)
    assert page_model(driver, server).to_dict() == saved["model"]
    assert driver.execute_script("return window.playground.history.length") == 5
    check_page_losses(driver, server)
    path.write_text('{"format": "micrograd-playground-session", "version": 1}')
    driver.find_element("id", "load-session").send_keys(str(path))
    wait(driver, lambda: "the session file: missing settings, points, model, step, history" in text(driver, "message"))
    assert page_model(driver, server).to_dict() == saved["model"]
    # model.json and the PyTorch script
    model_file = json.loads(page_export(driver, "model"))
    features = session_of(driver, server).settings.features
    assert model_file["version"] == 2 and model_file["inputs"] == list(features) and "x2_squared" in features
    script = tmp_path / "playground_model.py"
    script.write_text(page_export(driver, "torch"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    predictions = json.loads(run.stdout)
    heatmaps = driver.execute_script("return window.playground.frame.heatmaps")
    output = np.frombuffer(base64.b64decode(heatmaps), dtype="<f4")[-50 * 50 :]  # the output neuron's picture
    assert np.allclose([p[0] for p in predictions["grid"]], output, rtol=1e-5, atol=1e-6)
    model = MLP.from_dict(model_file)
    train, test = page_points(driver)
    engine = [model([HAND_FEATURES[name](x, y) for name in features]).data for x, y, _ in train + test]
    assert [p[0] for p in predictions["points"]] == pytest.approx(engine, rel=1e-12, abs=1e-14)



def test_a_page_kept_for_back_and_forward_keeps_its_session_and_comes_back_with_a_fresh_one(driver, server):
    """Leaving a page that the browser keeps in its back/forward cache (``pagehide`` with
    ``persisted``) must not close its session; coming Back (``pageshow`` with ``persisted``) starts
    afresh, as the server may have dropped the idle session meanwhile. Chromium keeps no page served
    with ``Cache-Control: no-store`` (this server's), so the events are the page's own, made here."""
    from micrograd.playground.server import RequestError

    open_page(driver, server)
    key = driver.execute_script("return window.playground.session")
    driver.execute_script("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    time.sleep(0.5)  # the time a goodbye takes to arrive
    assert server.sessions.get(key).session.step == 0, "the session is still open"
    driver.execute_script("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    wait(driver, lambda: driver.execute_script("return window.playground?.session") not in (None, key))
    wait(driver, lambda: driver.execute_script("return window.playground.frame !== null"))
    click(driver, "step")
    wait(driver, lambda: text(driver, "step-count") == "1", what="a step after coming back")
    assert session_of(driver, server).step == 1
    with pytest.raises(RequestError):  # the page that went said goodbye for its session
        server.sessions.get(key)
