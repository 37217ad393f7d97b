"""The safe expression parser: what it builds (checked against PyTorch and hand derivations) and
what it refuses, with one-line messages that point at the problem."""

import math
import re

import pytest

from micrograd import Value
from micrograd.engine import topological_order
from micrograd.expression import FUNCTIONS, ExpressionError, parse_assignments, parse_expression


def all_values(root: Value) -> list[Value]:
    return topological_order([root])


def test_the_lesson_neuron():
    expr = parse_expression("tanh(x1*w1 + x2*w2 + b)", "x1=2, x2=0, w1=-3, w2=1, b=6.8813735870195432")
    expr.root.backward()
    g = expr.variables
    assert expr.root.data == pytest.approx(math.sqrt(0.5), abs=1e-15)  # the lesson's 0.7071
    slope = 0.5  # d tanh(n)/dn = 1 - o**2 = 1 - 1/2
    assert g["x1"].grad == pytest.approx(-3.0 * slope, abs=1e-12)  # w1 * slope
    assert g["w1"].grad == pytest.approx(2.0 * slope, abs=1e-12)  # x1 * slope
    assert g["x2"].grad == pytest.approx(1.0 * slope, abs=1e-12)
    assert g["w2"].grad == 0.0
    assert g["b"].grad == pytest.approx(slope, abs=1e-12)


TORCH_CASES = [
    "tanh(x*w + y*v + b)",
    "exp(x) * log(y) - sqrt(z) / abs(x - 2)",
    "sigmoid(x) + relu(y - 1) + relu(-y) + softplus(z) + sin(x) * cos(y)",
    "x**2 + 2**x + x**y + -x + +y - 3/z + x**-1.5",
    "(x - y) / (z + 1.5) ** 0.5 - -(w*v)",
]


@pytest.mark.parametrize("expression", TORCH_CASES)
def test_values_and_gradients_match_pytorch(expression):
    torch = pytest.importorskip("torch")  # installed here and by the set-up; the skip is for odd machines
    point = {"x": 0.7, "y": 1.3, "z": 2.1, "w": -0.4, "v": 0.9, "b": 0.25}
    names = set(re.findall(r"[a-z_]\w*", expression)) - FUNCTIONS.keys()
    expr = parse_expression(expression, {name: point[name] for name in names})
    expr.root.backward()
    tensors = {k: torch.tensor(point[k], dtype=torch.float64, requires_grad=True) for k in expr.variables}
    functions = {
        "tanh": torch.tanh, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
        "sigmoid": torch.sigmoid, "relu": torch.relu, "softplus": torch.nn.functional.softplus,
        "sin": torch.sin, "cos": torch.cos,
    }
    # The test's own fixed text, evaluated by Python on tensors: the independent answer.
    expected = eval(expression, {"__builtins__": {}}, {**functions, **tensors})
    expected.backward()
    assert expr.root.data == pytest.approx(expected.item(), rel=1e-13, abs=1e-15)
    for name, leaf in expr.variables.items():
        assert leaf.grad == pytest.approx(tensors[name].grad.item(), rel=1e-12, abs=1e-14), name


def test_every_function_of_the_brief_is_there():
    brief = {"exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs", "softplus", "sin", "cos"}
    assert brief <= FUNCTIONS.keys() and "neg" not in FUNCTIONS  # -x is written as such
    assert FUNCTIONS["relu"](Value(-2.0)).data == 0.0 and FUNCTIONS["abs"](Value(-2.0)).data == 2.0


def test_a_number_exponent_or_base_has_no_slope_of_its_own():
    square = parse_expression("x**2", "x=-3")
    square.root.backward()  # at x < 0: a Value exponent would ask for log(-3)
    assert (square.root.data, square.variables["x"].grad) == (9.0, -6.0)
    power = parse_expression("2**x", "x=3")
    power.root.backward()
    assert power.root.data == 8.0 and power.variables["x"].grad == pytest.approx(8 * math.log(2), rel=1e-15)
    constant = parse_expression("2**3 * -2", "")
    assert constant.root.data == -16.0 and constant.variables == {}


@pytest.mark.parametrize(
    "expression, value, slope, constant_text",
    [
        ("x**(1+1)", 9.0, -6.0, "1+1"),  # as x**2: 2x
        ("x**(2*1)", 9.0, -6.0, "2*1"),
        ("x**(4/2)", 9.0, -6.0, "4/2"),
        ("x**exp(0)", -3.0, 1.0, "exp(0)"),  # x**1
        ("x**-(1+1)", 1 / 9, 2 / 27, "-(1+1)"),  # -2 x**-3
        ("(1+1)**x", 0.125, 0.125 * math.log(2), "1+1"),  # 2**x ln 2
    ],
)
def test_a_constant_sub_expression_is_a_number_like_a_literal(expression, value, slope, constant_text):
    expr = parse_expression(expression, "x=-3")
    expr.root.backward()  # a Value in the exponent would ask for log(-3)
    assert expr.root.data == pytest.approx(value, rel=1e-15)
    assert expr.variables["x"].grad == pytest.approx(slope, rel=1e-15)
    if expr.root._prev == (expr.variables["x"],):  # x ** number: one node over x, as x ** 2 is
        assert expr.root._op == f"**{float(eval(constant_text, {'exp': math.exp}))}"
    else:
        constant = next(v for v in expr.root._prev if v is not expr.variables["x"])
        assert constant._prev == () and constant.label == constant_text  # one leaf, labelled with its text


