"""A tiny calculator service: the demo's code under review."""


def add(a: float, b: float) -> float:
    return a + b


def divide(a: float, b: float) -> float:
    return a / b  # no check for zero


def evaluate(expression: str) -> float:
    """Evaluate a user-supplied arithmetic expression."""
    return eval(expression)  # noqa: S307 - the reviewer should flag this
