"""Back-off n-gram language models: the in-memory form, ARPA reading/writing, perplexity.

``BackoffLM`` holds, per order, log10 probabilities and log10 back-off weights keyed by
word tuples, which is exactly what an ARPA file stores. ``log10_prob`` applies the
back-off recursion p(w|h) = p*(w|h) if hw is listed, else bow(h) p(w|h'), so evaluating a
freshly trained model and one read back from disk is the same code. ``history_sums``
sums p(w|h) over the whole vocabulary for every history (brute force), which must be 1
for a properly normalised model. ``evaluate`` reports perplexity and the OOV rate of a
text; OOV words are scored as ``<unk>`` and counted, never dropped silently.
"""

from __future__ import annotations

import gzip
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nghf.utils.atomic import atomic_path

Ngram = tuple[str, ...]
LOG10_ZERO = -99.0


class ArpaError(ValueError):
    """A malformed ARPA file (message names file and line)."""


@dataclass(frozen=True)
class BackoffLM:
    """An n-gram model in back-off form (log10 values, as in ARPA).

    ``logprobs[n-1]`` maps each listed n-gram to log10 p*(w|h); ``backoffs[n-1]`` maps
    n-grams that are histories of longer ones to log10 bow(h) (missing means 0).
    """

    order: int
    logprobs: tuple[dict[Ngram, float], ...]
    backoffs: tuple[dict[Ngram, float], ...]
    bos: str = "<s>"
    eos: str = "</s>"
    unk: str = "<unk>"

    @property
    def vocab(self) -> list[str]:
        """Words that can be predicted (all unigrams except ``<s>``)."""
        return [g[0] for g in self.logprobs[0] if g[0] != self.bos]

    def log10_prob(self, word: str, history: Sequence[str]) -> float:
        """log10 p(word | history) by the back-off recursion (history oldest first)."""
        h = tuple(history[len(history) - self.order + 1:]) if self.order > 1 else ()
        acc = 0.0
        while True:
            gram = (*h, word)
            value = self.logprobs[len(gram) - 1].get(gram)
            if value is not None:
                return acc + value
            if not h:
                return LOG10_ZERO
            acc += self.backoffs[len(h) - 1].get(h, 0.0)
            h = h[1:]

    def histories(self) -> list[Ngram]:
        """Every history the model distinguishes: the empty one and all listed n-grams
        below the top order that do not end in ``</s>``."""
        out: list[Ngram] = [()]
        for n in range(1, self.order):
            out.extend(g for g in self.logprobs[n - 1] if g[-1] != self.eos)
        return out


def history_sums(lm: BackoffLM) -> dict[Ngram, float]:
    """Sum of p(w|h) over the vocabulary for every history (should all be 1)."""
    vocab = lm.vocab
    return {h: sum(10.0 ** lm.log10_prob(w, h) for w in vocab) for h in lm.histories()}


def write_arpa(lm: BackoffLM, path: str | Path) -> None:
    """Write ``lm`` as an ARPA file (gzip-compressed if the name ends in ``.gz``), atomically."""
    out = io.StringIO()
    out.write("\n\\data\\\n")
    for n in range(1, lm.order + 1):
        out.write(f"ngram {n}={len(lm.logprobs[n - 1])}\n")
    for n in range(1, lm.order + 1):
        out.write(f"\n\\{n}-grams:\n")
        bows = lm.backoffs[n - 1]
        for gram in sorted(lm.logprobs[n - 1]):
            line = f"{lm.logprobs[n - 1][gram]:.7f}\t{' '.join(gram)}"
            if n < lm.order and gram in bows:
                line += f"\t{bows[gram]:.7f}"
            out.write(line + "\n")
    out.write("\n\\end\\\n")
    data = out.getvalue().encode("utf-8")
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(tmp, "wb", mtime=0) as f:
                f.write(data)
        else:
            tmp.write_bytes(data)


