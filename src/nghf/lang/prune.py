"""Relative-entropy pruning of back-off n-gram models (Stolcke 1998, SRILM's ``ngram -prune``).

Removing the n-gram hw from a back-off model changes only the distribution p(.|h): w is
then predicted through the back-off, p'(w|h) = bow'(h) p(w|h'), and the words already
unlisted under h are rescaled from bow(h) to bow'(h). With

    num = 1 - sum_{v listed under h} p(v|h)     (the mass h gives to the back-off)
    den = 1 - sum_{v listed under h} p(v|h')    (what those words have under h')

bow(h) = num / den, bow'(h) = (num + p(w|h)) / (den + p(w|h')), and the relative entropy
(Kullback-Leibler divergence, in nats) of the pruned model from the original one is

    D(hw) = p(h) sum_v p(v|h) log(p(v|h) / p'(v|h))
          = -p(h) [ p(w|h) (log p(w|h') + log bow'(h) - log p(w|h))
                    + num (log bow'(h) - log bow(h)) ]

which costs O(1) per n-gram once num, den and p(h) are known per history. The history
probability p(h) is the model's own chain-rule probability p(h1) p(h2|h1) ..., where a
leading ``<s>`` is given the unigram probability of ``</s>`` (as SRILM does: sentence
starts are as frequent as sentence ends; p(<s>) itself is zero).

As in SRILM, the threshold is on the relative change in perplexity that the removal
alone would cause, exp(D) - 1 (the training-distribution cross-entropy grows by D), so
``threshold=1e-7`` means "each removed n-gram raises the perplexity by less than 1e-5 %".
The decisions of one order are taken independently against the model before that order
is pruned (the approximation of Stolcke's paper); then the back-off weights of the
order's histories are recomputed; once every order is pruned, all back-off weights are
recomputed again from the lowest order up (a trigram history's weight depends on the pruned
bigram level), so every history sums to one exactly. Orders are processed from the highest
down; unigrams are never pruned, and an n-gram that is still the
history of a longer listed n-gram is kept (the ARPA format needs it as a state). Orders
left empty at the top are dropped, so a huge threshold leaves a unigram model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from nghf.lang.arpa import LOG10_ZERO, BackoffLM, Ngram
from nghf.utils.logging import get_logger

log = get_logger(__name__)

LN10 = math.log(10.0)
_EPS = 1e-12  # below this, num/den are rounding noise of a history that lists every word


@dataclass(frozen=True)
class PruneStats:
    """What pruning did: n-grams per order before and after, and the threshold used."""

    threshold: float
    ngrams_before: tuple[int, ...]
    ngrams_after: tuple[int, ...]

    @property
    def pruned(self) -> tuple[int, ...]:
        """Removed n-grams per order (orders dropped at the top count all theirs)."""
        after = (*self.ngrams_after, *([0] * (len(self.ngrams_before) - len(self.ngrams_after))))
        return tuple(b - a for b, a in zip(self.ngrams_before, after, strict=True))


def context_log10_prob(lm: BackoffLM, history: Ngram) -> float:
    """log10 p(h) by the chain rule of ``lm``; a leading ``<s>`` scores as unigram ``</s>``."""
    total = 0.0
    for i, word in enumerate(history):
        if i == 0 and word == lm.bos:
            word = lm.eos
        total += lm.log10_prob(word, history[:i])
    return total


@dataclass(frozen=True)
class _HistoryMass:
    """Per-history quantities of the pruning formula (probabilities, not logs)."""

    context_prob: float  # p(h)
    num: float  # 1 - sum of p(v|h) over the listed v
    den: float  # 1 - sum of p(v|h') over the listed v
    words: tuple[tuple[str, float, float], ...]  # (w, p(w|h), p(w|h')) for each listed w


def _history_masses(lm: BackoffLM, n: int, with_context: bool = True) -> dict[Ngram, _HistoryMass]:
    """num, den, p(h) (nan unless ``with_context``) and the listed words of every history of
    the order-``n`` n-grams."""
    by_history: dict[Ngram, list[str]] = defaultdict(list)
    for gram in lm.logprobs[n - 1]:
        by_history[gram[:-1]].append(gram[-1])
    level = lm.logprobs[n - 1]
    out = {}
    for h, words in by_history.items():
        lower = h[1:]
        items = tuple(
            (w, 10.0 ** level[(*h, w)], 10.0 ** lm.log10_prob(w, lower)) for w in words
        )
        num = max(1.0 - math.fsum(p for _, p, _ in items), 0.0)
        den = max(1.0 - math.fsum(q for _, _, q in items), 0.0)
        context = 10.0 ** context_log10_prob(lm, h) if with_context else math.nan
        out[h] = _HistoryMass(context, num, den, items)
    return out


def _delta(mass: _HistoryMass, p: float, q: float) -> float:
    """Stolcke's D (nats) for removing one listed word with p = p(w|h), q = p(w|h')."""
    if p <= 0.0:
        return 0.0
    new_bow = (mass.num + p) / (mass.den + q)
    inner = p * (math.log(q) + math.log(new_bow) - math.log(p))
    if mass.num > _EPS and mass.den > _EPS:
        inner += mass.num * (math.log(new_bow) - math.log(mass.num / mass.den))
    return -mass.context_prob * inner


def relative_entropy_increases(lm: BackoffLM, n: int) -> dict[Ngram, float]:
    """D(hw) in nats for every order-``n`` n-gram of ``lm`` (n >= 2), each removed alone."""
    if not 2 <= n <= lm.order:
        raise ValueError(f"order {n} cannot be pruned in a {lm.order}-gram model (2..{lm.order})")
    out = {}
    for h, mass in _history_masses(lm, n).items():
        for w, p, q in mass.words:
            out[(*h, w)] = _delta(mass, p, q)
    return out


def recompute_backoffs(lm: BackoffLM, n: int) -> None:
    """Set bow(h) = num / den for the histories of the order-``n`` n-grams, in place, and drop
    the weights of order-(n-1) n-grams that no longer have listed successors."""
    bows = lm.backoffs[n - 2]
    masses = _history_masses(lm, n, with_context=False)
    for h in [h for h in bows if h not in masses]:
        del bows[h]
    for h, mass in masses.items():
        if mass.den > _EPS and mass.num > _EPS:
            bows[h] = math.log10(mass.num / mass.den)
        elif mass.num <= _EPS:
            bows[h] = LOG10_ZERO if mass.den > _EPS else 0.0  # no mass left to back off with
        else:  # h lists every word but keeps some mass: nothing can receive it
            log.warning("history %s lists every word yet leaves %.3g unassigned", " ".join(h), mass.num)
            bows[h] = 0.0


def prune_relative_entropy(lm: BackoffLM, threshold: float) -> tuple[BackoffLM, PruneStats]:
    """A copy of ``lm`` without the n-grams whose removal raises perplexity by less than
    ``threshold`` (relative: exp(D) - 1 < threshold), highest order first, back-off weights
    recomputed; ``threshold=0`` returns an unchanged copy."""
    if not (threshold >= 0.0 and math.isfinite(threshold)):
        raise ValueError(f"prune threshold must be a finite number >= 0, got {threshold}")
    work = BackoffLM(lm.order, tuple(dict(level) for level in lm.logprobs),
                     tuple(dict(level) for level in lm.backoffs), lm.bos, lm.eos, lm.unk)
    before = tuple(len(level) for level in lm.logprobs)
    if threshold > 0.0:
        for n in range(lm.order, 1, -1):
            keep_as_history = {g[:-1] for g in work.logprobs[n]} if n < lm.order else set()
            deltas = relative_entropy_increases(work, n)
            level = work.logprobs[n - 1]
            removed = [g for g, d in deltas.items() if g not in keep_as_history and math.expm1(d) < threshold]
            for g in removed:
                del level[g]
                work.backoffs[n - 1].pop(g, None)
            recompute_backoffs(work, n)
            log.info("prune %g: order %d: removed %d of %d n-grams", threshold, n, len(removed), len(deltas))
        # Pruning order n-1 changed p(.|h') below the order-n histories: renormalise every
        # order again, lowest first, since bow(h) depends on the (renormalised) p(.|h').
        for n in range(2, lm.order + 1):
            recompute_backoffs(work, n)
    order = work.order
    while order > 1 and not work.logprobs[order - 1]:
        order -= 1
    out = BackoffLM(order, work.logprobs[:order], work.backoffs[:order], lm.bos, lm.eos, lm.unk)
    for g in list(out.backoffs[order - 1]):  # the new top order has no back-off weights
        del out.backoffs[order - 1][g]
    stats = PruneStats(threshold, before, tuple(len(level) for level in out.logprobs))
    log.info("pruned with threshold %g: n-grams per order %s -> %s", threshold, list(before),
             list(stats.ngrams_after))
    return out, stats
