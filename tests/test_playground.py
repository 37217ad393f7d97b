"""The playground without a browser: its problems, one session's training and graphs, the server.

Expected numbers come from outside the code under test: the datasets' definitions (TensorFlow
Playground's), a training loop written here with the library's MLP, loss and optimizer, plain-float
arithmetic for a neuron's output, derivatives worked by hand, and ``Value.backward()``.
"""

import base64
import dataclasses
import http.client
import json
import math
import random
import socket
import subprocess
import sys
import threading
import time

import pytest

from micrograd import Value
from micrograd.cli import build_parser
from micrograd.data import Dataset
from micrograd.engine import topological_order
from micrograd.losses import hinge
from micrograd.nn import MLP
from micrograd.optim import SGD
from micrograd.playground import server as server_module
from micrograd.playground.problems import PROBLEMS, make_problem, point_rows
from micrograd.playground.server import RateLimit
from micrograd.playground.session import GRID, SETTING_FIELDS, Diverged, Session, Settings, backprop_steps

from _serving import running_playground

pytest.importorskip("numpy")
pytest.importorskip("sklearn")


# ---- problems ------------------------------------------------------------------------------------


def test_tensorflow_playground_problems_follow_their_definitions():
    circle = make_problem("circle", 3)
    for (x, y), label in zip(circle.train.X + circle.test.X, circle.train.y + circle.test.y):
        r = math.hypot(x, y)
        assert label == (r < 2.5) and (r <= 2.5 or 3.5 <= r <= 5.0)
    xor = make_problem("xor", 3)
    for (x, y), label in zip(xor.train.X, xor.train.y):
        assert label == (x * y >= 0) and abs(x) >= 0.3 and abs(y) >= 0.3 and max(abs(x), abs(y)) <= 5.3
    gaussian = make_problem("gaussian", 3)
    for label, centre in ((1, 2.0), (0, -2.0)):
        xs = [x for (x, _), c in zip(gaussian.train.X, gaussian.train.y) if c == label]
        assert abs(sum(xs) / len(xs) - centre) < 0.2  # mean of ~125 draws of deviation 0.71
    spiral = make_problem("spiral", 3)
    radii = sorted(math.hypot(x, y) for x, y in spiral.train.X + spiral.test.X)
    assert radii[0] == 0.0 and 4.9 < radii[-1] < 5.0
    for name in PROBLEMS:
        problem = make_problem(name, 3)
        assert (len(problem.train), len(problem.test)) == (250, 250), name
        assert make_problem(name, 3).train.X == problem.train.X, "the same seed gives the same points"
        assert make_problem(name, 4).train.X != problem.train.X
    assert make_problem("yinyang", 0).classes == 3 and make_problem("plane", 0).classes is None
    # an unknown dataset is refused where it comes in, with the settings (test_bad_settings_are_refused_by_name)


# ---- settings and training -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"dataset": "mnist"}, "dataset must be one of circle, xor"),
        ({"dataset": "spirals"}, "dataset must be one of circle, xor"),
        ({"dataset": ["circle"]}, "dataset must be one of circle, xor"),  # a list is no name (nor hashable)
        ({"hidden": [4, 9]}, "hidden must be a list of at most 6 items, each a whole number from 1 to 8, got \\[4, 9\\]"),
        ({"hidden": [1] * 7}, "hidden must be a list of at most 6 items"),
        ({"hidden": "4,2"}, "hidden must be a list"),
        ({"hidden": [2.5]}, "hidden must be a list"),
        ({"lr": -1}, "lr must be a number from 1e-05 to 10, got -1"),
        ({"lr": 11}, "lr must be a number from 1e-05 to 10"),
        ({"lr": 1e-6}, "lr must be a number from 1e-05 to 10"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"lr": True}, "lr must be a number"),  # JSON's true is not 1
        ({"lr": 10**400}, "lr must be a number from 1e-05 to 10"),  # past the float range
        ({"noise": 7}, "noise must be one of 0, 5,"),
        ({"noise": False}, "noise must be one of 0, 5,"),
        ({"train_percent": 95}, "train_percent must be one of 10, 20"),
        ({"features": []}, "features must be a list of 1 to 7 items"),
        ({"features": ["x3"]}, "features must be a list of 1 to 7 items, each one of x1, x2"),
        ({"regularization": "L3"}, "regularization must be one of none, L1, L2"),
        ({"reg_rate": 0.5}, "reg_rate must be one of 0.0, 0.001"),
        ({"activations": ["tanh"]}, r"activations must list one activation per hidden layer \(2\)"),
        ({"activations": ["tanh", "gelu"]}, "activations must be a list of at most 6 items, each one of relu"),
        ({"batch_size": 0}, "batch_size must be a whole number from 1 to 30"),
        ({"batch_size": 31}, "batch_size must be a whole number from 1 to 30"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, adamw"),
        ({"colour": "red"}, "unknown field 'colour'"),
        ({"seed": 2**32}, "seed must be a whole number from 0"),
        ("lr=1", "settings: expected a JSON object"),
    ],
)
def test_bad_settings_are_refused_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        Settings().changed(changes)


