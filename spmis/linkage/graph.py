"""Graphs of records and their joins (links, shared national IDs): the components of the whole
registry (set-wise, sparse), and, on the small graph of one identity, which records its joins
hold together and the smallest set of joins to cut so that two of its records part.

Pure functions; the services load the graphs and store what is decided. Pairs are ``(lower
id, higher id)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Pair = tuple[int, int]


def pair(a: int, b: int) -> Pair:
    return (a, b) if a < b else (b, a)


def components(nodes: Iterable[int], edges: Iterable[Pair]) -> dict[int, int]:
    """Each node's component, named by its lowest node."""
    parent = {n: n for n in nodes}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: root(n) for n in parent}


def groups(labels: Mapping[int, int]) -> tuple[tuple[int, ...], ...]:
    """The components as sorted tuples of their nodes, the one with the lowest node first."""
    found: dict[int, list[int]] = {}
    for node, label in labels.items():
        found.setdefault(label, []).append(node)
    return tuple(tuple(sorted(members)) for _label, members in sorted(found.items()))


def min_cut(strength: Mapping[Pair, int], source: int, sink: int) -> list[Pair]:
    """The fewest joins whose removal parts ``source`` from ``sink``; among as few, those of
    least total ``strength`` (a positive whole number per join: the weaker, the sooner cut).

    Each join's capacity is ``big + strength`` with ``big`` above the sum of all strengths,
    so a maximum flow's cut counts joins first and strength second. Of the cuts that tie, the
    one nearest ``source`` is returned: the records reachable from ``source`` in the residual
    graph are the same for every maximum flow, so the answer does not depend on the order in
    which paths were found. Removing the cut leaves exactly two components (both sides of a
    minimum cut are connected), and restoring any one of its joins joins them again.
    """
    if source == sink:
        raise ValueError("A record cannot be parted from itself.")
    big = sum(strength.values()) + 1
    residual: dict[int, dict[int, int]] = {}
    for (a, b), weight in strength.items():
        if weight <= 0:
            raise ValueError(f"Join {a}-{b} has no strength.")
        residual.setdefault(a, {})[b] = residual.setdefault(a, {}).get(b, 0) + big + weight
        residual.setdefault(b, {})[a] = residual.setdefault(b, {}).get(a, 0) + big + weight
    if source not in residual or sink not in residual:
        return []
    while True:  # Edmonds-Karp: shortest augmenting paths, neighbours in id order
        before = _reachable(residual, source, sink)
        if sink not in before:
            break
        path, node = [], sink
        while node != source:
            path.append((before[node], node))
            node = before[node]
        flow = min(residual[u][v] for u, v in path)
        for u, v in path:
            residual[u][v] -= flow
            residual[v][u] += flow
    side = set(_reachable(residual, source, None))
    return sorted(p for p in strength if (p[0] in side) != (p[1] in side))


def _reachable(residual: dict[int, dict[int, int]], source: int,
               sink: int | None) -> dict[int, int]:
    """Breadth first from ``source`` along arcs with capacity left: each node reached and the
    node it was reached from (stops at ``sink``)."""
    before = {source: source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for other in sorted(residual[node]):
            if other not in before and residual[node][other] > 0:
                before[other] = node
                if other == sink:
                    return before
                queue.append(other)
    return before


def components_of(ids: pl.Series, edges: pl.DataFrame) -> np.ndarray:
    """Component label of each id (sparse graph, C speed: no loop over persons)."""
    index = pl.DataFrame({"id": ids, "i": np.arange(ids.len())})
    e = edges.join(index.rename({"id": "a", "i": "ia"}), on="a").join(
        index.rename({"id": "b", "i": "ib"}), on="b")
    n = ids.len()
    graph = coo_matrix((np.ones(e.height), (e["ia"].to_numpy(), e["ib"].to_numpy())),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels
