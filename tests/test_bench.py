"""The benchmark suite's pure parts (bench/run.py, bench/peers/common.py) on small, made-up results.

The benchmarks themselves are scripts (``python bench/run.py``), not timed tests.
"""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "peers"))

from common import README_POINT, readme_graph, step_seconds


def _load_run():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load_run()

SIZES = {"readme": 10_000, "random": 1_000_000, "chain": 1_000_000, "moons_steps": 100, "digits_steps": 45,
         "mnist_steps": 32, "rounds": 3}  # fmt: skip


def fake_results(workload=None, peer=None, result=None):
    """A complete result set with round numbers (0.1.0 takes 1 s a moons step, eager 0.1 s, ...), with
    ``result`` in place of ``peer``'s result for ``workload`` if given."""
    moons = {"loss": 0.010978370135492717, "accuracy": 1.0, "test_accuracy": 0.99}
    results = {
        "readme": {peer: {"seconds": s, "check": [24.7, 138.8, 645.6]}
                   for peer, s in zip(run.PEERS, (0.9, 0.2, 0.02, 0.005))},
        "moons_step": {peer: {"step_seconds": s, "seconds": 100 * s, **moons}
                       for peer, s in zip(run.PEERS, (1.0, 0.1, 0.0005, 0.0004))},
        "moons_process": {peer: {"seconds": s, "loss": 0.011, "accuracy": 1.0, "test_accuracy": 0.99}
                          for peer, s in zip(run.PEERS, (101.0, 12.0, 1.5, 4.0))},
        "digits": {"0.1.0": {"na": "no exp or log"},
                   **{peer: {"seconds": s, "loss": 0.67, "accuracy": 0.8, "test_accuracy": 0.87}
                      for peer, s in zip(run.PEERS[1:], (1.5, 0.15, 0.03))}},
        "mnist_step": {"0.1.0": {"na": "no exp or log"},
                       **{peer: {"step_seconds": s, "early_loss": 2.26, "early_accuracy": 0.2}
                          for peer, s in zip(run.PEERS[1:], (5.0, 0.004, 0.002))}},
        "mnist_epoch": {"0.1.0": {"na": "no exp or log"}, "eager": {"na": "seconds a step"},
                        **{peer: {"seconds": s, "loss": 1.48, "accuracy": 0.78, "test_accuracy": 0.8}
                           for peer, s in zip(run.PEERS[2:], (2.0, 0.1))}},
        "mnist_deep_step": {"0.1.0": {"na": "no exp or log"}, "eager": {"na": "seconds a step"},
                            **{peer: {"step_seconds": s, "loss": 1.2, "accuracy": 0.7}
                               for peer, s in zip(run.PEERS[2:], (0.003, 0.002))}},
        "random": {"0.1.0": {"seconds": 12.0, "check": [1.0, 2.0]}, "eager": {"seconds": 4.0, "check": [1.0, 2.0]},
                   "compiled": {"na": "run once"}, "torch": {"na": "no batch"}},
        "chain": {"0.1.0": {"error": "RecursionError: maximum recursion depth exceeded"},
                  "eager": {"seconds": 5.0, "check": [2.5, 1.0]}, "compiled": {"na": "run once"},
                  "torch": {"na": "no batch"}},
    }  # fmt: skip
    if workload is not None:
        results[workload][peer] = result
    return results


def test_readme_expression_gives_the_lessons_numbers_on_values():
    from micrograd import Value

    a, b = Value(README_POINT[0]), Value(README_POINT[1])
    g = readme_graph(a, b)
    g.backward()
    # the lesson's printed numbers (lesson-notes.txt), not this code's
    assert (round(g.data, 4), round(a.grad, 4), round(b.grad, 4)) == (24.7041, 138.8338, 645.5773)


def test_readme_expression_gives_the_lessons_numbers_on_a_torch_batch():
    torch = pytest.importorskip("torch")
    a = torch.full((3,), README_POINT[0], dtype=torch.float64, requires_grad=True)
    b = torch.full((3,), README_POINT[1], dtype=torch.float64, requires_grad=True)
    g = readme_graph(a, b)
    g.sum().backward()
    assert g.tolist() == pytest.approx([24.7041] * 3, abs=5e-5)
    assert a.grad.tolist() == pytest.approx([138.8338] * 3, abs=5e-5)
    assert b.grad.tolist() == pytest.approx([645.5773] * 3, abs=5e-5)


