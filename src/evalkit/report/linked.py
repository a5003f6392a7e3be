"""Counts linked across a whole publication, and the suppression that keeps them hidden.

A reader who holds every report of a run (the municipality reports, the status
report, the round comparison, the index) holds many counts that are tied to
each other: the change bands of a municipality add up to its number of persons
with a measured progression, and the three bands from one hour up add up to
success criterion 3's numerator (its share times its n); the municipalities'
numbers at risk under the survival curves add up to their round's and the
project's; the Cox model's level counts add up to its number of persons. Table
by table suppression does not see these links. `LinkedCounts` collects every
such count of a run as a variable with its true value and how it is published,
and every link as a linear equation; then, before any report renders,

- every hidden count of 1 to threshold-1 is bounded by integer linear
  programming (`scipy.optimize.milp`: its smallest and largest value subject to
  the equations and to what the published symbols tell: a shown count is
  itself, ``<5`` is 1 to threshold-1, ``x`` is at least threshold, a count
  that is not published at all is at least 0);
- a hidden count with a single possible value is disclosed (a ``<5``, or a
  count no report shows, e.g. the part of a municipality's count in one of its
  rounds), and so is an ``x`` whose range lies within 1 to threshold-1 (it
  would tell what ``x`` promises not to: a count of 1 to threshold-1). A range
  within 1 to threshold-1 of a ``<5`` or of an unpublished sum of ``<5`` cells
  and zeros tells nothing ``<5`` does not publish anyway;
- while something is disclosed, one more shown count of the same connected
  system is hidden (secondary suppression): the smallest one whose hiding frees
  the disclosed count (least information lost: bands and numbers at risk before
  population counts, whose hiding hides the statistics computed from them, then
  neighbours in an equation first, then by value; ties by key, so deterministic),
  else, when the disclosed count is a ``<5`` pinned by what the other ``<5``
  tell (four ``<5`` that add up to a ``<5`` are all 1), it is shown as ``x``
  instead (which does not say that it is small), else the smallest shown count
  is hidden and the search goes on. Counts marked `fixed` (a reader can count them in a
  figure, or hiding them would hide a statistic decided elsewhere) are never
  chosen.

How the search stays fast (a run holds a few thousand linked counts): a count
is proved safe by one whole-number solution of the system, a *witness*, in
which it takes another value than its own (or, for an ``x``, 0 or at least
threshold). Every solution the solver returns is kept as a witness for every
count it moves, and hiding a count only widens what a reader can work out, so a
witness stays valid while more is hidden (each is checked against the current
symbols before use). A count is solved only where no witness frees it, and then
only over the counts connected to it through hidden ones (shown counts are
constants, so the system falls apart into small pieces); the linear relaxation
(HiGHS) is solved first and the integer programme only where its optimum is not
whole. What is hidden is exactly what an integer programme per count and
direction decides (`tests/test_linked.py` checks hand-made systems by brute
force, and the suppression audit reads the published files with its own
reader).

`evalkit.report.publication.decide_publication` builds the system of a report
context and returns the `Decision` the reports read.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix

from evalkit.report import lp
from evalkit.report import suppression as sup

_CAP = 1e7  # stands for "no bound above" in the integer programmes (far above any count)
UNPUBLISHED = 3  # a count no report shows; a reader knows only that it is a whole number >= 0


class LinkedCounts:
    """Counts (variables with true values and a published state) and the linear equations between them."""

    def __init__(self, threshold: int = sup.THRESHOLD):
        self.threshold = int(threshold)
        self.value: dict = {}
        self.state: dict = {}
        self.fixed: set = set()
        self.cost: dict = {}
        self.equations: list[tuple[dict, float]] = []
        self._eqs_of: dict = {}  # key -> indices of the equations it appears in
        self._witnesses: list[dict] = []  # solutions of the system: {key: value} where it differs from the truth
        self._witnesses_of: dict = {}  # key -> indices of the witnesses that move it
        self._matrix = None  # (sparse equations x counts, count -> column, true values, right sides), built once
        self.stats = {"solves": 0, "lp": 0, "milp": 0, "seconds": 0.0}

    # --- building -------------------------------------------------------------------

    def add(self, key, value, published: bool = True, hidden: bool = False, fixed: bool = False,
            cost: int = 1) -> None:
        """A count. Published ones are shown, or ``<5`` when 1 to threshold-1, or ``x`` when `hidden`.

        `cost` ranks what hiding it loses: a population count (hiding it hides the shares, means and
        verdicts computed from it) costs more than a band or a number at risk.
        """
        if key in self.value:
            raise ValueError(f"count {key!r} added twice")
        v = int(value)
        self.value[key] = v
        if not published:
            self.state[key] = UNPUBLISHED
        elif fixed and not hidden:
            self.state[key] = sup.SHOWN  # e.g. dots a reader can count, small or not
        elif sup.is_small(v, self.threshold):
            self.state[key] = sup.PRIMARY
        else:
            self.state[key] = sup.SECONDARY if hidden else sup.SHOWN
        if fixed and published:
            self.fixed.add(key)
        self._eqs_of[key] = []
        self.cost[key] = cost
        self._matrix = None

    def equal(self, total, parts) -> bool:
        """total = sum(parts), added only when the true values agree (a link that does not hold in
        the data is no link a reader could use). Keys not added are ignored (the equation is dropped)."""
        keys = [total, *parts]
        if any(k not in self.value for k in keys) or not parts:
            return False
        if self.value[total] != sum(self.value[p] for p in parts):
            return False
        coef: dict = {}
        for p in parts:
            coef[p] = coef.get(p, 0.0) + 1.0
        coef[total] = coef.get(total, 0.0) - 1.0
        coef = {k: c for k, c in coef.items() if c}
        for k in coef:
            self._eqs_of[k].append(len(self.equations))
        self.equations.append((coef, 0.0))
        self._witnesses, self._witnesses_of = [], {}  # a new equation: old solutions may not solve it
        self._matrix = None
        return True

    # --- what a reader can work out ----------------------------------------------------

    def reader_bounds(self, key) -> tuple[float, float]:
        s, v, t = self.state[key], self.value[key], self.threshold
        if s == sup.SHOWN:
            return v, v
        if s == sup.PRIMARY:
            return 1, t - 1
        if s == sup.SECONDARY:
            return (t if v >= t else 0), math.inf
        return 0, math.inf

    def _piece(self, key) -> tuple[list, list]:
        """The hidden counts connected to `key` through equations over hidden counts, and those
        equations (shown counts are constants: they do not connect)."""
        keys, eqs, stack = {key}, set(), [key]
        while stack:
            for e in self._eqs_of[stack.pop()]:
                if e in eqs:
                    continue
                eqs.add(e)
                for k in self.equations[e][0]:
                    if k not in keys and self.state[k] != sup.SHOWN:
                        keys.add(k)
                        stack.append(k)
        return sorted(keys, key=repr), sorted(eqs)

    def _moves(self, key, x) -> bool:
        """True when `x`, a value of `key` in some solution, shows that `key` is not disclosed."""
        if self.state[key] == sup.SECONDARY:
            return x <= 0 or x >= self.threshold
        return x != self.value[key]

    def _valid(self, witness: dict) -> bool:
        for k, x in witness.items():
            lo, hi = self.reader_bounds(k)
            if not lo <= x <= hi:
                return False
        return True

    def _freed_by_witness(self, key) -> bool:
        return any(self._moves(key, self._witnesses[i][key]) and self._valid(self._witnesses[i])
                   for i in self._witnesses_of.get(key, ()))

    def _keep(self, free: list, x: np.ndarray, eqs: list) -> None:
        """Keep a whole-number solution over `free` as a witness, after checking it exactly."""
        values = {k: int(v) for k, v in zip(free, np.round(x))}
        for e in eqs:
            coef, rhs = self.equations[e]
            if round(sum(c * values.get(k, self.value[k]) for k, c in coef.items())) != rhs:
                return  # rounding broke an equation: no witness (the optimum found still bounds the count)
        moved = {k: v for k, v in values.items() if v != self.value[k]}
        if moved and self._valid(moved):
            for k in moved:
                self._witnesses_of.setdefault(k, []).append(len(self._witnesses))
            self._witnesses.append(moved)

    def _extreme(self, key, sign: float, free: list, eqs: list) -> float:
        """The smallest (sign 1) or largest (sign -1) whole value of `key` over the system of `free`."""
        start = time.perf_counter()
        a, rhs, lo, hi = self._system(free, eqs)
        rows = len(rhs) > 0
        hi = np.minimum(hi, _CAP)  # no bound above is a large one: HiGHS never answers "infeasible or unbounded"
        goal = np.zeros(len(free))
        goal[free.index(key)] = sign
        v = self.value[key]
        self.stats["solves"] += 1
        try:
            # the linear relaxation first: its optimum bounds the whole-number one, and a whole
            # optimum is the whole-number optimum itself
            self.stats["lp"] += 1
            found = lp.minimize(goal, a if rows else None, rhs if rows else None, lo, hi)
            if found is not None:
                fun, x = found
                best = sign * fun
                if (sign < 0 and best < v + 1 - 1e-6) or (sign > 0 and best > v - 1 + 1e-6):
                    return v  # no whole value beyond the count's own on that side
                if np.all(np.abs(x - np.round(x)) < 1e-6):
                    self._keep(free, x, eqs)
                    return self._cap(sign * round(fun))
            self.stats["milp"] += 1
            cons = [LinearConstraint(a, rhs, rhs)] if rows else []
            res = milp(goal, constraints=cons, integrality=np.ones(len(free)), bounds=Bounds(lo, hi))
            if res.status != 0:  # the true values solve the system: a failure is a solver limit, assume the worst
                return v
            self._keep(free, res.x, eqs)
            return self._cap(sign * round(res.fun))
        finally:
            self.stats["seconds"] += time.perf_counter() - start

    @staticmethod
    def _cap(value: float) -> float:
        return math.inf if value >= _CAP / 2 else value

    def ranges(self, key, early: bool = False) -> tuple[float, float]:
        """Smallest and largest whole value of `key` a reader can work out (integer programming).

        `early`: stop after the largest value when it already shows the count is not disclosed
        (the smallest is then given as -inf).
        """
        if self.state[key] == sup.SHOWN:
            return self.value[key], self.value[key]
        free, eqs = self._piece(key)
        # the largest value first: most hidden counts can exceed their true value, and then the
        # smallest is not needed to see that they are not disclosed. (Bounds by interval propagation
        # over the equations, tried before each solve, cost more than the solves they saved: on the
        # national sample the decision took 19.3 s with them and 9.4 s without, the same decision.)
        high = self._extreme(key, -1.0, free, eqs)
        if early and self._moves(key, high):
            return -math.inf, high  # (the smallest value is not worked out)
        return self._extreme(key, 1.0, free, eqs), high

    def _system(self, free: list, eqs: list):
        """The equations over `free` (shown counts moved to the right side) and the reader's bounds."""
        if self._matrix is None:  # every equation as one sparse matrix over every count, built once
            ids = {k: i for i, k in enumerate(self.value)}
            cells = [(e, ids[k], c) for e, (coef, _b) in enumerate(self.equations) for k, c in coef.items()]
            e_idx, k_idx, c = zip(*cells) if cells else ((), (), ())
            self._matrix = (csr_matrix((c, (e_idx, k_idx)), shape=(len(self.equations), len(ids))), ids,
                            np.array(list(self.value.values()), float),
                            np.array([b for _coef, b in self.equations], float))
        matrix, ids, values, rhs = self._matrix
        cols = np.array([ids[k] for k in free])
        rows = matrix[np.array(eqs, int)]
        fixed = values.copy()
        fixed[cols] = 0.0
        a = rows[:, cols].toarray()
        r = rhs[np.array(eqs, int)] - rows @ fixed
        keep = a.any(1)
        lo, hi = zip(*(self.reader_bounds(k) for k in free))
        return a[keep], r[keep], np.array(lo, float), np.array(hi, float)

    def _is_disclosed(self, key, lo, hi) -> bool:
        """An `x` whose range lies within 1..threshold-1, or any other hidden count with one value."""
        if self.state[key] == sup.SECONDARY:
            return lo >= 1 and hi <= self.threshold - 1
        return lo == hi

    def _check(self, key) -> bool:
        """True when `key` is disclosed: no witness frees it, nor its smallest or largest value."""
        if self._freed_by_witness(key):
            return False
        return self._is_disclosed(key, *self.ranges(key, early=True))

    def disclosed(self, among=None) -> list:
        """Hidden counts of 1 to threshold-1 that a reader can pin (see the module docstring), in key order.

        `among` limits the check to those keys. Hiding a count only widens what a reader can
        work out, so a count found safe stays safe while more is hidden.
        """
        t = self.threshold
        keys = sorted(self.value if among is None else among, key=repr)
        return [k for k in keys if self.state[k] != sup.SHOWN and 0 < self.value[k] < t and self._eqs_of[k]
                and self._check(k)]

    def protect(self, max_tries: int = 8) -> int:
        """Secondary suppression until nothing is disclosed; returns the number of counts hidden."""
        hidden = 0
        for target in self.disclosed():
            disclosed = self._check(target)  # an earlier target's protection may have freed it
            while disclosed:
                step, disclosed = self._hide_one(target, max_tries)
                if not step:
                    break  # an "x" everything around is hidden or fixed: it reads as small, never as a value
                hidden += step
        return hidden

    def _component(self, target) -> list:
        """Every count tied to `target` through equations, shown ones included."""
        keys, eqs, stack = {target}, set(), [target]
        while stack:
            for e in self._eqs_of[stack.pop()]:
                if e not in eqs:
                    eqs.add(e)
                    new = [k for k in self.equations[e][0] if k not in keys]
                    keys.update(new)
                    stack.extend(new)
        return list(keys)

    def _hide_one(self, target, max_tries: int) -> tuple[int, bool]:
        """Hide the shown count that frees `target` with least information lost (see the module
        docstring); returns (counts hidden, whether `target` is still disclosed)."""
        neighbours = {k for e in self._eqs_of[target] for k in self.equations[e][0]}
        candidates = sorted((k for k in self._component(target) if self.state[k] == sup.SHOWN
                             and k not in self.fixed and self.value[k] > 0),
                            key=lambda k: (self.cost[k], k not in neighbours, self.value[k], repr(k)))
        tries = candidates[:max_tries]
        if tries and self._freed_by_any(target, tries):
            # the first try that frees it alone: the first one (the usual case), else by halves of
            # the rest (a group whose hiding frees nothing holds no try that frees it alone)
            k = tries[0] if len(tries) == 1 or self._freed_by_any(target, tries[:1]) else \
                self._first_alone(target, tries[1:])
            if k is not None:
                self.state[k] = sup.SECONDARY
                return 1, False
        if self.state[target] == sup.PRIMARY:
            # what the "<5" cells tell pins it by itself (four "<5" adding up to a "<5" are all 1):
            # show it as "x", which does not say the count is small
            self.state[target] = sup.SECONDARY
            still = self._check(target)
            if not still or not candidates:
                return 1, still
            self.state[target] = sup.PRIMARY
        if not candidates:
            return 0, True
        # no try frees it alone (candidates[0] among them): hide the first and search on
        self.state[candidates[0]] = sup.SECONDARY
        return 1, True

    def _first_alone(self, target, group: list):
        """The first count of `group` whose hiding alone frees `target`, or None."""
        if not group or not self._freed_by_any(target, group):
            return None
        if len(group) == 1:
            return group[0]
        half = len(group) // 2
        found = self._first_alone(target, group[:half])
        return found if found is not None else self._first_alone(target, group[half:])

    def _freed_by_any(self, target, tries: list) -> bool:
        """Whether hiding all of `tries` at once frees `target`: when it does not, hiding any one of
        them does not either (hiding only widens what a reader can work out), and the trials one by
        one are skipped."""
        for k in tries:
            self.state[k] = sup.SECONDARY
        try:
            return not self._check(target)
        finally:
            for k in tries:
                self.state[k] = sup.SHOWN

    def code(self, key) -> int:
        """SHOWN / PRIMARY / SECONDARY as a mask code (an unpublished count reads as SECONDARY)."""
        s = self.state[key]
        return sup.SECONDARY if s == UNPUBLISHED else s
