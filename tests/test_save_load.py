"""Saving and loading models: bit-exact round trips, atomic writes, and refusal of bad files."""

import json
import os
import pickle
import re
import struct

import pytest

import micrograd.nn as nn
from micrograd.nn import MLP


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def saved_model(tmp_path, **kwargs):
    model = MLP(3, [5, 4, 2], activation="tanh", output_activation="sigmoid", seed=9, **kwargs)
    path = tmp_path / "model.json"
    model.save(path)
    return model, path


def test_round_trip_is_bit_exact_and_keeps_the_architecture(tmp_path):
    model, path = saved_model(tmp_path)
    # awkward floats too: subnormal, the largest double, values with 17 significant digits
    awkward = [5e-324, -1.7976931348623157e308, 0.1 + 0.2, 1 / 3, -0.0, 2.0**-1074 * 3]
    for p, x in zip(model.parameters(), awkward):
        p.data = x
    model.save(path)
    loaded = MLP.load(path)
    assert repr(loaded) == repr(model) == "MLP(3, [5, 4, 2], activation='tanh', output_activation='sigmoid')"
    assert [bits(p.data) for p in loaded.parameters()] == [bits(p.data) for p in model.parameters()]
    assert [p.label for p in loaded.parameters()] == [p.label for p in model.parameters()]

    trained = MLP(2, [16, 16, 1], seed=4)
    trained.save(path)
    again = MLP.load(path)
    x = [0.3, -1.2]
    assert bits(again(x).data) == bits(trained(x).data)


def test_file_is_readable_json_with_format_version_and_architecture(tmp_path):
    model, path = saved_model(tmp_path)
    state = json.loads(path.read_text())  # the standard library reads it: no custom decoder needed
    assert state["format"] == "micrograd-mlp" and state["version"] == 2
    assert (state["nin"], state["nouts"]) == (3, [5, 4, 2])
    assert (state["activation"], state["output_activation"]) == ("tanh", "sigmoid")
    first = model.layers[0].neurons[1]
    assert state["weights"][0]["w"][1] == [w.data for w in first.w]
    assert state["weights"][0]["b"][1] == first.b.data
    linear = MLP(2, [1], activation=None, seed=0)
    linear.save(path)
    assert json.loads(path.read_text())["activation"] is None
    assert MLP.load(path).activation is None


def test_a_failure_mid_write_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    model, path = saved_model(tmp_path)
    before = path.read_bytes()

    def crash(fd):  # after the new text is written into the temporary file, before the rename
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", crash)
    other = MLP(3, [5, 4, 2], activation="tanh", output_activation="sigmoid", seed=10)
    with pytest.raises(OSError, match="simulated"):
        other.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]
    monkeypatch.undo()
    other.save(path)
    assert path.read_bytes() != before


def test_an_interrupted_write_is_cleaned_up_too(tmp_path, monkeypatch):
    model, path = saved_model(tmp_path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        MLP(3, [2], seed=0).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_save_into_a_new_file_and_a_missing_folder(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.save(str(tmp_path / "fresh.json"))
    assert MLP.load(str(tmp_path / "fresh.json")).num_parameters() == 13
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "no-such-folder" / "m.json")
    with pytest.raises(FileNotFoundError):
        MLP.load(tmp_path / "absent.json")


def test_a_failed_save_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    import errno

    import micrograd._files

    model = MLP(2, [3, 1], seed=0)
    missing = tmp_path / "no-such-folder" / "m.json"
    with pytest.raises(FileNotFoundError) as caught:
        model.save(missing)
    assert caught.value.errno == errno.ENOENT and caught.value.filename == str(missing)
    assert ".tmp" not in str(caught.value) and str(missing) in str(caught.value)

    taken = tmp_path / "a-folder.json"
    taken.mkdir()  # the rename onto a folder fails
    with pytest.raises(IsADirectoryError) as caught:
        model.save(taken)
    assert caught.value.errno == errno.EISDIR and caught.value.filename == str(taken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder.json"]  # no temporary file left

    def refused(name, mode):  # no permission to create files there (the tests may run as root)
        raise PermissionError(errno.EACCES, "Permission denied", name)

    monkeypatch.setattr(micrograd._files, "open", refused, raising=False)
    with pytest.raises(PermissionError) as caught:
        model.save(tmp_path / "m.json")
    assert caught.value.errno == errno.EACCES and caught.value.filename == str(tmp_path / "m.json")


def rewrite(path, change):
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))