def test_every_setting_has_its_check():
    assert set(SETTING_FIELDS) == {field.name for field in dataclasses.fields(Settings)}


def test_training_is_the_library_loop_step_for_step():
    session = Session(Settings().changed({"dataset": "circle", "hidden": [4, 2], "lr": 0.1, "batch_size": 10, "seed": 5}))
    assert session.train(40, seconds=60) == 40
    # The same run written here: the session's documented seeds (weights: seed * 1000 + resets,
    # batches: random.Random(0)), hinge on +-1 targets, SGD.
    problem = make_problem("circle", 5)
    model = MLP(2, [4, 2, 1], "tanh", seed=5000)
    optimizer = SGD(model.parameters(), lr=0.1)
    data = Dataset(problem.train.X, problem.train.y, 2)
    rng, batches = random.Random(0), []
    while len(batches) < 40:
        batches += list(data.batches(10, rng))
    for batch in batches[:40]:
        loss = hinge([model(x) for x in batch.X], [2.0 * y - 1.0 for y in batch.y])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert [p.data for p in session.model.parameters()] == [p.data for p in model.parameters()]
    losses = [entry[1]["train_loss"] for entry in session.history]
    assert session.history[-1][0] == 40 and losses[-1] < losses[0]
    expected = hinge([model(x) for x in problem.train.X], [2.0 * y - 1.0 for y in problem.train.y]).data
    assert losses[-1] == pytest.approx(expected, rel=1e-12)


def test_settings_take_effect_as_in_tensorflow_playground():
    session = Session()
    session.train(5, seconds=60)
    weights = [p.data for p in session.model.parameters()]
    session.apply({"lr": 0.3, "batch_size": 3, "optimizer": "adam"})  # the same model goes on
    assert session.step == 5 and [p.data for p in session.model.parameters()] == weights
    assert session.optimizer.lr == 0.3 and type(session.optimizer).__name__ == "Adam"
    session.apply({"hidden": [3]})  # a new network starts from step 0
    assert session.step == 0 and session.model.nouts == [3, 1] and len(session.history) == 1
    session.reset()
    assert [p.data for p in session.model.parameters()] != [p.data for p in MLP(2, [3, 1], "tanh", seed=0).parameters()]
    session.apply({"dataset": "yinyang"})
    assert session.model.nouts == [3, 3] and session.loss_name == "cross_entropy"


def test_a_diverging_run_stops_with_a_message():
    session = Session(Settings().changed({"hidden": [2]}))
    session.train(3, seconds=60)
    session.model.layers[0].neurons[0].w[0].data = 1e308  # as if a huge learning rate had got it there
    session.model.layers[1].neurons[0].w[0].data = 1e308
    with pytest.raises(ArithmeticError, match="training stopped at step 4: .*overflows"):
        session.train(5, seconds=60)
    assert session.step == 3


