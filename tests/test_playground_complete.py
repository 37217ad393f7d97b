"""The playground's TensorFlow Playground controls, the user's own points, shared and saved runs,
and exports, checked without a browser: against the definitions, PyTorch and hand calculations."""

import base64
import http.client
import json
import math
import random
import subprocess
import sys

import pytest

from micrograd.export import to_torch
from micrograd.nn import MLP
from micrograd.playground.features import FEATURES, feature_rows
from micrograd.playground.problems import MAX_POINTS, make_problem, points_from_csv, points_to_csv
from micrograd.playground.session import GRID, Session, Settings
from test_playground import open_session, request, server  # noqa: F401  (server is a fixture)

pytest.importorskip("numpy")
pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")


def rows(session):
    return [[x, y, label, part] for part in ("train", "test")
            for (x, y), label in zip(getattr(session.problem, part).X, getattr(session.problem, part).y)]


# ---- data: noise, ratio, regression ---------------------------------------------------------------


def test_noise_and_ratio_follow_tensorflow_playground():
    clean, noisy = make_problem("circle", 7), make_problem("circle", 7, noise=50)
    for problem in (clean, noisy):  # the points stay in their rings; noise moves what the label is computed from
        assert all(math.hypot(x, y) <= 2.5 or 3.5 <= math.hypot(x, y) <= 5.0 for x, y in problem.train.X)
    wrong = sum(label != (math.hypot(x, y) < 2.5) for (x, y), label in zip(noisy.train.X, noisy.train.y))
    assert wrong > 10 and all(label == (math.hypot(x, y) < 2.5) for (x, y), label in zip(clean.train.X, clean.train.y))
    spiral = make_problem("spiral", 7, noise=20)  # each coordinate moved by at most noise * 1
    n = 250
    exact = [(i / n * 5 * math.sin(1.75 * i / n * 2 * math.pi + d), i / n * 5 * math.cos(1.75 * i / n * 2 * math.pi + d))
             for d in (0.0, math.pi) for i in range(n)]
    for x, y in spiral.train.X:
        assert min(max(abs(x - a), abs(y - b)) for a, b in exact) <= 0.2 + 1e-12
    gaussian = make_problem("gaussian", 7, noise=50)  # variance 4: deviation 2
    xs = [x - 2.0 for (x, _), c in zip(gaussian.train.X + gaussian.test.X, gaussian.train.y + gaussian.test.y) if c == 1]
    assert 1.8 < math.sqrt(sum(v * v for v in xs) / len(xs)) < 2.2
    for name in ("circle", "moons", "plane"):
        problem = make_problem(name, 1, train_percent=30)
        assert (len(problem.train), len(problem.test)) == (150, 350), name


def test_regression_problems_follow_their_definitions():
    plane = make_problem("plane", 2)
    assert plane.classes is None
    assert all(label == (x + y) / 10 for (x, y), label in zip(plane.train.X, plane.train.y))
    bumps = make_problem("multigauss", 2)
    for (x, y), label in zip(bumps.train.X, bumps.train.y):
        near = min(((math.hypot(x - cx, y - cy), s) for cx, cy, s in
                    ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))))
        assert label == pytest.approx(near[1] * max(0.0, 1 - near[0] / 2), abs=1e-12)  # bumps 2 apart at radius 2 never overlap above 0


# ---- the seven features, training with them, regularisation --------------------------------------


def test_each_feature_is_its_formula_in_python_numpy_and_the_scripts_torch():
    import numpy as np

    x1, x2 = 0.7, -1.3
    expected = {"x1": x1, "x2": x2, "x1_squared": 0.49, "x2_squared": 1.69, "x1_times_x2": -0.91,
                "sin_x1": math.sin(0.7), "sin_x2": math.sin(-1.3)}
    assert list(FEATURES) == list(expected)
    assert feature_rows([(x1, x2)], list(FEATURES))[0] == pytest.approx(list(expected.values()), rel=1e-15)
    t1, t2 = torch.tensor([x1], dtype=torch.float64), torch.tensor([x2], dtype=torch.float64)
    for name, feature in FEATURES.items():
        assert feature.formula(np, np.array([x1]), np.array([x2]))[0] == pytest.approx(expected[name], rel=1e-15)
        assert eval(feature.torch, {"torch": torch, "x1": t1, "x2": t2}).item() == pytest.approx(expected[name], rel=1e-15)


