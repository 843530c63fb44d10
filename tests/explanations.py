"""A check shared by the tests of "why this result": the parts add up."""

from __future__ import annotations

from search.results import Explanation


def unbalanced(node: Explanation, tolerance: float = 1e-3) -> list[str]:
    """Every node of `node` whose parts do not add up to its value (within
    `tolerance`, relative to values above 1)."""
    bad = []
    if node.parts:
        total = sum(p.value for p in node.parts)
        if abs(total - node.value) > tolerance * max(1.0, abs(node.value)):
            bad.append(f"{node.label}: {node.value} != {total}")
        for p in node.parts:
            bad.extend(unbalanced(p, tolerance))
    return bad
