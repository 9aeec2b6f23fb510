"""Every result a student carrying 4 significant figures can reach, as an interval.

The student's rule: every number the working writes down (each entry of Z1, A1, Z2,
each exp, P, log, dZ2, dA1, activation slope, dZ1, dW, db) is rounded to 4 significant
figures; what happens between two written numbers (a sum of products, 1 / (1 + exp(-z)))
is one step on a calculator. A :class:`Span` [lo, hi] is worked like a number: each
operation's result over the operands' spans rounded outward at 30 digits, and
:meth:`Span.written` rounds a span outward to 4 figures. Rounding to nearest is
monotone (x in [lo, hi] rounds into [round_down(lo), round_up(hi)]), so the student's
number is inside the span at every step.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

FIGURES = 4
_DOWN = Context(prec=30, rounding=ROUND_FLOOR)
_UP = Context(prec=30, rounding=ROUND_CEILING)
_FINE = Context(prec=30)
_WRITTEN_DOWN = Context(prec=FIGURES, rounding=ROUND_FLOOR)
_WRITTEN_UP = Context(prec=FIGURES, rounding=ROUND_CEILING)


class Span:
    """The interval [lo, hi] of 4-figure results (``Decimal`` ends)."""

    __slots__ = ("hi", "lo")

    def __init__(self, lo: Decimal, hi: Decimal) -> None:
        self.lo, self.hi = lo, hi

    @classmethod
    def of(cls, value) -> Span:
        return value if isinstance(value, Span) else cls(Decimal(value), Decimal(value))

    def _monotone(self, f) -> Span:  # f increasing, evaluated finely, rounded outward
        return Span(_DOWN.plus(f(self.lo)), _UP.plus(f(self.hi)))

    def _combine(self, other, down, up) -> Span:
        if not isinstance(other, Span | Decimal | int):
            return NotImplemented  # an array: numpy applies it entry by entry
        other = Span.of(other)
        pairs = [(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Span(min(down(a, b) for a, b in pairs), max(up(a, b) for a, b in pairs))

    def __add__(self, other) -> Span:
        if not isinstance(other, Span | Decimal | int):
            return NotImplemented
        other = Span.of(other)
        return Span(_DOWN.add(self.lo, other.lo), _UP.add(self.hi, other.hi))

    __radd__ = __add__

    def __neg__(self) -> Span:
        return Span(-self.hi, -self.lo)

    def __sub__(self, other) -> Span:
        return self + -Span.of(other)

    def __rsub__(self, other) -> Span:
        return Span.of(other) + -self

    def __mul__(self, other) -> Span:
        return self._combine(other, _DOWN.multiply, _UP.multiply)

    __rmul__ = __mul__

    def __truediv__(self, other) -> Span:  # denominators here never contain 0
        return self._combine(other, _DOWN.divide, _UP.divide)

    def __rtruediv__(self, other) -> Span:
        return Span.of(other) / self

    def __pow__(self, power: int) -> Span:  # a square, written as r * r
        assert power == 2
        low = Decimal(0) if self.lo <= 0 <= self.hi else min(abs(self.lo), abs(self.hi))
        top = max(abs(self.lo), abs(self.hi))
        return Span(_DOWN.multiply(low, low), _UP.multiply(top, top))

    def __lt__(self, other) -> bool:  # by midpoint: only to pick softmax's shift
        other = Span.of(other)
        return self.lo + self.hi < other.lo + other.hi

    def __gt__(self, other) -> bool:
        return Span.of(other) < self

    def __ge__(self, other) -> bool:
        return not self < other

    def __le__(self, other) -> bool:
        return not self > other

    @staticmethod
    def total(terms: list[Span]) -> Span:
        """A sum of terms, on a calculator."""
        lo = hi = Decimal(0)
        for t in terms:
            lo, hi = _DOWN.add(lo, t.lo), _UP.add(hi, t.hi)
        return Span(lo, hi)

    def written(self) -> Span:
        """The span of this number once written down to 4 significant figures."""
        return Span(_WRITTEN_DOWN.plus(self.lo), _WRITTEN_UP.plus(self.hi))

    def exp(self) -> Span:
        return self._monotone(_FINE.exp)

    def ln(self) -> Span:
        return self._monotone(_FINE.ln)

    def tanh(self) -> Span:
        def tanh(d: Decimal) -> Decimal:
            e = _FINE.exp(_FINE.multiply(-2, abs(d)))
            return (1 - e) / (1 + e) * (1 if d >= 0 else -1)

        return self._monotone(tanh)

    def relu(self) -> Span:
        return Span(max(self.lo, Decimal(0)), max(self.hi, Decimal(0)))

    def relu_slope(self) -> Span:  # 0 or 1; both where a kink is within reach
        return Span(Decimal(self.lo > 0), Decimal(self.hi > 0))

    def distance(self, exact: float) -> float:
        """How far the span reaches from ``exact``."""
        return max(abs(float(self.hi) - exact), abs(exact - float(self.lo)))
