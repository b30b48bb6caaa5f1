"""A tiny synthetic lang dir and corpus with known structure, for tests and benchmarks.

The lang dir is a complete Kaldi lang dir in miniature (phones.txt, words.txt, topo, L.fst,
L_disambig.fst, G.fst and the phones/ lists). The corpus draws word sequences, expands them
to phones and 3-state HMMs with random durations, and samples each frame from a Gaussian
whose mean depends on the phone, the HMM state and -- for the first/last state -- the
left/right neighbour phone, so that a triphone tree has real context effects to find.
Features go straight into ``mfcc.scp`` (no CMVN, no deltas needed).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import kaldi_io
import numpy as np

from nghf._kaldi import kaldifst

PHONES = ("SIL", "a", "b", "c", "d")
LEXICON = {"!SIL": ("SIL",), "<UNK>": ("SIL",), "ab": ("a", "b"), "ba": ("b", "a"),
           "cad": ("c", "a", "d"), "dc": ("d", "c"), "bd": ("b", "d")}
TOPO = """<Topology>
<TopologyEntry>
<ForPhones>
{phones}
</ForPhones>
<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>
<State> 1 <PdfClass> 1 <Transition> 1 0.75 <Transition> 2 0.25 </State>
<State> 2 <PdfClass> 2 <Transition> 2 0.75 <Transition> 3 0.25 </State>
<State> 3 </State>
</TopologyEntry>
</Topology>
"""


@dataclasses.dataclass(frozen=True)
class ToyCorpus:
    """Where the synthetic data went and what generated it."""

    lang: Path
    data: Path
    utt_words: dict[str, list[str]]


def make_lang(out: str | Path) -> Path:
    """Write the toy lang dir to ``out`` and return it."""
    out = Path(out)
    (out / "phones").mkdir(parents=True, exist_ok=True)
    phones = ["<eps>", *PHONES, "#0", "#1"]
    pid = {p: i for i, p in enumerate(phones)}
    words = ["<eps>", *LEXICON, "#0"]
    wid = {w: i for i, w in enumerate(words)}
    (out / "phones.txt").write_text("".join(f"{p} {i}\n" for p, i in pid.items()))
    (out / "words.txt").write_text("".join(f"{w} {i}\n" for w, i in wid.items()))
    real = [pid[p] for p in PHONES]
    (out / "topo").write_text(TOPO.format(phones=" ".join(map(str, real))))
    sil, nonsil = [pid["SIL"]], [pid[p] for p in PHONES[1:]]
    ph = out / "phones"
    (ph / "silence.csl").write_text(":".join(map(str, sil)) + "\n")
    (ph / "nonsilence.csl").write_text(":".join(map(str, nonsil)) + "\n")
    (ph / "disambig.int").write_text(f"{pid['#0']}\n{pid['#1']}\n")
    (ph / "roots.int").write_text("".join(f"shared split {p}\n" for p in real))
    (ph / "sets.int").write_text("".join(f"{p}\n" for p in real))
    (ph / "extra_questions.int").write_text(
        " ".join(map(str, sil)) + "\n" + " ".join(map(str, nonsil)) + "\n"
    )
    (ph / "word_boundary.int").write_text("".join(f"{p} nonword\n" if p in sil else f"{p} internal\n" for p in real))
    (out / "oov.int").write_text(f"{wid['<UNK>']}\n")

    def lexicon_fst(disambig: bool) -> kaldifst.StdVectorFst:
        arcs, nxt = [], 1
        arcs.append(f"0 0 {pid['SIL']} 0 0.6931")  # optional silence between words
        for w, pron in LEXICON.items():
            prev = 0
            for k, p in enumerate(pron):
                dst = 0 if k == len(pron) - 1 else nxt
                if dst:
                    nxt += 1
                arcs.append(f"{prev} {dst} {pid[p]} {wid[w] if k == 0 else 0}")
                prev = dst
        if disambig:
            arcs.append(f"0 0 {pid['#0']} {wid['#0']}")
        fst = kaldifst.compile("\n".join(arcs) + "\n0\n")
        kaldifst.arcsort(fst, sort_type="olabel")
        return fst

    lexicon_fst(False).write(str(out / "L.fst"))
    lexicon_fst(True).write(str(out / "L_disambig.fst"))
    real_words = [w for w in LEXICON if w not in ("!SIL", "<UNK>")]
    cost = float(np.log(len(real_words) + 1))
    g = "".join(f"0 0 {wid[w]} {wid[w]} {cost:.4f}\n" for w in real_words) + f"0 {cost:.4f}\n"
    gfst = kaldifst.compile(g)
    kaldifst.arcsort(gfst, sort_type="ilabel")
    gfst.write(str(out / "G.fst"))
    return out


def make_corpus(out: str | Path, num_utts: int = 24, num_speakers: int = 3, dim: int = 4,
                seed: int = 0, noise: float = 0.35, context_effect: float = 1.2) -> ToyCorpus:
    """Write ``out/lang`` and ``out/data`` (text, utt2spk, spk2utt, mfcc.scp)."""
    out = Path(out)
    lang = make_lang(out / "lang")
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_ph = len(PHONES) + 1  # index by phone id (1-based); 0 = utterance boundary
    base = rng.normal(0.0, 3.0, size=(n_ph, 3, dim))
    ctx = rng.normal(0.0, 1.0, size=(n_ph, dim)) * context_effect
    words = [w for w in LEXICON if w not in ("!SIL", "<UNK>")]
    pid = {p: i + 1 for i, p in enumerate(PHONES)}
    utt_words: dict[str, list[str]] = {}
    ark = (data / "mfcc.ark").resolve()
    scp_lines, u2s = [], []
    with open(ark, "wb") as f:
        for u in range(num_utts):
            spk = f"spk{u % num_speakers}"
            utt = f"{spk}-utt{u:03d}"
            seq = [words[i] for i in rng.integers(0, len(words), size=int(rng.integers(2, 5)))]
            utt_words[utt] = seq
            phones = [pid["SIL"]]
            for w in seq:
                phones += [pid[p] for p in LEXICON[w]]
                if rng.random() < 0.3:
                    phones.append(pid["SIL"])
            if phones[-1] != pid["SIL"]:
                phones.append(pid["SIL"])
            frames = []
            for i, p in enumerate(phones):
                left = phones[i - 1] if i > 0 else 0
                right = phones[i + 1] if i + 1 < len(phones) else 0
                for s in range(3):
                    mean = base[p, s] + (ctx[left] if s == 0 else ctx[right] if s == 2 else 0.0)
                    for _ in range(int(rng.integers(2, 6))):
                        frames.append(mean + rng.normal(0.0, noise, size=dim))
            mat = np.asarray(frames, dtype=np.float32)
            offset = f.tell()
            kaldi_io.write_mat(f, mat, key=utt)
            scp_lines.append(f"{utt} {ark}:{offset + len(utt) + 1}\n")
            u2s.append((utt, spk))
    (data / "mfcc.scp").write_text("".join(scp_lines))
    (data / "text").write_text("".join(f"{u} {' '.join(w)}\n" for u, w in utt_words.items()))
    (data / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in u2s))
    spk2utt: dict[str, list[str]] = {}
    for u, s in u2s:
        spk2utt.setdefault(s, []).append(u)
    (data / "spk2utt").write_text("".join(f"{s} {' '.join(v)}\n" for s, v in sorted(spk2utt.items())))
    return ToyCorpus(lang=lang, data=data, utt_words=utt_words)