@pytest.mark.parametrize("regularization", ["L1", "L2"])
def test_training_with_features_activations_and_regularisation_matches_pytorch(regularization):
    features = ["x1", "x2", "x1_times_x2", "sin_x1"]
    settings = Settings().changed({"dataset": "xor", "features": features, "hidden": [3, 2],
                                   "activations": ["relu", "tanh"], "regularization": regularization,
                                   "reg_rate": 0.03, "lr": 0.1, "batch_size": 7, "seed": 4})
    session = Session(settings)
    assert [layer.activation for layer in session.model.layers] == ["relu", "tanh", None]
    net = to_torch(session.model)  # the same first weights, in PyTorch
    session.train(12, seconds=60)
    x = torch.tensor(session.problem.train.X, dtype=torch.float64)
    inputs = torch.stack([x[:, 0], x[:, 1], x[:, 0] * x[:, 1], torch.sin(x[:, 0])], dim=1)
    targets = torch.tensor([2.0 * y - 1.0 for y in session.problem.train.y], dtype=torch.float64)
    rng, optimizer = random.Random(0), torch.optim.SGD(net.parameters(), lr=0.1)
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    for step in range(12):  # the session's batches: a new shuffled order per pass, 7 at a time
        if step * 7 % 250 < 7:
            order = list(range(250))
            rng.shuffle(order)
            batches = [order[i : i + 7] for i in range(0, 250, 7)]
        batch = batches.pop(0)
        scores = net(inputs[batch])[:, 0]
        loss = torch.clamp(1 - targets[batch] * scores, min=0).mean()
        if regularization == "L2":  # TensorFlow Playground's 0.5 w**2 per weight, biases not
            loss = loss + 0.03 * sum(0.5 * (w**2).sum() for w in weights)
        else:
            loss = loss + 0.03 * sum(w.abs().sum() for w in weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ours = [p.data for p in session.model.parameters()]
    expected = []
    for linear in (m for m in net if isinstance(m, torch.nn.Linear)):
        for row, bias in zip(linear.weight.tolist(), linear.bias.tolist()):
            expected += row + [bias]
    assert ours == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_a_weight_or_bias_set_by_hand_changes_the_output_heatmap_by_hand_arithmetic():
    import numpy as np

    session = Session(Settings().changed({"hidden": [2], "activations": ["linear"]}))
    def output_map():
        values = np.frombuffer(base64.b64decode(session.frame()["heatmaps"]), dtype="<f4")
        return values.reshape(3, GRID * GRID)[2].astype(float)

    before = output_map()
    session.set_parameter(1, 0, None, session.model.layers[1].neurons[0].b.data + 0.5)  # the output's bias
    assert output_map() - before == pytest.approx(np.full(GRID * GRID, 0.5), abs=1e-6)
    session.set_parameter(0, 0, 1, 0.0)  # L0.N0's weight from x2; its output feeds the output with w
    w = session.model.layers[1].neurons[0].w[0].data
    assert session.model.layers[0].neurons[0].w[1].data == 0.0
    with pytest.raises(ValueError, match="layer 0, neuron 0, weight 2 is not a parameter of this 2-2-1 network"):
        session.set_parameter(0, 0, 2, 1.0)  # L0.N0 takes two inputs
    with pytest.raises(ValueError, match="layer 1, neuron 1, weight None is not a parameter"):
        session.set_parameter(1, 1, None, 1.0)  # one output
    assert w == session.model.layers[1].neurons[0].w[0].data


# ---- the user's own points and CSV -----------------------------------------------------------------


def test_points_added_and_removed_and_a_csv_round_trip():
    session = Session()
    session.train(5, seconds=60)
    weights = [p.data for p in session.model.parameters()]
    session.add_point(1.5, -2.0, 0)
    assert session.problem.own and session.problem.train.X[-1] == [1.5, -2.0] and session.problem.train.y[-1] == 0
    assert [p.data for p in session.model.parameters()] == weights and session.step == 5  # the net trains on
    session.remove_point("test", 0)
    assert len(session.problem.test) == 249
    text = session.csv()
    assert text.splitlines()[0] == "x1,x2,label,part" and len(text.splitlines()) == 1 + 251 + 249
    other = Session()
    other.read_csv(text)
    assert rows(other) == rows(session)  # the same floats, bit for bit


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda lines: ["x,y,label,part"] + lines[1:], "line 1: the header must be x1,x2,label,part"),
        (lambda lines: lines[:3] + ["1.0,2.0,1"] + lines[3:], "line 4: expected 4 values"),
        (lambda lines: lines[:5] + ["1.0,abc,1,train"] + lines[5:], "line 6: x2 must be a number from -6 to 6, got 'abc'"),
        (lambda lines: lines[:2] + ["9.0,0.0,1,train"] + lines[2:], "line 3: x1 must be a number from -6 to 6, got 9.0"),
        (lambda lines: lines[:2] + ["1.0,nan,1,train"] + lines[2:], "line 3: x2 must be a number from -6 to 6, got nan"),
        (lambda lines: lines[:2] + ["", "1.0,0.0,2,train"] + lines[2:], "line 4: label must be a class from 0 to 1, got 2$"),
        (lambda lines: lines[:2] + ["1.0,0.0,1,validation"] + lines[2:], "line 3: part must be one of train, test"),
        (lambda lines: lines[:2] + ["1.0,0.0,1,train,5"] + lines[2:], "line 3: expected 4 values"),
        (lambda lines: lines[:1] + ["1.0,0.0,1,train"] * (MAX_POINTS + 1), f"at most {MAX_POINTS} points"),
    ],
)
def test_a_malformed_csv_names_its_line_and_changes_nothing(edit, message):
    session = Session()
    before, version = rows(session), session.data_version
    text = "\n".join(edit(session.csv().splitlines()))
    with pytest.raises(ValueError, match=message):
        session.read_csv(text)
    assert rows(session) == before and session.data_version == version