def _open_text(path: Path) -> Iterable[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_arpa(path: str | Path, bos: str = "<s>", eos: str = "</s>", unk: str = "<unk>") -> BackoffLM:
    """Read an ARPA file (plain or ``.gz``) into a ``BackoffLM``."""
    path = Path(path)
    counts: dict[int, int] = {}
    logprobs: list[dict[Ngram, float]] = []
    backoffs: list[dict[Ngram, float]] = []
    section = None  # None: before \data\, 0: in \data\, n: in \n-grams:
    with _open_text(path) as f:  # type: ignore[attr-defined]
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line:
                continue
            if line == "\\data\\":
                section = 0
                continue
            if line == "\\end\\":
                break
            if line.startswith("\\") and line.endswith("-grams:"):
                try:
                    section = int(line[1:-7])
                except ValueError:
                    raise ArpaError(f"{path}:{lineno}: bad section header {line!r}") from None
                while len(logprobs) < section:
                    logprobs.append({})
                    backoffs.append({})
                continue
            if section is None:
                continue
            if section == 0:
                if not line.startswith("ngram ") or "=" not in line:
                    raise ArpaError(f"{path}:{lineno}: expected 'ngram N=COUNT', got {line!r}")
                n, c = line[6:].split("=", 1)
                counts[int(n)] = int(c)
                continue
            fields = line.split()
            if len(fields) not in (section + 1, section + 2):
                raise ArpaError(f"{path}:{lineno}: expected {section}-gram with prob and optional back-off, got {line!r}")
            try:
                gram = tuple(fields[1:section + 1])
                logprobs[section - 1][gram] = float(fields[0])
                if len(fields) == section + 2:
                    backoffs[section - 1][gram] = float(fields[-1])
            except ValueError:
                raise ArpaError(f"{path}:{lineno}: bad number in {line!r}") from None
    if not counts or not logprobs:
        raise ArpaError(f"{path}: no \\data\\ section or no n-grams")
    for n, c in counts.items():
        if n > len(logprobs) or len(logprobs[n - 1]) != c:
            got = len(logprobs[n - 1]) if n <= len(logprobs) else 0
            raise ArpaError(f"{path}: header says {c} {n}-grams, file has {got}")
    return BackoffLM(len(logprobs), tuple(logprobs), tuple(backoffs), bos, eos, unk)


@dataclass(frozen=True)
class EvalReport:
    """Perplexity of a text: counts, OOVs, log10 probability and perplexities."""

    sentences: int
    words: int
    oovs: int
    log10_prob: float
    perplexity: float
    perplexity_no_oov: float

    @property
    def oov_rate(self) -> float:
        """OOV words as a fraction of running words."""
        return self.oovs / self.words if self.words else 0.0

    def summary(self) -> str:
        """One line in SRILM's spirit."""
        return (
            f"{self.sentences} sentences, {self.words} words, {self.oovs} OOVs "
            f"({100 * self.oov_rate:.2f}%) scored as <unk>; logprob(10)={self.log10_prob:.2f} "
            f"ppl={self.perplexity:.2f} ppl(excluding OOV positions)={self.perplexity_no_oov:.2f}"
        )


def evaluate(lm: BackoffLM, sentences: Iterable[Sequence[str]]) -> EvalReport:
    """Perplexity over words and ``</s>``; words not in the model are scored as ``<unk>``."""
    known = set(lm.vocab)
    n_sent = n_words = n_oov = 0
    total = total_known = 0.0
    n_known = 0
    for sentence in sentences:
        n_sent += 1
        history: list[str] = [lm.bos]
        for word in [*sentence, lm.eos]:
            is_oov = word != lm.eos and word not in known
            token = lm.unk if is_oov else word
            if word != lm.eos:
                n_words += 1
                n_oov += is_oov
            lp = lm.log10_prob(token, history)
            total += lp
            if not is_oov:
                total_known += lp
                n_known += 1
            history.append(token)
    n_tokens = n_words + n_sent
    ppl = 10.0 ** (-total / n_tokens) if n_tokens else math.nan
    ppl_known = 10.0 ** (-total_known / n_known) if n_known else math.nan
    return EvalReport(n_sent, n_words, n_oov, total, ppl, ppl_known)
