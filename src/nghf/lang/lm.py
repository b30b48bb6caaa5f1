"""Interpolated modified Kneser-Ney n-gram language models (Chen & Goodman 1998).

No maintained PyPI package trains modified-KN models and writes ARPA here (``kenlm`` ships
only the query side as a wheel, ``kaldilm`` only converts ARPA to FST, NLTK's KN is
not the modified form and has no ARPA writer; ``arpabo`` 0.3.0 discounts without
interpolation), so this module implements it:

* sentences are padded as ``<s> w1 .. wk </s>``; words outside the vocabulary become
  ``<unk>`` and are counted (``TrainStats``);
* the top order uses raw counts; lower orders use continuation counts N1+(. w) (the number
  of distinct words seen before the n-gram), except n-grams that start with ``<s>``, which
  keep raw counts because nothing can precede them (as in KenLM/SRILM);
* each order n has three discounts from its count-of-counts n1..n4:
  Y = n1 / (n1 + 2 n2), D1 = 1 - 2Y n2/n1, D2 = 2 - 3Y n3/n2, D3+ = 3 - 4Y n4/n3;
  if a count-of-count is zero or a discount falls outside [0, k] (tiny texts),
  ``LmConfig.discount_fallback`` is used instead and a warning logged;
* p(w|h) = max(c(hw) - D(c(hw)), 0) / c(h.) + gamma(h) p(w|h'), with
  gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h.); the unigram level is
  interpolated with the uniform distribution over the vocabulary (``</s>`` and ``<unk>``
  included, ``<s>`` excluded).

Because the model is interpolated, its back-off form is exact: a listed n-gram stores the
full interpolated p(w|h), and bow(h) = gamma(h), so each p(.|h) sums to one.

Count cutoffs (``LmConfig.min_counts``, SRILM's ``-gtNmin``, KenLM's ``--prune``) drop
n-grams whose raw count (occurrences in the text, after ``<unk>`` mapping) is below the
order's minimum. They apply while the probabilities are estimated, in the standard way:

* the count-of-counts, hence the discounts, come from all n-grams (so a cutoff does not
  turn D1 into a fallback), and the continuation counts of lower orders still count the
  contexts of cut higher-order n-grams;
* c(h.) keeps the counts of cut n-grams, and a cut n-gram's whole count moves to the
  back-off mass: gamma(h) = (sum_kept D(c) + sum_cut c) / c(h.), so every history still
  sums to one and a cut word of history h gets gamma(h) p(w|h') through the back-off;
* the minimums must not decrease with the order, so every prefix and suffix of a kept
  n-gram is kept (its raw count is at least as large) and the ARPA file is consistent.
  A cut unigram stays listed with only its share of the uniform distribution.

Relative-entropy pruning of the trained model is in ``nghf.lang.prune``; ``train_lm``
applies both (cutoffs while counting, then ``prune_threshold``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from nghf.lang.arpa import LOG10_ZERO, BackoffLM, Ngram
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class LmConfig:
    """Options of the n-gram trainer (``conf/lm.yaml``)."""

    order: int = 3  # n-gram order (1, 2 or 3 typical; any >= 1 works)
    bos: str = "<s>"  # sentence-start symbol
    eos: str = "</s>"  # sentence-end symbol
    unk: str = "<unk>"  # out-of-vocabulary word
    exclude_words: tuple[str, ...] = ("!SIL",)  # lexicon words that are never LM words
    discount_fallback: tuple[float, float, float] = (0.5, 1.0, 1.5)  # D1, D2, D3+ when estimates fail
    min_counts: tuple[int, ...] = ()  # raw-count cutoff per order (last repeats; () = none), e.g. (1, 1, 2)
    prune_threshold: float = 0.0  # Stolcke relative-entropy pruning threshold (0 = none), e.g. 1e-7

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError(f"order must be >= 1, got {self.order}")
        if len(self.discount_fallback) != 3:
            raise ValueError("discount_fallback needs three values (D1, D2, D3+)")
        if any(m < 1 for m in self.min_counts):
            raise ValueError(f"min_counts must be >= 1, got {list(self.min_counts)}")
        if any(a > b for a, b in pairwise(self.min_counts)):
            raise ValueError(f"min_counts must not decrease with the order, got {list(self.min_counts)}")
        if not (self.prune_threshold >= 0.0 and math.isfinite(self.prune_threshold)):
            raise ValueError(f"prune_threshold must be a finite number >= 0, got {self.prune_threshold}")

    def min_count(self, n: int) -> int:
        """Raw-count cutoff of order ``n`` (1-based): ``min_counts[n-1]``, the last value for
        higher orders, 1 (keep everything) when no cutoffs are set."""
        if not self.min_counts:
            return 1
        return self.min_counts[min(n, len(self.min_counts)) - 1]


@dataclass(frozen=True)
class TrainStats:
    """What the trainer saw: sentences, running words, OOV tokens (mapped to ``<unk>``)."""

    sentences: int
    words: int
    oov_tokens: int
    oov_types: int
    discounts: tuple[tuple[float, float, float], ...]


def discounts_from_count_of_counts(n1: int, n2: int, n3: int, n4: int) -> tuple[float, float, float] | None:
    """Chen & Goodman's D1, D2, D3+ estimates, or None where they are undefined or invalid."""
    if min(n1, n2, n3) <= 0 or n4 < 0:
        return None
    y = n1 / (n1 + 2 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    if not all(0.0 <= dk <= k for dk, k in zip(d, (1, 2, 3), strict=True)):
        return None
    return d


def vocab_from_words_txt(symbols: Iterable[str], config: LmConfig) -> set[str]:
    """LM vocabulary from a lang dir's words: drop ``<eps>``, ``#k``, ``<s>``, ``</s>`` and
    ``config.exclude_words``; ``<unk>`` is always included."""
    skip = {"<eps>", config.bos, config.eos, *config.exclude_words}
    vocab = {w for w in symbols if w not in skip and not w.startswith("#")}
    vocab.add(config.unk)
    return vocab


def train_kneser_ney(
    sentences: Iterable[Sequence[str]],
    config: LmConfig | None = None,
    vocab: set[str] | None = None,
) -> tuple[BackoffLM, TrainStats]:
    """Train an interpolated modified-KN model; ``vocab=None`` means the training words."""
    cfg = config or LmConfig()
    order, bos, eos, unk = cfg.order, cfg.bos, cfg.eos, cfg.unk
    raw: list[Counter[Ngram]] = [Counter() for _ in range(order)]
    n_sent = n_words = n_oov = 0
    oov_types: set[str] = set()
    seen_words: set[str] = set()
    for sentence in sentences:
        n_sent += 1
        tokens = [bos]
        for word in sentence:
            if word in (bos, eos):
                raise ValueError(f"sentence {n_sent}: contains the reserved symbol {word}")
            n_words += 1
            if vocab is not None and word not in vocab:
                n_oov += 1
                oov_types.add(word)
                word = unk
            tokens.append(word)
            seen_words.add(word)
        tokens.append(eos)
        for i in range(1, len(tokens)):
            for n in range(1, min(order, i + 1) + 1):
                raw[n - 1][tuple(tokens[i - n + 1:i + 1])] += 1
    if n_sent == 0:
        raise ValueError("no training sentences")
    full_vocab = set(vocab) if vocab is not None else set(seen_words)
    full_vocab |= {unk, eos}
    full_vocab.discard(bos)

    # Adjusted counts: raw at the top order and for <s>-initial n-grams, else continuation.
    adjusted: list[dict[Ngram, int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(raw[order - 1])
    for n in range(order - 1, 0, -1):
        left: Counter[Ngram] = Counter(g[1:] for g in raw[n])
        adjusted[n - 1] = {g: (c if g[0] == bos else left[g]) for g, c in raw[n - 1].items()}

    discounts = []
    for n in range(1, order + 1):
        coc = Counter(c for c in adjusted[n - 1].values() if c <= 4)
        d = discounts_from_count_of_counts(coc[1], coc[2], coc[3], coc[4])
        if d is None:
            d = tuple(cfg.discount_fallback)
            log.warning("order %d: count-of-counts %s give no valid discounts; using fallback %s",
                        n, [coc[k] for k in (1, 2, 3, 4)], d)
        discounts.append(d)

    def disc(n: int, c: int) -> float:
        d = discounts[n - 1]
        return d[0] if c == 1 else d[1] if c == 2 else d[2]

    probs: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    gammas: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    n_cut = [0] * order
    for n in range(1, order + 1):
        min_count = cfg.min_count(n)
        by_history: dict[Ngram, list[tuple[str, int, bool]]] = defaultdict(list)
        for g, c in adjusted[n - 1].items():
            by_history[g[:-1]].append((g[-1], c, raw[n - 1][g] >= min_count))
        for h, items in by_history.items():
            total = sum(c for _, c, _ in items)
            # A cut n-gram gives its whole count to the back-off mass (see the module doc).
            gamma = sum(disc(n, c) if keep else c for _, c, keep in items) / total
            gammas[n - 1][h] = gamma
            for w, c, keep in items:
                if not keep:
                    n_cut[n - 1] += 1
                    continue
                lower = 1.0 / len(full_vocab) if n == 1 else probs[n - 2][(*h[1:], w)]
                probs[n - 1][(*h, w)] = max(c - disc(n, c), 0.0) / total + gamma * lower
    if any(n_cut):
        log.info("count cutoffs %s removed n-grams per order %s",
                 [cfg.min_count(n) for n in range(1, order + 1)], n_cut)
    # Unigrams of vocabulary words never seen (or seen only after <s>... never as unigram).
    gamma0 = gammas[0][()]
    for w in full_vocab:
        probs[0].setdefault((w,), gamma0 / len(full_vocab))

    logprobs = tuple({g: math.log10(p) for g, p in level.items()} for level in probs)
    logprobs[0][(bos,)] = LOG10_ZERO
    backoffs: list[dict[Ngram, float]] = [dict() for _ in range(order)]
    for n in range(1, order):
        # A history needs a back-off weight only if words are listed after it (with
        # cutoffs, all of them may be cut).
        parents = {g[:-1] for g in logprobs[n]}
        for h, gamma in gammas[n].items():
            if h in parents:
                backoffs[n - 1][h] = math.log10(gamma) if gamma > 0 else LOG10_ZERO
    lm = BackoffLM(order, logprobs, tuple(backoffs), bos, eos, unk)
    stats = TrainStats(n_sent, n_words, n_oov, len(oov_types), tuple(discounts))
    log.info(
        "trained %d-gram modified-KN LM: %d sentences, %d words, %d OOV tokens (%d types) -> %s; "
        "n-grams per order %s; discounts %s",
        order, n_sent, n_words, n_oov, len(oov_types), unk,
        [len(level) for level in logprobs], [tuple(round(x, 4) for x in d) for d in discounts],
    )
    return lm, stats