# ---- a whole session as a file; model.json; the PyTorch script -------------------------------------


def test_a_saved_session_restores_weights_history_and_points_through_json():
    session = Session(Settings().changed({"features": ["x1", "x2_squared"], "activations": ["relu", "tanh"]}))
    session.add_point(0.5, 0.5, 1)
    session.train(30, seconds=60)
    text = json.dumps(session.document())
    restored = Session.restore(json.loads(text), after=session)
    assert restored.model.to_dict() == session.model.to_dict() and restored.history == session.history
    assert rows(restored) == rows(session) and restored.step == 30 and restored.settings == session.settings
    assert restored.model_version > session.model_version  # the page draws the new network
    restored.train(5, seconds=60)
    # a file that does not hold together is refused, naming what is wrong
    good = json.loads(text)
    for change, message in [
        (lambda d: d.update(format="pickle"), "format must be 'micrograd-playground-session' .a playground session file."),
        (lambda d: d.update(version=9), "version must be one of 1, got 9"),
        (lambda d: d.pop("history"), "the session file: missing history"),
        (lambda d: d.update(step=-1), "step must be a whole number >= 0"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d["settings"].update(hidden=[3], activations=["relu"]), "does not match its settings"),
        (lambda d: d["history"].append([31, {"train_loss": "x"}]), r"history\[\d+\] must be"),
        (lambda d: d["model"]["weights"][0]["b"].__setitem__(0, "1"), "the session's model: .*bias"),
        (lambda d: d.update(points=[[0, 0, 5, "train"]]), "label must be a class"),
    ]:
        bad = json.loads(text)
        change(bad)
        with pytest.raises((TypeError, ValueError), match=message):
            Session.restore(bad)
    assert json.loads(text) == good


def test_model_json_carries_its_features_and_the_torch_script_reproduces_the_predictions(tmp_path):
    session = Session(Settings().changed({"dataset": "plane", "features": ["x1", "sin_x2", "x1_times_x2"],
                                          "activations": ["tanh", "relu"]}))
    session.train(40, seconds=60)
    state = session.model_state()
    assert state["version"] == 2 and state["inputs"] == ["x1", "x1_times_x2", "sin_x2"]  # the page's order
    model = MLP.from_dict(json.loads(json.dumps(state)))
    script = tmp_path / "playground_model.py"
    script.write_text(session.torch_script())
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    predictions = json.loads(result.stdout)
    points = session.problem.train.X + session.problem.test.X
    engine = [model([x1, x1 * x2, math.sin(x2)]).data for x1, x2 in points]  # the features by hand
    assert [p[0] for p in predictions["points"]] == pytest.approx(engine, rel=1e-12, abs=1e-14)
    import numpy as np

    heatmap = np.frombuffer(base64.b64decode(session.frame()["heatmaps"]), dtype="<f4")[-GRID * GRID :]
    assert [p[0] for p in predictions["grid"]] == pytest.approx(heatmap.tolist(), rel=1e-5, abs=1e-6)  # float32


