"""The ``micrograd`` command: ``demo``, ``graph``, ``explore`` and ``playground``. Nothing imports this module.

A bar shows progress only when stderr is a terminal; ``--version`` prints the version, and
``micrograd`` alone prints the help.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

# The choices come from the library's own tables. These modules import only the standard library
# at the top; NumPy, matplotlib and Graphviz load when a command needs them.
from micrograd import __version__
from micrograd._extras import DISTRIBUTION, require, require_dot
from micrograd._files import write_atomically
from micrograd._validate import finite_number, layer_widths, positive_int, whole_number
from micrograd.demo import DEFAULTS, run_demo
from micrograd.explore import DATASETS as EXPLORE_DATASETS
from micrograd.explore import write_page
from micrograd.expression import parse_expression
from micrograd.nn import ACTIVATIONS
from micrograd.optim import OPTIMIZERS
from micrograd.viz import MAX_PRECISION, RANKDIRS, draw_dot, render, to_dot

_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot"}


def graph_command(
    expression: str,
    output: str | os.PathLike,
    *,
    at: str = "",
    rankdir: str = "LR",
    precision: int = 4,
    max_nodes: int = 500,
) -> Path:
    """Parse ``expression`` with the variable values in ``at``, run backward, and draw the graph.

    The picture's format comes from ``output``'s suffix: .svg, .png or .dot. The file is written
    whole or not at all. Returns the path written.
    """
    path = Path(output)
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"cannot tell the picture format from {str(output)!r}: name a .svg, .png or .dot file")
    if kind != "dot":
        what = f"a .{kind} picture (a .dot file needs nothing more)"
        require(what, "viz")
        require_dot(what)
    root = parse_expression(expression, at).root
    root.backward()
    if kind == "dot":
        data = to_dot(root, rankdir, precision=precision, max_nodes=max_nodes).encode("utf-8")
    else:
        data = render(draw_dot(root, rankdir, kind, precision=precision, max_nodes=max_nodes))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _read(text: str) -> int | float | str:
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text  # not a number: the check names it as such


def _option(check: Callable[..., object], name: str = "the value", read: Callable[[str], object] = _read,
            **bounds) -> Callable[[str], object]:
    """An argparse type: the text ``read`` (as a number, a whole one if it is) and judged by ``check``,
    a rule of ``micrograd._validate`` (the library's own), whose words argparse shows."""

    def parse(text: str):
        try:
            return check(read(text), name, **bounds)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


_positive_int = _option(positive_int)
_decimals = _option(whole_number, minimum=0, maximum=MAX_PRECISION)
_positive_float = _option(finite_number, above=0.0)
_widths = _option(layer_widths, "widths", read=lambda text: [_read(width) for width in text.split(",")])


def _per_dataset(choose) -> str:
    """``choose(defaults)`` for each demo dataset, as help text: 'moons 100, yinyang 1000, ...'."""
    return ", ".join(f"{name} {choose(defaults)}" for name, defaults in DEFAULTS.items())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="micrograd",
        description="A scalar autograd engine and a tiny neural-network library: train the demo, "
        "draw a graph, or write a page that shows a network learning.",
        epilog="Run 'micrograd COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} ({DISTRIBUTION})")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="train the original demo and write its pictures and model")
    demo.add_argument("--dataset", choices=list(DEFAULTS), default="moons", help="data to learn (default: %(default)s)")
    demo.add_argument(
        "--steps", type=_positive_int, help=f"optimisation steps (default: {_per_dataset(lambda d: d.steps)})"
    )
    demo.add_argument(
        "--hidden",
        type=_widths,
        help=f"hidden layer widths (default: {_per_dataset(lambda d: ','.join(map(str, d.hidden)))})",
    )
    demo.add_argument(
        "--activation",
        choices=[name for name in ACTIVATIONS if name],
        default="relu",
        help="activation of the hidden layers (default: %(default)s)",
    )
    demo.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), help=f"the optimizer (default: {_per_dataset(lambda d: d.optimizer)})"
    )
    demo.add_argument(
        "--lr",
        type=_positive_float,
        help="learning rate at the first step; it falls linearly to a tenth of it by the last (default: "
        + "; ".join(f"{name} {', '.join(f'{o} {lr:g}' for o, lr in d.lr.items())}" for name, d in DEFAULTS.items())
        + ")",
    )
    demo.add_argument(
        "--batch-size",
        type=_positive_int,
        help="examples per step (default: "
        + _per_dataset(lambda d: "all" if d.batch_size is None else d.batch_size)
        + ")",
    )
    demo.add_argument("--seed", type=int, default=1337, help="seeds the data, weights and batches (default: %(default)s)")
    demo.add_argument("--out", default="out", help="folder for the pictures and the saved model (default: %(default)s)")
    demo.add_argument("--compiled", action="store_true", help="run whole batches through NumPy (default: eager)")
    _progress_option(demo)

    graph = commands.add_parser("graph", help="draw the graph of an expression after a backward pass")
    graph.add_argument("expression", help='for example "tanh(x1*w1 + x2*w2 + b)"')
    graph.add_argument("-o", "--output", required=True, help="picture to write: .svg, .png or .dot")
    graph.add_argument("--at", default="", help="values of the variables, e.g. x1=2,x2=0 (default: none)")
    graph.add_argument("--rankdir", choices=RANKDIRS, default="LR", help="direction of the layout (default: %(default)s)")
    graph.add_argument(
        "--precision", type=_decimals, default=4, help=f"decimals shown, 0 to {MAX_PRECISION} (default: %(default)s)"
    )
    graph.add_argument("--max-nodes", type=_positive_int, default=500, help="refuse bigger graphs (default: %(default)s)")

    explore = commands.add_parser("explore", help="write an interactive page of a network learning (HTML)")
    explore.add_argument("--out", default="explore", help="folder for the page (default: %(default)s)")
    explore.add_argument(
        "--dataset", choices=list(EXPLORE_DATASETS), default="moons", help="data to learn (default: %(default)s)"
    )
    explore.add_argument("--steps", type=_positive_int, default=100, help="optimisation steps (default: %(default)s)")
    explore.add_argument("--hidden", type=_widths, default=[8, 8], help="hidden layer widths (default: 8,8)")
    explore.add_argument("--seed", type=int, default=1337, help="seeds the data and weights (default: %(default)s)")
    explore.add_argument(
        "--expand-dot",
        action="store_true",
        help="draw each neuron's weighted sum as its products and their sum, as the lesson does "
        "(default: one dot node)",
    )
    _progress_option(explore)

    playground = commands.add_parser("playground", help="train a network live in your browser (a local web server)")
    playground.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)"
    )
    playground.add_argument(
        "--port", type=_option(whole_number, minimum=0, maximum=65535), default=0, help="port (default: 0, a free one)"
    )
    playground.add_argument(
        "--no-browser", action="store_true", help="print the URL without opening a browser (default: open one)"
    )
    return parser