@pytest.mark.parametrize(
    "spoil, problem",
    [
        (lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]), "not valid JSON"),
        (lambda p: p.write_text(""), "not valid JSON"),
        (lambda p: p.write_text("hello, I am not JSON"), "not valid JSON"),
        (lambda p: p.write_bytes(pickle.dumps(MLP(2, [1], seed=0))), "not UTF-8 text; binary or pickle file"),
        (lambda p: p.write_bytes(bytes(range(256))), "not UTF-8"),
        (lambda p: p.write_text("[1, 2, 3]"), "expected a JSON object"),
        (lambda p: rewrite(p, lambda s: s.update(version=3)), "unsupported version 3"),
        (lambda p: rewrite(p, lambda s: s.pop("version")), "unsupported version None"),
        (lambda p: rewrite(p, lambda s: s.update(format="keras")), "not a micrograd model"),
        (lambda p: rewrite(p, lambda s: s.pop("weights")), "missing weights"),
        (lambda p: rewrite(p, lambda s: s.update(nin=4)), "layer 0, neuron 0 must hold 4 weights, got 3"),
        (lambda p: rewrite(p, lambda s: s.update(nouts=[5, 4])), "weights must hold 2 layers, got 3"),
        (lambda p: rewrite(p, lambda s: s["weights"][1]["w"][2].pop()), "layer 1, neuron 2 must hold 5 weights, got 4"),
        (lambda p: rewrite(p, lambda s: s["weights"][2]["b"].append(0.5)), "layer 2: 'b' must hold 2 numbers, one per neuron, got 3"),
        (lambda p: rewrite(p, lambda s: s["weights"][1].pop("b")), "layer 1: 'b' must be a list, got NoneType"),
        (lambda p: rewrite(p, lambda s: s["weights"][0].update(w=5)), "layer 0: 'w' must be a list, got int"),
        (lambda p: rewrite(p, lambda s: s["weights"].__setitem__(1, [])), "layer 1 must be an object with 'w' and 'b', got list"),
        (lambda p: rewrite(p, lambda s: s.update(inputs=["x1", "x2", 2])), "inputs[2] must be a name (text), got int"),
        (lambda p: rewrite(p, lambda s: s.update(activation=["relu"])), "activation must hold 2 names"),
        (lambda p: rewrite(p, lambda s: s["weights"][0]["w"].pop()), "layer 0: 'w' must hold 5 rows, one per neuron, got 4"),
        (lambda p: rewrite(p, lambda s: s["weights"][0]["w"][0].__setitem__(0, "0.5")),
         "layer 0, neuron 0: a weight must be a finite number, got str: '0.5'"),
        (lambda p: rewrite(p, lambda s: s["weights"][0]["b"].__setitem__(0, True)),
         "layer 0, neuron 0: the bias must be a finite number, got bool: True"),
        (lambda p: rewrite(p, lambda s: s.update(nin=True)), "nin must be a positive whole number"),
        (lambda p: rewrite(p, lambda s: s.update(nouts=[5, True, 2])), "nouts[1] must be"),
        (lambda p: rewrite(p, lambda s: s.update(nouts=5)), "nouts must be a list"),
        (lambda p: rewrite(p, lambda s: s.update(activation="gelu")), "unknown activation 'gelu'"),
        (lambda p: rewrite(p, lambda s: s.update(nouts=[])), "nouts must hold at least 1 layer width, got 0"),
        (lambda p: p.write_text(re.sub(r'("b": \[)[^,\]]+', r"\1NaN", p.read_text(), count=1)),
         "layer 0, neuron 0: the bias must be a finite number, got nan"),
        (lambda p: p.write_text(re.sub(r'("b": \[)[^,\]]+', r"\1-Infinity", p.read_text(), count=1)),
         "layer 0, neuron 0: the bias must be a finite number, got -inf"),
        (lambda p: p.write_text(re.sub(r'("b": \[)[^,\]]+', r"\g<1>1e999", p.read_text(), count=1)),
         "layer 0, neuron 0: the bias must be a finite number, got inf"),
        (lambda p: p.write_text(p.read_text().replace('"version": 2', '"version": 1.5')), "unsupported version"),
        (lambda p: p.write_text("[" * 100_000), "nested too deeply"),  # deeper than Python's recursion limit
        (lambda p: p.write_text('{"a": ' * 100_000), "nested too deeply"),
    ],
)
def test_bad_files_are_refused_with_a_value_error_naming_the_file(tmp_path, spoil, problem):
    _, path = saved_model(tmp_path)
    spoil(path)
    with pytest.raises(ValueError) as caught:
        MLP.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert problem in message


def test_loading_a_pickle_never_runs_it(tmp_path):
    flag = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    path = tmp_path / "evil.json"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError):
        MLP.load(path)
    assert not flag.exists()


def test_loading_does_not_disturb_the_unseeded_generator(tmp_path):
    _, path = saved_model(tmp_path)
    nn.seed(5)
    expected = [p.data for p in MLP(2, [3]).parameters()]
    nn.seed(5)
    MLP.load(path)
    assert [p.data for p in MLP(2, [3]).parameters()] == expected