def test_errors_in_constant_sub_expressions_still_say_where():
    with pytest.raises(ZeroDivisionError, match=r"\(at column 5: 1/0\)"):
        parse_expression("x + 1/0", "x=1")
    with pytest.raises(OverflowError, match=r"\(at column 5: exp\(1000\)\)"):
        parse_expression("x + exp(1000)", "x=1")


def test_a_variable_used_twice_is_one_node_whose_gradient_adds_up():
    expr = parse_expression("x*x + x", "x=3")
    expr.root.backward()
    assert expr.variables["x"].grad == 7.0  # 2x + 1
    assert [v.label for v in all_values(expr.root)].count("x") == 1


def test_nodes_are_labelled_with_their_text():
    expr = parse_expression("tanh(x1*w1  +  x2*w2 + b) * 2.50", "x1=1,w1=1,x2=1,w2=1,b=1")
    labels = {v.label for v in all_values(expr.root)}
    assert {"x1", "w1", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "x1*w1 + x2*w2 + b", "tanh(x1*w1 + x2*w2 + b)"} <= labels
    assert "2.50" in labels  # a literal keeps its text
    assert expr.root.label == "tanh(x1*w1 + x2*w2 + b) * 2.50"
    power = parse_expression("y ** -2", "y=2")
    assert [v.label for v in power.root._prev] == ["y"] and power.root._op == "**-2.0"  # x ** k is one node
    long = parse_expression("a + " * 20 + "a", "a=1")
    assert long.root.label == ("a + " * 20)[:29] + "..." and long.root.data == 21.0


def test_line_breaks_are_blanks_and_unicode_names_count_as_one_column():
    expr = parse_expression("(x +\n   y)", "x=1,y=2")
    assert expr.root.data == 3.0 and expr.root.label == "x + y"
    with pytest.raises(ExpressionError, match="attribute access is not allowed at column 5 "):
        parse_expression("α + x.y", "α=1,x=1")


@pytest.mark.parametrize(
    "expression, problem, column",
    [
        ("__import__('os')", "unknown function '__import__'; the functions are abs, cos, exp", 1),
        ("__import__('os').system('ls')", 'unknown function "__import__(\'os\').system"', 1),
        ("x.__class__", "attribute access is not allowed", 1),
        ("2 * x.__class__.__bases__", "attribute access is not allowed", 5),
        ("lambda: 1", "a lambda is not allowed", 1),
        ("(lambda x: x)(1)", "unknown function 'lambda x: x'", 1),
        ("foo(x)", "unknown function 'foo'", 1),
        ("tanh(x)(x)", "unknown function 'tanh(x)'", 1),
        ("x[0]", "indexing is not allowed", 1),
        ("x if x else x", "an if-expression is not allowed", 1),
        ("x < 2", "a comparison is not allowed", 1),
        ("x and x", "'and'/'or' is not allowed", 1),
        ("'abc'", "text 'abc' is not allowed", 1),
        ("True + x", "True is not a number", 1),
        ("x + 1j", "complex number 1j is not allowed", 5),
        ("x // 2", "operator // is not supported (use + - * / **)", 3),
        ("(x) % 2", "operator % is not supported", 5),
        ("~x", "operator ~ is not supported", 1),
        ("not x", "operator not is not supported", 1),
        ("tanh(x, x)", "tanh() takes exactly one argument", 1),
        ("exp()", "exp() takes exactly one argument", 1),
        ("log(x=1)", "log() takes exactly one argument", 1),
        ("sin(*x)", "sin() takes exactly one argument", 1),
        ("tanh + x", "tanh is a function: call it, as in tanh(x)", 1),
        ("(y := 1) + x", "an assignment (:=) is not allowed", 2),
        ("[x]", "a list is not allowed", 1),
        ("f'{x}'", "an f-string is not allowed", 1),
        ("x +", "syntax error: invalid syntax", 4),
        ("  tanh(x", "syntax error: '(' was never closed", 7),
        ("x)+(x", "syntax error: unmatched ')'", 2),
        ("x $ x", "syntax error: invalid syntax", 3),
        ("1e999 * x", "number too large for a float", 1),
    ],
)
def test_refused_with_a_one_line_message_at_the_right_column(expression, problem, column):
    with pytest.raises(ExpressionError) as refused:
        parse_expression(expression, "x=1")
    message = str(refused.value)
    assert isinstance(refused.value, ValueError) and "\n" not in message
    assert problem in message
    assert f" at column {column} in " in message and refused.value.column == column