# ---- the API's new requests, validated at the edge ---------------------------------------------------


def test_points_parameters_and_files_through_the_api(server):  # noqa: F811
    points = [[1.0, 1.0, 1, "train"], [-1.0, -1.0, 0, "train"], [2.0, -2.0, 1, "test"]]
    status, answer = request(server, "POST", "/api/session", {"settings": {"seed": 3}, "points": points})
    assert status == 200 and answer["frame"]["data"]["own"] and len(answer["frame"]["data"]["train"]) == 2
    key = answer["session"]
    status, answer = request(server, "POST", "/api/points", {"session": key, "add": [0.5, 0.5, 0, "train"]})
    assert status == 200 and answer["data"]["train"][-1] == [0.5, 0.5, 0]
    status, csv_answer = request(server, "POST", "/api/points.csv", {"session": key})
    assert csv_answer["csv"].splitlines()[1:] == ["1.0,1.0,1,train", "-1.0,-1.0,0,train", "0.5,0.5,0,train", "2.0,-2.0,1,test"]
    status, saved = request(server, "POST", "/api/save", {"session": key})
    status, answer = request(server, "POST", "/api/parameter", {"session": key, "layer": 0, "neuron": 1, "weight": None, "value": 2.5})
    assert status == 200 and answer["weights"][0]["b"][1] == 2.5
    status, answer = request(server, "POST", "/api/restore", {"session": key, "document": saved})
    assert status == 200 and answer["weights"] == saved["model"]["weights"]
    cases = [
        ("/api/session", {"points": [[7.0, 0.0, 1, "train"]]}, 400, "points[0]: x1 must be a number from -6 to 6, got 7.0"),
        ("/api/session", {"points": "1,2"}, 400, "points must be a list"),
        ("/api/session", {"points": [[1.0, 0.0, 1, "test"]]}, 400, "at least one training point"),
        ("/api/points", {"session": key, "add": [1, 2]}, 400, "add must be [x1, x2, label, part]"),
        ("/api/points", {"session": key}, 400, "send one of add"),
        ("/api/points", {"session": key, "remove": ["train", 99]}, 400, "index must be 0 to 2"),
        ("/api/points", {"session": key, "remove": ["all", 0]}, 400, "remove must be [part, index]"),
        ("/api/points", {"session": key, "add": [1, 2, 0, "train"], "csv": ""}, 400, "send one of add"),
        ("/api/points", {"session": key, "csv": 5}, 400, "csv must be text of at most 200000 characters"),
        ("/api/points", {"session": key, "csv": "x1,x2,label,part\n1,2,3\n"}, 400, "line 2: expected 4 values"),
        ("/api/parameter", {"session": key, "layer": 5, "neuron": 0, "weight": 0, "value": 1.0}, 400,
         "layer 5, neuron 0, weight 0 is not a parameter of this 2-4-2-1 network: layer 0 to 2"),
        ("/api/parameter", {"session": key, "layer": 0, "value": 1.0}, 400, "missing neuron, weight"),
        ("/api/parameter", {"session": key, "layer": 0, "neuron": 0, "weight": -1, "value": 1.0}, 400,
         "weight must be a whole number >= 0, or null"),
        ("/api/parameter", {"session": key, "layer": 0, "neuron": 0, "weight": 0, "value": "1"}, 400,
         "value must be a finite number, got '1'"),
        ("/api/restore", {"session": key, "document": {"format": "x"}}, 400, "format must be 'micrograd-playground-session'"),
    ]
    for path, body, status, message in cases:
        got, answer = request(server, "POST", path, body)
        assert (got, message in answer.get("error", "")) == (status, True), (path, answer)
    for path, limit in (("/api/points", 256 * 1024), ("/api/restore", 4 * 1024 * 1024), ("/api/train", 16 * 1024)):
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.putrequest("POST", path)  # refused on its Content-Length, before a byte of it is read
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(limit + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["error"]) == (413, f"the body is over {limit} bytes")
        connection.close()
    status, answer = request(server, "POST", "/api/points.csv", {"session": key})
    assert answer["csv"] == csv_answer["csv"]  # the refused requests changed nothing


def test_points_csv_module_round_trip_keeps_regression_labels():
    problem = make_problem("multigauss", 5, noise=10)
    again = points_from_csv(points_to_csv(problem), problem)
    assert again.train.y == problem.train.y and again.test.X == problem.test.X