def test_table_shows_times_speedups_and_reasons():
    text = run.table(fake_results(), SIZES)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    # 0.9 s for 10,000 is 900 ms; eager 200 ms is 4.5x faster, PyTorch's 5 ms 180x
    assert "| 900 | 200 (4.5x) | 20.0 (45x) | 5.00 (180x) |" in rows["README expression x 10,000 (ms)"]
    assert (
        "| 1,000 | 100 (10x) | 0.500 (2,000x) | 0.400 (2,500x) |"
        in rows["moons demo, 100 steps: one training step (ms)"]
    )
    # without 0.1.0, the speed-up is over eager mode
    digits = rows["digits model (the demo's defaults), one epoch of 45 steps (s)"]
    assert "| n/a (1) | 1.50 | 0.150 (10x) | 0.0300 (50x) |" in digits
    assert "(1) no exp or log" in text
    assert "failed: RecursionError: maximum recursion depth exceeded" in text
    # MNIST's step in ms, over eager's; its epoch without eager
    mnist = rows["MNIST, MLP 784-128-10, batch 128, SGD: one training step (ms)"]
    assert "| n/a (1) | 5,000 | 4.00 (1,250x) | 2.00 (2,500x) |" in mnist
    assert "| n/a (1) | n/a (2) | 2.00 | 0.100 |" in rows["MNIST, the same: one epoch of 32 steps (s)"]
    assert "**NO**" not in text


def test_different_numbers_are_flagged_and_tiny_rounding_is_not():
    close = {"seconds": 0.02, "check": [24.7 * (1 + 1e-13), 138.8, 645.6]}
    assert run.disagreements(fake_results("readme", "compiled", close)) == {}
    wrong = {"step_seconds": 0.0004, "seconds": 0.04, "loss": 0.0110, "accuracy": 1.0, "test_accuracy": 0.99}
    found = run.disagreements(fake_results("moons_step", "torch", wrong))
    assert list(found) == ["moons_step"] and "PyTorch, float64 computed 0.011" in found["moons_step"]
    assert "**NO**: loss" in run.table(fake_results("moons_step", "torch", wrong), SIZES)
    accuracy_off = {"seconds": 0.03, "loss": 0.67, "accuracy": 0.8, "test_accuracy": 0.86}
    assert list(run.disagreements(fake_results("digits", "torch", accuracy_off))) == ["digits"]


def test_a_step_is_the_mean_of_the_steps_after_the_first():
    # steps ending 0.5 s (the warm-up), 0.6 s and 0.8 s into a run: 0.1 s and 0.2 s, a mean of 0.15 s
    assert step_seconds([0.5, 0.6, 0.8]) == pytest.approx(0.15)
    assert step_seconds([0.3]) == 0.3  # one step: it is all there is


def test_targets_are_judged_on_the_measured_ratios():
    met = {text: (measured, ok) for text, measured, ok in run.targets(fake_results())}
    # MNIST: 2x PyTorch's time, the deeper one 1.5x; the digits epoch 5x (0.15 s against 0.03 s)
    assert [ok for _, ok in met.values()] == [True, True, True, True, True, True, False]
    first = next(iter(met))
    assert met[first][0] == "2,000x"
    slow = {**fake_results()["moons_step"]["compiled"], "step_seconds": 0.00081}
    outcome = [ok for _, _, ok in run.targets(fake_results("moons_step", "compiled", slow))]
    assert outcome[:2] == [True, False]  # 1235x 0.1.0's speed, but 2.03x PyTorch's time
    missing = run.targets(fake_results("moons_process", "torch", {"na": "not run"}))
    assert missing[2][1:] == ("not measured", None)
    eager_4x = {**fake_results()["moons_step"]["eager"], "step_seconds": 0.25}
    assert run.targets(fake_results("moons_step", "eager", eager_4x))[3][2] is False
    mnist_slow = {**fake_results()["mnist_step"]["compiled"], "step_seconds": 0.0041}
    assert run.targets(fake_results("mnist_step", "compiled", mnist_slow))[4][1:] == (
        "2.05x PyTorch's time (4.1 ms vs 2.00 ms)", False)  # fmt: skip
    digits_fast = {**fake_results()["digits"]["compiled"], "seconds": 0.05}
    assert run.targets(fake_results("digits", "compiled", digits_fast))[6][1:] == (
        "1.67x PyTorch's time (0.050 s vs 0.030 s)", True)  # fmt: skip