def test_saved_file_gets_the_usual_permissions_not_a_temporary_files(tmp_path):
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x")  # created by plain open(): permissions from the umask
    path = tmp_path / "model.json"
    MLP(2, [1], seed=0).save(path)
    assert (path.stat().st_mode & 0o777) == (ordinary.stat().st_mode & 0o777)


def test_a_file_claiming_a_huge_model_is_refused_before_building_it(tmp_path):
    _, path = saved_model(tmp_path)
    rewrite(path, lambda s: s.update(nouts=[10**7, 10**7, 1]))
    with pytest.raises(ValueError, match="'w' must hold 10000000 rows"):
        MLP.load(path)  # quickly: building 10**14 weights first would never finish


def test_saving_through_a_symbolic_link_writes_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "models" / "real.json"
    target.parent.mkdir()
    MLP(2, [3, 1], seed=0).save(target)
    link = tmp_path / "latest.json"
    link.symlink_to(os.path.join("models", "real.json"))  # a relative link, as `ln -s` makes them
    newer = MLP(2, [3, 1], seed=1)
    newer.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("models", "real.json")
    assert [p.data for p in MLP.load(target).parameters()] == [p.data for p in newer.parameters()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "models"]
    assert [p.name for p in target.parent.iterdir()] == ["real.json"]  # no temporary file left

    dangling = tmp_path / "next.json"
    dangling.symlink_to(tmp_path / "models" / "not-yet.json")  # open(link, "w") would create the target
    newer.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "models" / "not-yet.json").read_bytes() == target.read_bytes()


def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "private.json"
    MLP(2, [1], seed=0).save(path)
    os.chmod(path, 0o600)
    MLP(2, [1], seed=1).save(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    os.chmod(path, 0o640)
    MLP(2, [1], seed=2).save(path)
    assert (path.stat().st_mode & 0o777) == 0o640


def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    import errno

    path = tmp_path / "keep.json"
    MLP(2, [1], seed=0).save(path)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError) as caught:
        MLP(2, [1], seed=1).save(path)  # refused even for root, whom open(path, "w") would let through
    assert caught.value.errno == errno.EACCES and caught.value.filename == str(path)
    assert path.read_bytes() == before and (path.stat().st_mode & 0o777) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]

    link = tmp_path / "link.json"
    link.symlink_to(path)
    with pytest.raises(PermissionError) as caught:
        MLP(2, [1], seed=1).save(link)
    assert caught.value.filename == str(link)  # the path the user gave, not the link's target
    assert link.is_symlink() and path.read_bytes() == before


def test_the_longest_valid_file_name_saves_and_a_too_long_one_names_the_users_path(tmp_path):
    import errno

    longest = tmp_path / ("m" * 250 + ".json")  # 255 bytes: the most a file name may have
    model = MLP(2, [3, 1], seed=0)
    model.save(longest)
    assert [p.data for p in MLP.load(longest).parameters()] == [p.data for p in model.parameters()]
    assert [p.name for p in tmp_path.iterdir()] == [longest.name]

    too_long = tmp_path / ("m" * 251 + ".json")
    with pytest.raises(OSError) as caught:
        model.save(too_long)
    assert caught.value.errno == errno.ENAMETOOLONG and caught.value.filename == str(too_long)


def test_version_2_keeps_per_layer_activations_and_input_names_and_version_1_files_still_load(tmp_path):
    model = MLP(3, [4, 3, 1], activation=["relu", "tanh"], seed=1, inputs=["x1", "x2", "sin_x1"])
    assert [layer.activation for layer in model.layers] == ["relu", "tanh", None]
    path = tmp_path / "m.json"
    model.save(path)
    again = MLP.load(path)
    assert [layer.activation for layer in again.layers] == ["relu", "tanh", None]
    assert again.inputs == ["x1", "x2", "sin_x1"]
    x = [0.5, -0.25, 0.125]
    assert again(x).data == model(x).data
    # a file version 1 wrote (one activation, no "inputs") reads as it always did
    old = MLP(2, [3, 1], activation="tanh", seed=2).to_dict()
    old["version"] = 1
    del old["inputs"]
    path.write_text(json.dumps(old))
    loaded = MLP.load(path)
    assert loaded.inputs is None and [layer.activation for layer in loaded.layers] == ["tanh", None]
    assert loaded([0.3, 0.7]).data == MLP(2, [3, 1], activation="tanh", seed=2)([0.3, 0.7]).data
    with pytest.raises(ValueError, match="activation must hold 2 names, one per hidden layer, got 1"):
        MLP(2, [3, 3, 1], activation=["relu"])
    with pytest.raises(ValueError, match="inputs must hold 2 names, one per input, got 1"):
        MLP(2, [1], inputs=["x1"])
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a name \(text\), got NoneType"):
        MLP(2, [1], inputs=["x1", None])