def test_the_caret_points_at_the_problem():
    with pytest.raises(ExpressionError) as refused:
        parse_expression("tanh(x) // 2", "x=1")
    assert refused.value.caret == "tanh(x) // 2\n        ^"


def test_nothing_is_ever_run(tmp_path):
    marker = tmp_path / "ran"
    for attack in [
        f"__import__('os').system('touch {marker}')",
        f"x.__class__.__init__.__globals__['os'].system('touch {marker}')",
        "[c for c in ().__class__.__base__.__subclasses__()]",
    ]:
        with pytest.raises(ExpressionError):
            parse_expression(attack, "x=1")
    assert not marker.exists()


def test_empty_and_too_deep_expressions():
    for empty in ["", "   ", "\n"]:
        with pytest.raises(ExpressionError, match="empty expression"):
            parse_expression(empty)
    deep = "x" + " + x" * 1500  # deeper than Python's recursion limit: built with a stack
    expr = parse_expression(deep, "x=1")
    expr.root.backward()
    assert expr.root.data == 1501.0 and expr.variables["x"].grad == 1501.0
    with pytest.raises(ExpressionError) as refused:
        parse_expression("+".join(["x"] * 20_000), "x=1")
    assert "nested too deeply" in str(refused.value) and len(str(refused.value)) < 200


def test_missing_and_unused_variables_are_listed():
    with pytest.raises(ExpressionError, match=r"no value for b, c \(give each one, e\.g\. b=1\.0,c=1\.0\)"):
        parse_expression("a*b + c*a", "a=1")
    with pytest.raises(ExpressionError, match="a value for y, z, which the expression does not use"):
        parse_expression("x", "x=1,y=2,z=3")
    with pytest.raises(ExpressionError, match=r"^no value for b \(give each one, e\.g\. b=1\.0\); a value for z, which"):
        parse_expression("a*b", "a=1,z=3")


def test_errors_of_the_math_say_where():
    with pytest.raises(ValueError, match=r"log\(-1\.0\): log needs a positive number \(at column 5: log\(x\)\)"):
        parse_expression("1 + log(x)", "x=-1")
    with pytest.raises(ZeroDivisionError, match=r"division by zero.*\(at column 1: 1/x\)"):
        parse_expression("1/x", "x=0")
    with pytest.raises(OverflowError, match="at column 1: 10.0\\*\\*400"):
        parse_expression("10.0**400 * x", "x=1")


def test_assignments():
    assert parse_assignments("") == {}
    assert parse_assignments(" x1=2 ,x2 = -0.5,b=6.8813735870195432, big=1e3") == {
        "x1": 2.0, "x2": -0.5, "b": 6.8813735870195432, "big": 1000.0
    }
    assert parse_expression("x*y", {"x": 2, "y": 3.5}).root.data == 7.0


@pytest.mark.parametrize(
    "text, problem, column",
    [
        ("x1", "expected name=number, got 'x1'", 1),
        ("x1=2,,x2=3", "expected name=number, got ''", 6),
        ("x1=2, x2=oops", "x2 needs a number, got 'oops'", 10),
        ("x=", "x needs a number, got ''", 3),
        ("1x=2", "'1x' is not a variable name", 1),
        ("x=1, lambda=2", "'lambda' is not a variable name", 6),
        ("x=1,tanh=2", "'tanh' is not a variable name (it is a function)", 5),
        ("x=1,x=2", "x is given twice", 5),
        ("x=nan", "x needs a finite number, got 'nan'", 3),
        ("x=-inf", "x needs a finite number, got '-inf'", 3),
    ],
)
def test_bad_assignments_point_at_the_problem(text, problem, column):
    with pytest.raises(ExpressionError) as refused:
        parse_assignments(text)
    assert str(refused.value) == f"{problem} at column {column} in {text!r}"


def test_bad_values_in_a_mapping():
    with pytest.raises(TypeError, match="the value of x must be a finite number, got str"):
        parse_expression("x", {"x": "2"})
    with pytest.raises(TypeError, match="values must be a mapping"):
        parse_expression("x", [("x", 2.0)])
    with pytest.raises(ValueError, match="the value of x must be a finite number"):
        parse_expression("x", {"x": math.inf})
    with pytest.raises(TypeError, match="expression must be text"):
        parse_expression(3)
    # the names of a mapping are judged as in text: a keyword, a function or a non-name is refused
    for name, why in (("1x", ""), ("lambda", ""), ("tanh", r" \(it is a function\)"), (3, "")):
        with pytest.raises(ExpressionError, match=f"^{name!r} is not a variable name{why} in "):
            parse_expression("x", {name: 1.0})


def test_long_expressions_give_short_messages():
    text = " + ".join(f"x{i}" for i in range(200)) + " + y.z"
    with pytest.raises(ExpressionError) as refused:
        parse_expression(text, "")
    message = str(refused.value)
    assert message.startswith(f"attribute access is not allowed at column {len(text) - 2} in '...")
    assert message.endswith("x199 + y.z'") and len(message) < 140