def test_demo_summary_lines_are_read():
    moons = ("final loss 0.0110 | train accuracy 100.0% (100% first at step 40) | test accuracy 99.0% | 0.1 s\n"
             "wrote out/decision_boundary.png")  # fmt: skip
    assert run.demo_summary({"stdout": moons, "process_seconds": 1.25}) == {
        "seconds": 1.25, "loss": 0.011, "accuracy": 1.0, "test_accuracy": 0.99}  # fmt: skip
    yinyang = "final loss 0.2000 | train accuracy 95.5% | val accuracy 94.0% | test accuracy 93.5% | 8.0 s"
    assert run.demo_summary({"stdout": yinyang, "process_seconds": 9.0})["test_accuracy"] == 0.935
    assert "error" in run.demo_summary({"stdout": "Traceback ...", "process_seconds": 0.1})


def test_chart_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    run.chart(fake_results(), SIZES, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_setup_holds_the_demos_weights_data_and_learning_rates(tmp_path):
    pytest.importorskip("sklearn")
    import json

    from micrograd import data
    from micrograd.nn import MLP

    extra = run.write_setup(tmp_path / "setup.json", 100)
    setup = json.loads((tmp_path / "setup.json").read_text())
    assert extra == {"digits_steps": math.ceil(1438 / 32), "mnist_steps": math.ceil(4000 / 128)}
    moons = setup["moons"]
    original = MLP(2, [16, 16, 1], seed=1337)  # the original demo's initial weights
    assert [p.data for p in MLP.from_dict(moons["model"]).parameters()] == [p.data for p in original.parameters()]
    assert moons["train"]["X"] == data.load("moons").train.X
    # the original notebook's schedule, 1.0 - 0.9 * k / 100
    assert moons["lrs"] == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)], abs=1e-15)
    digits = setup["digits"]
    assert (digits["loss"], digits["optimizer"], digits["batch_size"]) == ("cross_entropy", "adam", 32)
    assert MLP.from_dict(digits["model"]).nouts == [32, 10]
    mnist = setup["mnist"]
    assert (mnist["dataset"], mnist["batch_size"], mnist["optimizer"], mnist["lrs"]) == ("mnist", 128, "sgd", [0.1] * 32)
    assert MLP.from_dict(mnist["model"]).nin == 784 and MLP.from_dict(mnist["model"]).nouts == [128, 10]


def _load_engine_bench():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


engine_bench = _load_engine_bench()
import engine_workloads  # bench/, put on sys.path just above


def engine_results(**random):
    """bench/engine.py's results with round made-up numbers; ``random`` replaces an engine's random-graph run."""
    graph = {"seconds": 8.0, "gc_seconds": 6.0, "full_collections": 17, "build_ns_per_node": 7900,
             "backward_ns_per_node": 100, "check": [1.0, 2.0]}  # fmt: skip
    results = {
        "0.1.0": {"readme": {"us_per_rep": 50.0, "check": [24.7, 138.8, 645.6]}, "random": graph,
                  "memory": {"bytes_per_node": 600.0},
                  "chain": {"error": "RecursionError: maximum recursion depth exceeded"}},
        "ours": {"readme": {"us_per_rep": 10.0, "check": [24.7, 138.8, 645.6]},
                 "random": {**graph, "seconds": 2.0, "gc_seconds": 1.0, "full_collections": 9},
                 "memory": {"bytes_per_node": 100.0}, "chain": {"seconds": 2.0, "check": [2.5, 1.0]}},
        "floor": {"random": {**graph, "seconds": 1.6, "gc_seconds": 1.0, "full_collections": 9}},
    }  # fmt: skip
    for engine, result in random.items():
        results[engine]["random"] = result
    return results


