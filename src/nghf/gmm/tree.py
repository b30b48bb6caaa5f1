"""The phonetic decision tree: statistics, questions, greedy likelihood splitting, Kaldi I/O.

Kaldi's pip bindings can use a tree but not build one, so this module builds it:

* ``accumulate_tree_stats``: for every seen context-dependent state -- event
  (left phone, centre phone, right phone, pdf-class), phone 0 at utterance edges -- the
  count, sum and sum of squares of the aligned frames (Kaldi's ``acc-tree-stats``).
* ``cluster_phones``: automatic questions by top-down binary 2-means clustering of the
  ``sets.int`` phone sets on single-Gaussian statistics (Kaldi's ``cluster-phones``); every
  node of the cluster tree below the root is a question, plus ``extra_questions.int``.
* ``build_tree``: the roots of ``roots.int`` (a "shared" root asks about the pdf-class too,
  a "not-shared" root gets one sub-tree per pdf-class, "not-split" roots are never split);
  then the leaf whose best question gains the most log-likelihood is split, over all roots,
  until ``num_leaves`` leaves or no split gains more than ``thresh`` with ``min_count``
  frames on each side (Kaldi's ``build-tree``; its final leaf re-clustering is not done).
* ``to_kaldi``: the tree as a Kaldi ``ContextDependency`` (``SE``/``TE``/``CE`` event maps,
  binary), loaded through the binding so Kaldi itself maps contexts to pdf-ids.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nghf.gmm.align import TidInfo, split_phones
from nghf.gmm.lang import Root
from nghf.gmm.model import tree_from_bytes
from nghf.utils.atomic import atomic_path

LOG_2PI = math.log(2.0 * math.pi)
PDF_CLASS_KEY = -1
CONTEXT_WIDTH, CENTRAL_POSITION = 3, 1


@dataclasses.dataclass(frozen=True)
class TreeConfig:
    """``build-tree`` / ``cluster-phones`` options."""

    num_leaves: int = 2000
    min_count: float = 100.0  # frames each side of a split must have
    thresh: float = 0.0  # minimum log-likelihood gain of a split
    var_floor: float = 0.01
    cluster_pdf_classes: tuple[int, ...] = (1,)  # centre-phone states used to cluster phones


@dataclasses.dataclass
class TreeStats:
    """Per event (L, C, R, pdf-class): frame count, sum and sum of squares."""

    events: np.ndarray  # [K, 4] int64
    count: np.ndarray  # [K]
    sum: np.ndarray  # [K, D]
    sumsq: np.ndarray  # [K, D]

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, events=self.events, count=self.count, sum=self.sum, sumsq=self.sumsq)

    @classmethod
    def load(cls, path: str | Path) -> TreeStats:
        with np.load(path) as z:
            return cls(z["events"], z["count"], z["sum"], z["sumsq"])

    @classmethod
    def merge(cls, parts: Sequence[TreeStats]) -> TreeStats:
        """Sum statistics of the same events (from parallel jobs)."""
        events = np.concatenate([p.events for p in parts])
        uniq, inv = np.unique(events, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        d = parts[0].sum.shape[1]
        count, s, ss = np.zeros(len(uniq)), np.zeros((len(uniq), d)), np.zeros((len(uniq), d))
        np.add.at(count, inv, np.concatenate([p.count for p in parts]))
        np.add.at(s, inv, np.concatenate([p.sum for p in parts]))
        np.add.at(ss, inv, np.concatenate([p.sumsq for p in parts]))
        return cls(uniq, count, s, ss)


def pdf_class_of_tid(info: TidInfo, topo_states: dict[int, list]) -> np.ndarray:
    """pdf-class of every transition-id (self-loops use the state's self-loop pdf-class)."""
    out = np.full(len(info.pdf), -1, dtype=np.int64)
    for tid in range(1, len(info.pdf)):
        st = topo_states[int(info.phone[tid])][int(info.hmm_state[tid])]
        out[tid] = st.self_loop_pdf_class if info.is_self_loop[tid] else st.forward_pdf_class
    return out


def accumulate_tree_stats(items: Iterable[tuple[np.ndarray, np.ndarray]], info: TidInfo,
                          pdf_class: np.ndarray) -> TreeStats:
    """Tree statistics from (features, transition-ids) pairs of aligned utterances."""
    acc: dict[tuple[int, int, int, int], list] = {}
    for feats, tids in items:
        x = np.asarray(feats, dtype=np.float64)
        segs = split_phones(tids, info)
        phones = [p for p, _ in segs]
        t = 0
        for i, (phone, seg) in enumerate(segs):
            left = phones[i - 1] if i > 0 else 0
            right = phones[i + 1] if i + 1 < len(phones) else 0
            classes = pdf_class[seg]
            xs = x[t : t + len(seg)]
            t += len(seg)
            for c in np.unique(classes):
                xc = xs[classes == c]
                key = (left, phone, right, int(c))
                a = acc.get(key)
                if a is None:
                    acc[key] = [float(len(xc)), xc.sum(0), (xc * xc).sum(0)]
                else:
                    a[0] += len(xc)
                    a[1] += xc.sum(0)
                    a[2] += (xc * xc).sum(0)
    if not acc:
        raise ValueError("no aligned frames to accumulate tree statistics from")
    keys = sorted(acc)
    return TreeStats(np.array(keys, dtype=np.int64), np.array([acc[k][0] for k in keys]),
                     np.array([acc[k][1] for k in keys]), np.array([acc[k][2] for k in keys]))


def gauss_objf(count: np.ndarray, s: np.ndarray, ss: np.ndarray, var_floor: float) -> np.ndarray:
    """Log-likelihood of data under its own ML single diagonal Gaussian (vectorised over rows):
    -0.5 n (D log 2pi + sum_d log var_d + D), with the variance floored (Kaldi's
    GaussClusterable::Objf)."""
    count = np.atleast_1d(np.asarray(count, dtype=np.float64))
    s, ss = np.atleast_2d(s), np.atleast_2d(ss)
    out = np.zeros(count.shape)
    ok = count > 0
    n = count[ok][:, None]
    mean = s[ok] / n
    var = np.maximum(ss[ok] / n - mean**2, var_floor)
    d = s.shape[1]
    out[ok] = -0.5 * count[ok] * (d * LOG_2PI + np.log(var).sum(1) + d)
    return out


# ----------------------------------------------------------------------------- questions


def cluster_phones(stats: TreeStats, sets: Sequence[Sequence[int]], cfg: TreeConfig,
                   iters: int = 10) -> list[tuple[int, ...]]:
    """Automatic questions: top-down 2-means clustering of phone sets (all cluster nodes
    below the root, each a sorted phone tuple), from centre-phone statistics."""
    use = np.isin(stats.events[:, 3], cfg.cluster_pdf_classes)
    d = stats.sum.shape[1]
    set_stats = []
    for ph in sets:
        m = use & np.isin(stats.events[:, 1], ph)
        set_stats.append((stats.count[m].sum(), stats.sum[m].sum(0) if m.any() else np.zeros(d),
                          stats.sumsq[m].sum(0) if m.any() else np.zeros(d)))
    n = np.array([x[0] for x in set_stats])
    s = np.array([x[1] for x in set_stats]).reshape(len(sets), d)
    ss = np.array([x[2] for x in set_stats]).reshape(len(sets), d)
    questions: list[tuple[int, ...]] = []

    def objf(idx: list[int]) -> float:
        return float(gauss_objf(n[idx].sum(), s[idx].sum(0), ss[idx].sum(0), cfg.var_floor)[0])

    def recurse(idx: list[int], is_root: bool) -> None:
        if not is_root:
            questions.append(tuple(sorted(p for i in idx for p in sets[i])))
        if len(idx) < 2:
            return
        a, b = _two_means(idx, n, s, ss, objf, iters)
        recurse(a, False)
        recurse(b, False)

    recurse(list(range(len(sets))), True)
    return questions


def _two_means(idx, n, s, ss, objf, iters):
    """Split ``idx`` into two non-empty clusters by local likelihood-improving moves,
    starting from the split of the (count-weighted) means along their main direction."""
    means = s[idx] / np.maximum(n[idx], 1e-10)[:, None]
    centred = means - means.mean(0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0] if len(idx) > 1 else None
    proj = centred @ direction if direction is not None else np.zeros(len(idx))
    order = [idx[i] for i in np.argsort(proj, kind="stable")]
    half = len(order) // 2
    a, b = order[:half], order[half:]
    for _ in range(iters):
        moved = False
        for i in list(a) + list(b):
            src, dst = (a, b) if i in a else (b, a)
            if len(src) == 1:
                continue
            before = objf(src) + objf(dst)
            after = objf([j for j in src if j != i]) + objf(dst + [i])
            if after > before + 1e-9:
                src.remove(i)
                dst.append(i)
                moved = True
        if not moved:
            break
    return sorted(a), sorted(b)


def make_questions(stats: TreeStats, sets: Sequence[Sequence[int]],
                   extra: Sequence[Sequence[int]], cfg: TreeConfig) -> list[tuple[int, ...]]:
    """Automatic questions plus extra questions, deduplicated, in a stable order."""
    seen, out = set(), []
    for q in list(cluster_phones(stats, sets, cfg)) + [tuple(sorted(q)) for q in extra]:
        if q and q not in seen:
            seen.add(q)
            out.append(q)
    return out


# ----------------------------------------------------------------------------- the tree


@dataclasses.dataclass
class Node:
    """A tree node: a leaf (``pdf`` set after numbering) or a split on ``key``."""

    events: np.ndarray  # indices into the stats rows
    key: int | None = None
    yes_set: tuple[int, ...] = ()
    yes: Node | None = None
    no: Node | None = None
    pdf: int = -1

    def leaves(self) -> list[Node]:
        if self.key is None:
            return [self]
        assert self.yes is not None and self.no is not None
        return self.yes.leaves() + self.no.leaves()

    def lookup(self, event: dict[int, int]) -> int:
        node = self
        while node.key is not None:
            node = node.yes if event[node.key] in node.yes_set else node.no  # type: ignore[assignment]
        return node.pdf


@dataclasses.dataclass
class RootTree:
    """The tree(s) of one ``roots.int`` line: one node if shared, else one per pdf-class."""

    root: Root
    nodes: dict[int | None, Node]  # pdf-class -> node (None: shared over pdf-classes)


@dataclasses.dataclass
class DecisionTree:
    roots: list[RootTree]
    num_pdf_classes: dict[int, int]
    num_leaves: int
    log: list[str]

    def pdf(self, left: int, center: int, right: int, pdf_class: int) -> int:
        """pdf-id of a context, computed by this Python tree (checked against Kaldi's)."""
        event = {0: left, 1: center, 2: right, PDF_CLASS_KEY: pdf_class}
        for rt in self.roots:
            if center in rt.root.phones:
                node = rt.nodes[None] if rt.root.shared else rt.nodes[pdf_class]
                return node.lookup(event)
        raise KeyError(f"phone {center} is in no root of roots.int")


def _best_split(stats: TreeStats, node: Node, keys: dict[int, list[tuple[int, ...]]],
                cfg: TreeConfig) -> tuple[float, int, tuple[int, ...]] | None:
    ev = node.events
    n, s, ss = stats.count[ev], stats.sum[ev], stats.sumsq[ev]
    parent = float(gauss_objf(n.sum(), s.sum(0), ss.sum(0), cfg.var_floor)[0])
    best = None
    col_of = {0: 0, 1: 1, 2: 2, PDF_CLASS_KEY: 3}
    for key, questions in keys.items():
        vals = stats.events[ev, col_of[key]]
        uniq, inv = np.unique(vals, return_inverse=True)
        if len(uniq) < 2 or not questions:
            continue
        vn = np.zeros(len(uniq))
        vs = np.zeros((len(uniq), s.shape[1]))
        vss = np.zeros_like(vs)
        np.add.at(vn, inv, n)
        np.add.at(vs, inv, s)
        np.add.at(vss, inv, ss)
        member = np.array([np.isin(uniq, q) for q in questions], dtype=np.float64)
        yn, ys, yss = member @ vn, member @ vs, member @ vss
        nn, ns, nss = vn.sum() - yn, vs.sum(0) - ys, vss.sum(0) - yss
        ok = (yn >= cfg.min_count) & (nn >= cfg.min_count)
        if not ok.any():
            continue
        gain = gauss_objf(yn, ys, yss, cfg.var_floor) + gauss_objf(nn, ns, nss, cfg.var_floor) - parent
        gain[~ok] = -np.inf
        i = int(np.argmax(gain))
        if best is None or gain[i] > best[0] + 1e-9:
            best = (float(gain[i]), key, tuple(sorted(questions[i])))
    return best


def build_tree(stats: TreeStats, roots: Sequence[Root], questions: Sequence[tuple[int, ...]],
               num_pdf_classes: dict[int, int], cfg: TreeConfig) -> DecisionTree:
    """Greedy likelihood-gain splitting over all roots (see the module docstring)."""
    trees: list[RootTree] = []
    heap: list = []
    counter = itertools.count()
    keys_of: dict[int, dict[int, list[tuple[int, ...]]]] = {}
    log: list[str] = []
    for r_index, root in enumerate(roots):
        classes = sorted({num_pdf_classes[p] for p in root.phones})
        if len(classes) != 1:
            raise ValueError(f"root {root.phones}: phones differ in their number of pdf-classes")
        nclass = classes[0]
        in_root = np.isin(stats.events[:, 1], root.phones)
        keys: dict[int, list[tuple[int, ...]]] = {0: list(questions), 2: list(questions)}
        if len(root.phones) > 1:
            inner = {tuple(sorted(set(q) & set(root.phones))) for q in questions}
            keys[1] = sorted(q for q in inner if 0 < len(q) < len(root.phones))
        nodes: dict[int | None, Node] = {}
        if root.shared:
            if nclass > 1:
                keys[PDF_CLASS_KEY] = [
                    c for k in range(1, nclass) for c in itertools.combinations(range(nclass), k)
                ]
            nodes[None] = Node(np.flatnonzero(in_root))
        else:
            for c in range(nclass):
                nodes[c] = Node(np.flatnonzero(in_root & (stats.events[:, 3] == c)))
        keys_of[r_index] = keys
        trees.append(RootTree(root, nodes))
        for node in nodes.values():
            if root.split and len(node.events):
                best = _best_split(stats, node, keys, cfg)
                if best is not None:
                    heapq.heappush(heap, (-best[0], next(counter), r_index, node, best))
    num_leaves = sum(len(t.nodes) for t in trees)
    while heap and num_leaves < cfg.num_leaves:
        neg_gain, _, r_index, node, (gain, key, qset) = heapq.heappop(heap)
        if gain <= cfg.thresh:
            break
        col = {0: 0, 1: 1, 2: 2, PDF_CLASS_KEY: 3}[key]
        is_yes = np.isin(stats.events[node.events, col], qset)
        node.key, node.yes_set = key, qset
        node.yes, node.no = Node(node.events[is_yes]), Node(node.events[~is_yes])
        num_leaves += 1
        log.append(f"split root {trees[r_index].root.phones} on key {key} by {list(qset)}: "
                   f"gain {gain:.2f}")
        for child in (node.yes, node.no):
            best = _best_split(stats, child, keys_of[r_index], cfg)
            if best is not None:
                heapq.heappush(heap, (-best[0], next(counter), r_index, child, best))
    pdf = 0
    for t in trees:
        for node in t.nodes.values():
            for leaf in node.leaves():
                leaf.pdf = pdf
                pdf += 1
    return DecisionTree(trees, dict(num_pdf_classes), pdf, log)


# ----------------------------------------------------------------------------- Kaldi format


def _tok(s: str) -> bytes:
    return s.encode() + b" "


def _i32(v: int) -> bytes:
    return b"\x04" + struct.pack("<i", int(v))


def _u32(v: int) -> bytes:
    return b"\xfc" + struct.pack("<I", int(v))


def _int_vector(values: Sequence[int]) -> bytes:
    return b"\x04" + struct.pack("<i", len(values)) + struct.pack(f"<{len(values)}i", *values)


def _node_bytes(node: Node) -> bytes:
    if node.key is None:
        return _tok("CE") + _i32(node.pdf)
    assert node.yes is not None and node.no is not None
    return (_tok("SE") + _i32(node.key) + _int_vector(sorted(node.yes_set)) + _tok("{")
            + _node_bytes(node.yes) + _node_bytes(node.no) + _tok("}"))


def _root_bytes(rt: RootTree) -> bytes:
    if rt.root.shared:
        return _node_bytes(rt.nodes[None])
    n = len(rt.nodes)
    return (_tok("TE") + _i32(PDF_CLASS_KEY) + _u32(n) + _tok("(")
            + b"".join(_node_bytes(rt.nodes[c]) for c in range(n)) + _tok(")"))


def _dispatch_bytes(trees: Sequence[RootTree]) -> bytes:
    """Choose the root by the centre phone (key 1) with a balanced chain of SE splits."""
    if len(trees) == 1:
        return _root_bytes(trees[0])
    half = len(trees) // 2
    yes = sorted(p for t in trees[:half] for p in t.root.phones)
    return (_tok("SE") + _i32(1) + _int_vector(yes) + _tok("{") + _dispatch_bytes(trees[:half])
            + _dispatch_bytes(trees[half:]) + _tok("}"))


def kaldi_tree_bytes(tree: DecisionTree) -> bytes:
    """Kaldi binary ContextDependency (N=3, P=1) of the tree, without the file header."""
    return (_tok("ContextDependency") + _i32(CONTEXT_WIDTH) + _i32(CENTRAL_POSITION)
            + _tok("ToPdf") + _dispatch_bytes(tree.roots) + _tok("EndContextDependency"))


def to_kaldi(tree: DecisionTree):
    """The tree as the binding's ``ContextDependency``."""
    return tree_from_bytes(kaldi_tree_bytes(tree), "<built tree>")


def leaf_stats(tree: DecisionTree, stats: TreeStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum, sum of squares per leaf (pdf-id)."""
    d = stats.sum.shape[1]
    n, s, ss = np.zeros(tree.num_leaves), np.zeros((tree.num_leaves, d)), np.zeros((tree.num_leaves, d))
    for rt in tree.roots:
        for node in rt.nodes.values():
            for leaf in node.leaves():
                n[leaf.pdf] += stats.count[leaf.events].sum()
                s[leaf.pdf] += stats.sum[leaf.events].sum(0)
                ss[leaf.pdf] += stats.sumsq[leaf.events].sum(0)
    return n, s, ss