def test_a_run_that_diverges_part_way_keeps_and_reports_its_steps():
    """Linear units at lr 1 on circle: 14 steps run before the weights are too large for the losses
    of the whole set; step 15 overflows on its batch."""
    settings = Settings().changed({"dataset": "circle", "lr": 1, "activations": ["linear", "linear"], "batch_size": 10})
    session = Session(settings)
    with pytest.raises(Diverged, match="training stopped after step 14: the losses overflow") as stopped:
        session.train(14, seconds=60)
    assert stopped.value.steps == session.step == 14
    with pytest.raises(Diverged, match="training stopped at step 15") as stopped:
        session.train(5, seconds=60)
    assert stopped.value.steps == 0 and session.step == 14
    session = Session(settings)
    with pytest.raises(Diverged, match="training stopped at step 15") as stopped:
        session.train(50, seconds=60)
    assert stopped.value.steps == session.step == 14  # the steps that ran are kept, and said so


def test_a_change_whose_losses_overflow_is_refused_and_changes_nothing():
    session = Session(Settings().changed({"dataset": "plane", "hidden": [1], "activations": ["linear"]}))
    rows, history, version = point_rows(session.problem), list(session.history), session.data_version
    with pytest.raises(ValueError, match=r"label must be a number from -1e\+06 to 1e\+06, got 1e\+200"):
        session.add_point(0, 0, 1e200, "train")
    weight = session.model.layers[0].neurons[0].w[0]
    start = weight.data
    with pytest.raises(ValueError, match=r"value 1e\+300 is too large: the losses overflow"):
        session.set_parameter(0, 0, 0, 1e300)
    assert weight.data == start
    assert (point_rows(session.problem), session.history, session.data_version) == (rows, history, version)
    # A weight that makes each set's sum of squared errors 0.6 of the largest float (the losses are
    # proportional to its square): twice the training points overflow that sum.
    session.set_parameter(0, 0, 0, 1e150)
    losses = session.history[-1][1]
    largest = max(len(getattr(session.problem, part)) * losses[f"{part}_loss"] for part in ("train", "test"))
    session.set_parameter(0, 0, 0, 1e150 * math.sqrt(0.6 * sys.float_info.max / largest))
    history, version = list(session.history), session.data_version
    with pytest.raises(ValueError, match="with these points, a label or a weight is too large: the losses overflow"):
        session.set_points(rows + [row for row in rows if row[3] == "train"])
    assert (point_rows(session.problem), session.history, session.data_version) == (rows, history, version)
    session.add_point(0, 0, 0.5, "train")  # at x1 = 0 the huge weight adds nothing: the session works on
    assert len(point_rows(session.problem)) == len(rows) + 1 and session.data_version == version + 1


def test_frame_heatmaps_are_the_model_outputs_on_the_grid():
    import numpy as np

    session = Session(Settings().changed({"dataset": "xor", "hidden": [3], "activations": ["relu"], "seed": 2}))
    session.train(20, seconds=60)
    frame = session.frame()
    cells = GRID * GRID
    values = np.frombuffer(base64.b64decode(frame["heatmaps"]), dtype="<f4").reshape(4, cells)
    low, high = frame["data"]["bounds"]
    width = (high - low) / GRID
    for cell in (0, 49, 1234, cells - 1):
        row, column = divmod(cell, GRID)
        x, y = low + (column + 0.5) * width, high - (row + 0.5) * width  # row 0 is the top
        hidden = [max(0.0, sum(w.data * v for w, v in zip(n.w, (x, y))) + n.b.data) for n in session.model.layers[0].neurons]
        out = session.model.layers[1].neurons[0]
        score = sum(w.data * h for w, h in zip(out.w, hidden)) + out.b.data
        assert values[:, cell] == pytest.approx(np.float32([*hidden, score]), rel=1e-6, abs=1e-6)
    classes = np.frombuffer(base64.b64decode(frame["classes"]), dtype=np.uint8)
    assert set(classes[values[-1] > 0]) <= {1} and set(classes[values[-1] < 0]) <= {0}
    assert "data" not in session.frame(data_version=frame["data_version"])  # the points are sent once


# ---- a point's graph and the stepper -------------------------------------------------------------


