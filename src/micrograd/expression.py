"""Build Values from an expression such as ``"tanh(x1*w1 + x2*w2 + b)"``, safely.

The text is parsed with Python's ``ast`` and only a whitelist is accepted: numbers, variable
names, ``+ - * / **``, unary ``-``/``+`` and calls of one argument to the functions in
``FUNCTIONS``. Nothing is ever evaluated by Python: each accepted node is turned into engine ops
by hand, so ``__import__('os')`` or ``x.__class__`` is refused, not run.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import unicodedata
from typing import Callable, Mapping, NamedTuple

from micrograd import ops
from micrograd._validate import finite_number, of_type
from micrograd.engine import Value

__all__ = ["Expression", "ExpressionError", "FUNCTIONS", "parse_expression", "parse_assignments"]

# Every one-input op of the engine, by its name (exp, log, tanh, relu, ...); '-x' is written as such.
FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    op.name: getattr(Value, op.name) for op in ops.OPS.values() if op.arity == 1 and op.name != "neg"
}

LABEL_LENGTH = 32  # longer sub-expressions are shortened in node labels

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
}
_WHAT = {  # how to name a refused kind of syntax in an error message
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "a lambda",
    ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'", ast.IfExp: "an if-expression",
    ast.NamedExpr: "an assignment (:=)", ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set",
    ast.Dict: "a dict", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator", ast.JoinedStr: "an f-string",
    ast.Starred: "unpacking (*)", ast.Await: "await", ast.Slice: "a slice",
}


class ExpressionError(ValueError):
    """A bad expression or assignment; ``str()`` is one line that names the problem and its column.

    ``text`` is the text that was parsed (line breaks read as blanks) and ``column`` the 1-based
    place of the problem in it, or None; ``caret`` shows the text with a ``^`` under that place.
    """

    def __init__(self, problem: str, text: str, column: int | None = None):
        where = "" if column is None else f" at column {column}"
        super().__init__(f"{problem}{where} in {_excerpt(text, column)!r}")
        self.problem, self.text, self.column = problem, text, column

    @property
    def caret(self) -> str:
        """The text and, under it, a ``^`` at the problem."""
        return self.text if self.column is None else f"{self.text}\n{' ' * (self.column - 1)}^"


class Expression(NamedTuple):
    """A parsed expression: its result and the leaf Value of each variable, by name."""

    root: Value
    variables: dict[str, Value]


def parse_expression(expression: str, values: Mapping[str, float] | str = "") -> Expression:
    """Build the Values of ``expression`` with its variables set to ``values``.

    ``values`` is a mapping or text like ``"x1=2,w1=-3"``. Each variable becomes one leaf Value
    labelled with its name (used twice, it is one node whose gradient adds up); every other node
    is labelled with the text of its sub-expression. Raises ExpressionError (a ValueError) for
    anything outside the whitelist, a variable without a value or a value without a variable.
    """
    given = parse_assignments(values) if isinstance(values, str) else _checked_values(values)
    source = _Source(of_type(expression, str, "expression", "text"))
    tree = source.parse()
    names = _check_whitelist(tree, source)
    missing, unused = sorted(names - given.keys()), sorted(given.keys() - names)
    if missing or unused:  # one value for each variable, no more, no less
        example = ",".join(f"{name}=1.0" for name in missing)
        problems = [f"no value for {', '.join(missing)} (give each one, e.g. {example})"] if missing else []
        problems += [f"a value for {', '.join(unused)}, which the expression does not use"] if unused else []
        raise ExpressionError("; ".join(problems), source.text)
    variables = {name: Value(given[name], label=name) for name in sorted(names)}
    return Expression(_build(tree, source, variables), variables)


def parse_assignments(text: str) -> dict[str, float]:
    """``"x1=2, x2=0, b=6.88"`` as ``{'x1': 2.0, 'x2': 0.0, 'b': 6.88}``; ``""`` gives ``{}``."""
    result: dict[str, float] = {}
    if not of_type(text, str, "assignments", "text like 'x1=2,x2=0'").strip():
        return result
    item_start = 0
    for item in text.split(","):
        name_part, equals, number_part = item.partition("=")
        name, number = name_part.strip(), number_part.strip()
        name_column = item_start + len(name_part) - len(name_part.lstrip()) + 1
        number_column = item_start + len(name_part) + 1 + len(number_part) - len(number_part.lstrip()) + 1
        item_start += len(item) + 1
        if not equals:
            raise ExpressionError(f"expected name=number, got {item.strip()!r}", text, name_column)
        name = _variable_name(name, text, name_column)
        if name in result:
            raise ExpressionError(f"{name} is given twice", text, name_column)
        try:
            value = float(number)
        except ValueError:
            raise ExpressionError(f"{name} needs a number, got {number!r}", text, number_column) from None
        if not math.isfinite(value):
            raise ExpressionError(f"{name} needs a finite number, got {number!r}", text, number_column)
        result[name] = value
    return result


def _checked_values(values: Mapping[str, float]) -> dict[str, float]:
    of_type(values, Mapping, "values", "a mapping like {'x': 2.0} or text like 'x=2'")
    text = ", ".join(f"{name}={x!r}" for name, x in values.items())
    return {_variable_name(name, text): finite_number(x, f"the value of {name}") for name, x in values.items()}


def _variable_name(name, text: str, column: int | None = None) -> str:
    """``name`` as Python spells it (``_identifier``), if it can name a variable: an identifier that
    is no keyword and no function's name. ``text`` and ``column`` say where it was written."""
    is_name = isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)
    if not is_name or _identifier(name) in FUNCTIONS:
        why = " (it is a function)" if is_name else ""
        raise ExpressionError(f"{name!r} is not a variable name{why}", text, column)
    return _identifier(name)