def _progress_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (default: a bar when stderr is a terminal, a plain line per tenth of the run in a log)",
    )


def _progress(args) -> bool | str:
    """A bar on a terminal; in a log file plain lines, where a bar's redraws would be carriage returns."""
    return False if args.no_progress else True if sys.stderr.isatty() else "lines"


def _expression_behind_dashes(argv: list[str]) -> list[str]:
    """``graph -x*2 -o g.svg``: argparse takes every word that starts with "-" for an option. Graph's
    own options are ``-o``, ``-h`` and long ones, so any other such word is the expression: move it
    behind "--", where argparse reads it as one. ``-o`` and a long option without "=" take the next
    word as their value, which is skipped."""
    i = 1
    while i < len(argv) and argv[i] != "--":
        word = argv[i]
        if word.startswith("-") and not word.startswith(("--", "-o", "-h")):
            return argv[:i] + argv[i + 1 :] + ["--", word]
        i += 2 if word == "-o" or (word.startswith("--") and "=" not in word) else 1
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["graph"]:
        argv = _expression_behind_dashes(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            run_demo(
                dataset=args.dataset,
                steps=args.steps,
                hidden=args.hidden,
                activation=args.activation,
                optimizer=args.optimizer,
                lr=args.lr,
                batch_size=args.batch_size,
                seed=args.seed,
                out=args.out,
                compiled=args.compiled,
                progress=_progress(args),
            )
        elif args.command == "graph":
            path = graph_command(
                args.expression,
                args.output,
                at=args.at,
                rankdir=args.rankdir,
                precision=args.precision,
                max_nodes=args.max_nodes,
            )
            print(f"wrote {path}")
        elif args.command == "explore":
            path = write_page(
                args.out,
                dataset=args.dataset,
                steps=args.steps,
                hidden=args.hidden,
                seed=args.seed,
                expand_dot=args.expand_dot,
                progress=_progress(args),
            )
            print(f"wrote {path}")
        elif args.command == "playground":
            from micrograd.playground import serve  # its server and engine load only for this command

            serve(args.host, args.port, open_browser=not args.no_browser)
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError) as error:
        print(f"micrograd {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"micrograd {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