def test_backprop_steps_sum_a_value_used_twice_and_end_at_backward():
    a, b = Value(3.0, label="a"), Value(-2.0, label="b")
    c = a + a  # the lesson's bug: d(c)/d(a) is 2, the sum of both uses
    d = c * b
    e = (d + a).tanh()
    keys = {id(v): v.label or str(i) for i, v in enumerate(topological_order([e]))}
    steps = backprop_steps(e, keys)
    e.backward()
    assert [s["node"] for s in steps] == [keys[id(v)] for v in reversed(topological_order([e])) if v._prev]
    g_e = 1.0
    g_sum = g_e * (1 - math.tanh(-9.0) ** 2)  # d tanh / dx = 1 - tanh^2, at d + a = -12 + 3
    assert steps[0]["inputs"][0]["local"] == pytest.approx(1 - math.tanh(-9.0) ** 2)
    add_a = [row for step in steps for row in step["inputs"] if row["node"] == "a"]
    assert [row["added"] for row in add_a] == pytest.approx([g_sum, g_sum * -2.0, g_sum * -2.0])
    assert add_a[2]["before"] == pytest.approx(add_a[1]["after"])  # c = a + a: the second use adds on
    assert [row["use"] for row in add_a] == [1, 2, 3]
    assert add_a[-1]["after"] == a.grad == pytest.approx(g_sum * (1 - 4.0))
    finals = {}
    for step in steps:
        for row in step["inputs"]:
            finals[row["node"]] = row["after"]
    for v in topological_order([e])[:-1]:
        assert finals[keys[id(v)]] == v.grad


@pytest.mark.parametrize("view", ["neurons", "scalars"])
def test_point_graph_numbers_are_the_engines(view):
    session = Session(Settings(dataset="gaussian", hidden=(3, 2), seed=1))
    session.train(15, seconds=60)

    def plain_float_loss(x, label):  # the point's loss with plain floats: tanh neurons, a linear score, hinge
        h = list(x)
        for layer in session.model.layers[:-1]:
            h = [math.tanh(sum(w.data * v for w, v in zip(n.w, h)) + n.b.data) for n in layer.neurons]
        out = session.model.layers[-1].neurons[0]
        score = sum(w.data * v for w, v in zip(out.w, h)) + out.b.data
        return h, score, max(0.0, 1.0 - (2 * label - 1) * score)

    test = session.problem.test
    index = next(i for i in range(len(test)) if plain_float_loss(test.X[i], test.y[i])[2] > 0)  # grads to see
    weights = [p.data for p in session.model.parameters()]
    graph = session.point_graph("test", index, view, layout=True)
    assert [p.data for p in session.model.parameters()] == weights
    assert all(p.grad == 0.0 for p in session.model.parameters()), "the graph's backward must not leak"
    label = test.y[index]
    h, score, loss = plain_float_loss(test.X[index], label)
    assert any(box["grad"] for box in graph["boxes"][:-1])
    boxes = {box["key"]: box for box in graph["boxes"]}
    assert graph["boxes"][-1]["label"] == "loss" and graph["boxes"][-1]["data"] == pytest.approx(loss, rel=1e-12)
    assert graph["boxes"][-1]["grad"] == 1.0
    if view == "neurons":
        # in engine.topological_order's order, which takes a node's inputs last to first
        assert [b["key"] for b in graph["boxes"] if b["kind"] == "neuron"] == ["L0.N2", "L0.N1", "L0.N0", "L1.N1", "L1.N0", "L2.N0"]
        assert boxes["L1.N1"]["data"] == pytest.approx(h[1], rel=1e-12)
        assert boxes["L2.N0"]["data"] == pytest.approx(score, rel=1e-12)
        assert boxes["L2.N0"]["grad"] == (-(2 * label - 1.0) if loss > 0 else 0.0)
        assert set(boxes["L1.N0"]["inputs"]) == {"L0.N0", "L0.N1", "L0.N2"}
    else:  # expand_dot: a product box per weight
        products = [b for b in graph["boxes"] if b["op"] == "*" and "." in b["label"]]
        assert len(products) == 3 * 2 + 2 * 3 + 2
    assert graph["steps_match_backward"] is True
    layout = graph["layout"]
    assert set(layout["at"]) == set(boxes)
    # left to right: the loss is the rightmost box, the inputs x0 and x1 the leftmost of their kind
    assert layout["at"][graph["boxes"][-1]["key"]][0] == max(x for x, _ in layout["at"].values())
    # every step's last word on a node is that node's grad after backward()
    finals = {}
    for step in graph["steps"]:
        for row in step["inputs"]:
            finals[row["node"]] = row["after"]
            assert row["added"] == pytest.approx(row["local"] * step["grad"], rel=1e-12, abs=1e-300)
    by_key = {b["key"]: b for b in graph["boxes"]}
    for key, node in graph["nodes"].items():
        if key in by_key and key in finals:
            assert finals[key] == pytest.approx(by_key[key]["grad"], rel=1e-12, abs=1e-300)