class _Source:
    """The expression as one line, and ``ast``'s positions (UTF-8 bytes) as 1-based columns."""

    def __init__(self, text: str):
        # Line breaks read as blanks: the expression is one line, columns count from its start.
        self.text = text.replace("\r", " ").replace("\n", " ")
        self.indent = len(self.text) - len(self.text.lstrip())
        self.body = self.text[self.indent :]  # leading blanks would be an "unexpected indent"
        self.char_at_byte = None if self.body.isascii() else _char_indices(self.body)

    def parse(self) -> ast.Expression:
        if not self.body.strip():
            raise ExpressionError("empty expression", self.text)
        try:
            return ast.parse(self.body, mode="eval")
        except SyntaxError as error:
            if error.offset and error.offset > 0:
                column = self.indent + error.offset
            else:  # Python's way of saying "at the end"
                column = len(self.text.rstrip()) + 1
            raise ExpressionError(f"syntax error: {error.msg}", self.text, column) from None
        except ValueError as error:  # null bytes, digits past Python's limit
            raise ExpressionError(f"syntax error: {error}", self.text) from None
        except (RecursionError, MemoryError):
            raise ExpressionError("expression nested too deeply for Python's parser", self.text) from None

    def column(self, byte_offset: int) -> int:
        chars = byte_offset if self.char_at_byte is None else self.char_at_byte[byte_offset]
        return self.indent + chars + 1

    def segment(self, node: ast.AST) -> str:
        """The text of ``node``, blanks squeezed to single spaces."""
        text = self.text[self.column(node.col_offset) - 1 : self.column(node.end_col_offset) - 1]
        return " ".join(text.split())

    def error(self, problem: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(problem, self.text, self.column(node.col_offset))


def _char_indices(text: str) -> list[int]:
    """For each UTF-8 byte offset into ``text`` (and its end), the index of its character."""
    indices = []
    for i, ch in enumerate(text):
        indices.extend([i] * len(ch.encode("utf-8")))
    indices.append(len(text))
    return indices


def _check_whitelist(tree: ast.Expression, source: _Source) -> set[str]:
    """Refuse the leftmost node outside the whitelist; return the variable names used."""
    problems = []  # (column, message)
    names = set()
    called = set()  # the Name nodes that are the function of an accepted call
    for node in ast.walk(tree.body):  # ast.walk keeps its own queue: no recursion
        column = source.column(node.col_offset) if hasattr(node, "col_offset") else None
        problem = None
        if isinstance(node, ast.Constant):
            problem = _constant_problem(node.value)
        elif isinstance(node, ast.Name):
            if id(node) in called:
                continue
            if node.id in FUNCTIONS:
                problem = f"{node.id} is a function: call it, as in {node.id}(x)"
            else:
                names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _ARITHMETIC and not isinstance(node.op, ast.Pow):
                problem = f"operator {_REFUSED_OPERATORS.get(type(node.op), '?')} is not supported (use + - * / **)"
                column = _operator_column(node, source)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                problem = f"operator {_REFUSED_OPERATORS.get(type(node.op), '?')} is not supported (use + - * / **)"
        elif isinstance(node, ast.Call):
            function = node.func.id if isinstance(node.func, ast.Name) else None
            if function not in FUNCTIONS:
                known = ", ".join(sorted(FUNCTIONS))
                called_text = repr(function) if function else repr(_shorten(source.segment(node.func)))
                problem = f"unknown function {called_text}; the functions are {known}"
            elif node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                problem = f"{function}() takes exactly one argument, as in {function}(x)"
            else:
                called.add(id(node.func))
        elif isinstance(node, (ast.expr_context, ast.operator, ast.unaryop)):
            continue  # judged with the node they belong to
        else:
            problem = f"{_WHAT.get(type(node), type(node).__name__)} is not allowed"
        if problem is not None and column is not None:
            problems.append((column, problem))
    if problems:
        column, problem = min(problems, key=lambda p: p[0])  # ties: the outer node, found first
        raise ExpressionError(problem, source.text, column)
    return names


def _constant_problem(value) -> str | None:
    if isinstance(value, bool) or value is None or value is Ellipsis:
        return f"{value!r} is not a number"
    if isinstance(value, (str, bytes)):
        return f"text {value!r} is not allowed: write numbers and variable names"
    if isinstance(value, complex):
        return f"complex number {value!r} is not allowed"
    if isinstance(value, (int, float)):
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        return None if finite else "number too large for a float"
    return f"{value!r} is not allowed"


def _operator_column(node: ast.BinOp, source: _Source) -> int:
    """The column of ``node``'s operator: the first non-blank after the left operand and its ')'."""
    position = source.column(node.left.end_col_offset) - 1
    while position < len(source.text) and source.text[position] in " \t)":
        position += 1
    return position + 1


def _build(tree: ast.Expression, source: _Source, variables: dict[str, Value]):
    """Turn the checked tree into Values, children before parents, with an explicit stack."""
    results: list = []  # a Value, or a _Number for a literal not yet needed as a Value
    stack: list = [(tree.body, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, ast.UnaryOp):
            children = [node.operand]
        elif isinstance(node, ast.BinOp):
            children = [node.left, node.right]
        elif isinstance(node, ast.Call):
            children = node.args
        else:
            children = []
        if children and not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        inputs = results[len(results) - len(children) :]
        del results[len(results) - len(children) :]
        try:
            results.append(_combine(node, inputs, source, variables))
        except (ArithmeticError, ValueError) as error:
            if isinstance(error, ExpressionError):
                raise
            # Same kind of error as the engine's, plus where in the text it happened.
            column = source.column(node.col_offset)
            raise type(error)(f"{error} (at column {column}: {_shorten(source.segment(node))})") from None
    return _as_value(results[0])


class _Number(NamedTuple):
    """A literal kept as a plain number, so that ``x ** 2`` has no slope in its exponent."""

    value: float
    text: str


def _combine(node: ast.AST, inputs: list, source: _Source, variables: dict[str, Value]):
    if isinstance(node, ast.Constant):
        return _Number(float(node.value), source.segment(node))
    if isinstance(node, ast.Name):
        return variables[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return inputs[0]
    if all(isinstance(x, _Number) for x in inputs):
        # Constants only (1+1, exp(1), -2): computed by the engine's ops, with their errors, but kept a
        # plain number, so that x ** (1+1) has no slope in its exponent, just as x ** 2 has none.
        out = _apply(node, [Value(x.value) for x in inputs])
        return _Number(out.data, _shorten(source.segment(node)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        # A number on either side stays a plain number, which the engine gives no derivative: x ** 2
        # at x < 0 must not ask for log(x). x ** 2 is one node over x; the leaf of a constant base
        # (2 ** x) gets its text as label.
        left, right = inputs
        out = (left.value if isinstance(left, _Number) else left) ** (
            right.value if isinstance(right, _Number) else right
        )
        for side, operand in zip(out._prev, inputs):
            if isinstance(operand, _Number):
                side.label = operand.text
    else:
        out = _apply(node, [_as_value(x) for x in inputs])
    out.label = _shorten(source.segment(node))
    return out


def _apply(node: ast.AST, inputs: list[Value]) -> Value:
    """The engine op that ``node`` (a unary minus, a call or a binary operator) stands for."""
    if isinstance(node, ast.UnaryOp):
        return -inputs[0]
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](inputs[0])
    if isinstance(node.op, ast.Pow):
        return inputs[0] ** inputs[1].data  # constants only: a number exponent, as Python's own 2 ** 3
    return _ARITHMETIC[type(node.op)](*inputs)


def _as_value(x) -> Value:
    return Value(x.value, label=x.text) if isinstance(x, _Number) else x


def _identifier(name: str) -> str:
    """Python's own spelling of a name (it folds some Unicode letters together, NFKC)."""
    return unicodedata.normalize("NFKC", name)


def _shorten(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 3] + "..."


def _excerpt(text: str, column: int | None, width: int = 60) -> str:
    """``text``, or for long text the part around ``column``, so that a message stays one short line."""
    if len(text) <= width:
        return text
    middle = (column or 1) - 1
    start = max(0, min(middle - width // 2, len(text) - width))
    return ("..." if start else "") + text[start : start + width] + ("..." if start + width < len(text) else "")