def test_engine_table_gives_speedups_and_says_only_this_engine_finished_the_chain():
    text = engine_bench.table(engine_results(), {"readme": 10_000, "random": 1_000_000, "chain": 1_000_000,
                                                 "rounds": 3})  # fmt: skip
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[-1].rstrip(" |") for line in text.splitlines()}
    assert rows["README expression, build + backward (us per repetition)"] == "5.0x"
    assert rows["random graph: build + backward (s)"] == "4.0x"
    assert rows["random graph: memory (bytes per node)"] == "6.0x less"
    assert rows["chain: build + backward (s)"] == "done"


def test_garbage_collector_table_splits_each_engines_time():
    text = engine_bench.garbage_collector_table(engine_results())
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in text.splitlines()}
    assert [cell.rstrip(" |") for cell in rows["outside the garbage collector (s)"]] == ["2.00", "1.00", "0.60"]
    assert [cell.rstrip(" |") for cell in rows["speed-up over 0.1.0, total"]] == ["1.0x", "4.0x", "5.0x"]
    outside = rows["speed-up over 0.1.0, outside the collector"]
    assert [cell.rstrip(" |") for cell in outside] == ["1.0x", "2.0x", "3.3x"]
    failed = engine_bench.garbage_collector_table(engine_results(floor={"error": "crashed"}))
    assert "failed" in failed


def test_engine_results_that_differ_are_flagged_for_the_floor_too():
    assert engine_bench.check_same_results(engine_results()) == []
    wrong = {"seconds": 1.0, "gc_seconds": 0.5, "full_collections": 1, "check": [1.0, 2.5]}
    assert len(engine_bench.check_same_results(engine_results(floor=wrong))) == 1


def test_floor_value_computes_the_engines_gradients_on_a_random_graph():
    from micrograd import Value

    leaves, plan = engine_workloads.random_plan(3000, 50, seed=1)
    ours = engine_workloads.build(leaves, plan, Value)
    floor = engine_workloads.build(leaves, plan, engine_workloads.FloorValue)
    for nodes in (ours, floor):
        sum(nodes[-50:]).backward()
    assert [v.data for v in floor] == [v.data for v in ours]
    assert [v.grad for v in floor[:50]] == pytest.approx([v.grad for v in ours[:50]], rel=1e-12, abs=1e-12)
    assert any(v.grad != 0 for v in ours[:50])


def test_garbage_collector_clock_counts_collections_and_their_time():
    import gc

    with engine_workloads.GarbageCollectorClock() as clock:
        gc.collect(0)
        gc.collect()
    assert clock.full_collections == 1
    assert clock.seconds > 0
    assert clock._tick not in gc.callbacks


def test_keep_best_keeps_the_faster_round_and_every_failure():
    fast, slow = {"seconds": 1.0, "check": [2.0]}, {"seconds": 3.0, "check": [2.0]}
    failed = {"error": "RecursionError"}
    assert engine_bench.keep_best(None, slow, "seconds") is slow
    assert engine_bench.keep_best(slow, fast, "seconds") is fast
    assert engine_bench.keep_best(fast, slow, "seconds") is fast
    # a crash in any round shows, whether it came first or last
    assert engine_bench.keep_best(failed, fast, "seconds") is failed
    assert engine_bench.keep_best(fast, failed, "seconds") is failed
    # rounds that computed different numbers are an error, not a speed
    different = engine_bench.keep_best(slow, {"seconds": 0.5, "check": [2.1]}, "seconds")
    assert "different numbers" in different["error"]


def test_same_numbers_refuses_nan_and_lists_of_another_length():
    assert engine_bench.same_numbers([1.0, 2.0], [1.0, 2.0 + 1e-12])
    assert not engine_bench.same_numbers([1.0, 2.0], [1.0, 2.0 + 1e-6])
    assert not engine_bench.same_numbers([1.0, math.nan], [1.0, math.nan])
    assert not engine_bench.same_numbers([1.0, 2.0], [1.0])
    assert not engine_bench.same_numbers([1.0], 1.0)


def test_engine_table_with_a_failed_memory_run_says_so():
    results = engine_results()
    results["0.1.0"]["memory"] = {"error": "MemoryError"}
    text = engine_bench.table(results, {"readme": 10_000, "random": 1_000_000, "chain": 1_000_000, "rounds": 3})
    assert "| random graph: memory (bytes per node) | MemoryError | 100 | done |" in text