# ---- the server ------------------------------------------------------------------------------


@pytest.fixture()
def server():
    with running_playground() as instance:
        yield instance


def request(server, method, path, body=None, headers=None, raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json"} if data is not None else {}
    sent.update(headers or {})
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = payload.decode("utf-8", "replace")
    return response.status, answer


def open_session(server, **settings):
    status, answer = request(server, "POST", "/api/session", {"settings": settings})
    assert status == 200, answer
    return answer["session"]


def test_a_diverged_model_gets_a_409_that_says_to_reset_and_reset_recovers(server):
    # Linear units at lr 1 on circle: after 14 steps the weights are too large for the picture's numbers.
    key = open_session(server, dataset="circle", lr=1, activations=["linear", "linear"], batch_size=10)
    status, answer = request(server, "POST", "/api/train", {"session": key, "steps": 14})
    assert status == 409 and "overflow" in answer["error"] and "reset" in answer["error"], answer
    status, answer = request(server, "POST", "/api/train", {"session": key, "steps": 1})
    assert status == 409, answer  # still diverged: the same answer, never a 500
    status, answer = request(server, "POST", "/api/reset", {"session": key})
    assert status == 200 and answer["step"] == 0
    status, answer = request(server, "POST", "/api/train", {"session": key, "steps": 1})
    assert status == 200 and answer["trained"] == 1 and answer["step"] == 1


def test_bad_requests_get_a_4xx_and_a_message(server):
    key = open_session(server)
    big = json.dumps({"session": key, "settings": {"dataset": "x" * 20000}}).encode()
    cases = [
        ("GET", "/nowhere", None, {}, None, 404, "no page at /nowhere"),
        # a file that exists, with a suffix the server serves: only the "/" guard refuses it
        ("GET", "/assets/../explore_assets/explore.js", None, {}, None, 404, "no page"),
        ("GET", "/api/train", None, {}, None, 405, "takes a POST"),
        ("PUT", "/api/train", {}, {}, None, 405, "PUT /api/train is not served"),
        ("POST", "/api/nothing", {}, {}, None, 404, "no API at /api/nothing"),
        ("POST", "/api/train", None, {}, b"{not json", 400, "not valid JSON"),
        ("POST", "/api/train", None, {}, b"[1, 2]", 400, "/api/train: expected a JSON object, got [1, 2]"),
        ("POST", "/api/train", None, {}, b'{"steps": NaN}', 400, "not valid JSON"),
        ("POST", "/api/train", None, {"Content-Type": "text/plain"}, b"{}", 415, "application/json"),
        ("POST", "/api/settings", None, {}, big, 413, "over 16384 bytes"),
        ("POST", "/api/train", {"session": "nope"}, {}, None, 404, "no such session"),
        ("POST", "/api/train", {"session": key, "steps": 1000}, {}, None, 400, "steps must be a whole number from 0 to 100"),
        ("POST", "/api/train", {"session": key, "steps": "5"}, {}, None, 400, "steps must be"),
        ("POST", "/api/train", {"session": key, "steps": True}, {}, None, 400, "steps must be"),
        ("POST", "/api/parameter", None, {}, b'{"session": "%s", "layer": 0, "neuron": 0, "weight": 0, "value": 1e400}'
         % key.encode(), 400, "value must be a finite number, got inf"),
        ("POST", "/api/train", {"session": 5}, {}, None, 400, "session must be text of at most 64 characters, or null"),
        ("POST", "/api/train", {"session": key, "have_history": -1}, {}, None, 400, "have_history must be a whole number >= 0"),
        ("POST", "/api/train", {"session": key, "graph": {"part": "train"}}, {}, None, 400, "graph: missing index"),
        ("POST", "/api/train", {"session": key, "graph": [0]}, {}, None, 400, "graph must be a JSON object"),
        ("POST", "/api/train", {"session": key, "speed": 5}, {}, None, 400, "unknown field 'speed'"),
        ("POST", "/api/settings", {"session": key, "settings": {"lr": "fast"}}, {}, None, 400,
         "settings: lr must be a number from 1e-05 to 10, got 'fast'"),
        ("POST", "/api/graph", {"session": key, "part": "train", "index": 250}, {}, None, 400, "index must be 0 to 249"),
        ("POST", "/api/graph", {"session": key, "part": "all", "index": 0}, {}, None, 400, "part must be"),
        ("POST", "/api/graph", {"session": key, "part": "train", "index": 0, "view": "x"}, {}, None, 400, "view must be"),
        ("POST", "/api/graph", {"session": key, "part": "train", "index": 0, "expanded": ["L9.N0"]}, {}, None, 400,
         "expanded must be a list of neuron names (L0.N0 to L2.N0)"),
    ]
    for method, path, body, headers, raw, status, message in cases:
        got_status, answer = request(server, method, path, body, headers, raw)
        assert (got_status, message in answer["error"]) == (status, True), (path, body, answer)
        assert "Traceback" not in json.dumps(answer)
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    connection.putrequest("POST", "/api/train")  # no Content-Length
    connection.putheader("Content-Type", "application/json")
    connection.endheaders()
    assert connection.getresponse().status == 411
    # "²" is a digit to str.isdigit but not to int(); 5,000 digits are past int()'s limit
    for length in ("\u00b2", "9" * 5000):
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.putrequest("POST", "/api/train", skip_accept_encoding=True)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", length.encode("utf-8"))
        connection.endheaders()
        assert connection.getresponse().status == 411, length[:10]


def test_without_graphviz_the_graph_says_what_to_install(server, monkeypatch):
    monkeypatch.setenv("PATH", "")  # no dot program to be found
    from micrograd.playground import layout

    layout._lay_out.cache_clear()
    key = open_session(server, hidden=[3])
    status, answer = request(server, "POST", "/api/graph", {"session": key, "part": "train", "index": 0})
    assert status == 503 and "apt install graphviz" in answer["error"]
    assert request(server, "POST", "/api/train", {"session": key, "steps": 2})[0] == 200


def test_other_sites_cannot_drive_it(server):
    port = server.server_port
    assert request(server, "GET", "/", headers={"Host": f"localhost:{port}"})[0] == 200
    assert request(server, "GET", "/", headers={"Host": f"[::1]:{port}"})[0] == 200
    for host in (f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1", ""):
        status, answer = request(server, "POST", "/api/session", {}, headers={"Host": host})
        assert status == 403 and "localhost or an IP address" in answer["error"], host
    # DNS rebinding: a page of evil.example, its name now resolving to 127.0.0.1
    status, _ = request(server, "GET", "/", headers={"Host": f"evil.example:{port}"})
    assert status == 403
    status, answer = request(server, "POST", "/api/session", {}, headers={"Origin": "http://evil.example"})
    assert status == 403 and "http://evil.example" in answer["error"]
    origin = {"Origin": f"http://127.0.0.1:{port}"}
    assert request(server, "POST", "/api/session", {}, headers=origin)[0] == 200


def test_numbers_too_large_for_the_losses_get_a_400(server):
    key = open_session(server, dataset="plane", hidden=[1], activations=["linear"])
    status, answer = request(server, "POST", "/api/points", {"session": key, "add": [0, 0, 1e200, "train"]})
    assert status == 400 and "label must be a number from" in answer["error"]
    status, answer = request(server, "POST", "/api/parameter",
                             {"session": key, "layer": 0, "neuron": 0, "weight": 0, "value": 1e300})  # fmt: skip
    assert status == 400 and "value 1e+300 is too large" in answer["error"]


def test_sessions_are_bounded_and_separate(server, monkeypatch):
    monkeypatch.setattr(server.sessions, "limit", 2)
    first, second = open_session(server), open_session(server, dataset="xor")
    built = []
    monkeypatch.setattr(server_module, "Session", lambda *args: built.append(args) or Session(*args))
    status, answer = request(server, "POST", "/api/session", {})
    assert status == 503 and "already serves 2 tabs" in answer["error"]
    assert built == [], "a refused tab costs no session (and no compile)"
    status, frame = request(server, "POST", "/api/train", {"session": first, "steps": 30})
    assert status == 200 and frame["step"] == 30 and frame["trained"] == 30
    status, other = request(server, "POST", "/api/train", {"session": second, "steps": 0})
    assert other["step"] == 0 and other["settings"]["dataset"] == "xor" and other["weights"] != frame["weights"]
    assert request(server, "POST", "/api/close", {"session": first})[0] == 200
    assert request(server, "POST", "/api/train", {"session": first, "steps": 1})[0] == 404
    open_session(server)  # the closed one's place is free
    monkeypatch.setattr(server.sessions, "idle_seconds", 0.0)  # every session is now idle too long
    time.sleep(0.01)
    open_session(server)  # so the longest idle makes room
    assert len(server.sessions) == 2


def test_steps_and_requests_per_second_are_bounded(server, monkeypatch):
    bucket = RateLimit(100.0)
    assert bucket.take(80) == 80 and bucket.take(80) <= 21  # one second's worth, then the refill
    monkeypatch.setattr(server_module, "STEPS_PER_SECOND", 50.0)
    monkeypatch.setattr(server_module, "FRAMES_PER_SECOND", 5.0)
    key = open_session(server, hidden=[1])
    done, statuses, started = 0, [], time.monotonic()
    for _ in range(20):
        status, frame = request(server, "POST", "/api/train", {"session": key, "steps": 40})
        statuses.append(status)
        done += frame.get("trained", 0)
    elapsed = time.monotonic() - started
    # one second's worth at first, then what refills while the test runs
    assert 429 in statuses and statuses.count(200) <= 5 + 5 * elapsed + 1
    assert done <= 50 + 50 * elapsed + 1


def test_a_client_that_disconnects_leaks_nothing(server):
    key = open_session(server, hidden=[8, 8, 8])
    before = threading.active_count()
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", server.server_port)) as s:  # half a body, then gone
            s.sendall(b"POST /api/train HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 500\r\n\r\n{\"session\": " % server.server_port)
        with socket.create_connection(("127.0.0.1", server.server_port)) as s:  # a request, not waiting
            body = json.dumps({"session": key, "steps": 100}).encode()
            s.sendall(b"POST /api/train HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (server.server_port, len(body), body))
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before, "a connection's thread outlived its client"
    status, frame = request(server, "POST", "/api/train", {"session": key, "steps": 0})
    assert status == 200 and frame["step"] > 0
    assert len(server.sessions) == 1


def test_the_command_line_serves_and_stops_on_ctrl_c():
    arguments = build_parser().parse_args(["playground"])
    assert (arguments.host, arguments.port, arguments.no_browser) == ("127.0.0.1", 0, False)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--port", "70000"])
    process = subprocess.Popen(
        [sys.executable, "-m", "micrograd", "playground", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("micrograd playground at http://127.0.0.1:"), line
        port = int(line.split(":")[2].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and b"micrograd playground" in response.read()
        connection.close()
        process.send_signal(__import__("signal").SIGINT)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0 and "stopped" in out, err
    finally:
        process.kill()
        process.wait()
