"""Where a point's graph boxes go: Graphviz's ``dot`` lays them out left to right (inputs on the
left, the loss on the right), once per shape of graph; the page draws the boxes at these places.

Needs Graphviz's ``dot`` program (the ``viz`` extra's system part: ``apt install graphviz``).
"""

from __future__ import annotations

import functools
import json
import subprocess

__all__ = ["lay_out"]

BOX_SIZE = {"neuron": (1.7, 0.8), "node": (1.5, 0.62)}  # inches: room for a label, data and grad
_POINTS_PER_INCH = 72  # Graphviz's positions are in points


def lay_out(boxes: list[dict]) -> dict:
    """``{"width", "height", "sizes", "at": {key: [x, y]}}`` in points: each box's centre (y down)
    and each kind of box's [width, height], for ``boxes`` (dicts with ``key``, ``kind`` ('neuron'
    or 'node') and ``inputs``, each after its inputs)."""
    shape = tuple((b["key"], b["kind"], tuple(b["inputs"])) for b in boxes)
    return _lay_out(shape)


@functools.lru_cache(maxsize=64)  # a graph's shape is the same for every point and step of a model
def _lay_out(shape: tuple) -> dict:
    lines = ["digraph { rankdir=LR; nodesep=0.15; ranksep=0.5; node [shape=box fixedsize=true label=\"\"];"]
    for number, (_key, kind, _inputs) in enumerate(shape):
        width, height = BOX_SIZE[kind]
        lines.append(f'b{number} [width={width} height={height}];')
    numbers = {key: number for number, (key, *_rest) in enumerate(shape)}
    for number, (_key, _kind, inputs) in enumerate(shape):
        lines.extend(f"b{numbers[k]} -> b{number};" for k in inputs)
    lines.append("}")
    try:
        result = subprocess.run(
            ["dot", "-Tjson"], input="\n".join(lines), capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as error:  # no dot program, or one that fails or hangs
        raise OSError(f"the graph panel needs Graphviz's dot program (Debian: apt install graphviz): {error}") from None
    drawn = json.loads(result.stdout)
    _, _, width, height = (float(v) for v in drawn["bb"].split(","))
    at = {}
    for obj in drawn.get("objects", []):
        x, y = (float(v) for v in obj["pos"].split(","))
        at[shape[int(obj["name"][1:])][0]] = [x, height - y]  # Graphviz's y grows upwards
    sizes = {kind: [inches * _POINTS_PER_INCH for inches in size] for kind, size in BOX_SIZE.items()}
    return {"width": width, "height": height, "sizes": sizes, "at": at}
