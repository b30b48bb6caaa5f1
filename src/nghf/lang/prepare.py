"""``prepare_lang``: a Kaldi lang directory from a dictionary directory.

Reads ``<dict-dir>`` (``lexicon.txt`` or ``lexiconp.txt``, ``silence_phones.txt``,
``nonsilence_phones.txt``, ``optional_silence.txt``, optional ``extra_questions.txt``) and
writes what Kaldi's ``utils/prepare_lang.sh`` writes, in the same order and format:

* ``phones.txt`` (``<eps>``, silence phones, non-silence phones, ``#0..#N``) and
  ``words.txt`` (``<eps>`` = 0, sorted words, ``#0``, ``<s>``, ``</s>``);
* word-position-dependent phones (``_B _E _I _S``; silence phones also keep a bare form);
* ``phones/``: silence, nonsilence, optional_silence, disambig, context_indep (``.txt``,
  ``.int``, ``.csl``), sets, roots, extra_questions, word_boundary, align_lexicon,
  wdisambig*;
* ``oov.txt``/``oov.int``, ``topo`` (``nghf.lang.topo``);
* ``L.fst`` and ``L_disambig.fst`` (``nghf.lang.lexicon_fst``), olabel-sorted, binary
  OpenFst; ``L_disambig`` has the #k symbols of ``nghf.lang.disambig``, the silence
  disambiguation symbol and ``#0:#0`` self-loops so that G's back-off symbol passes.

The lang dir is built under a temporary name and renamed when complete (``.done`` marker);
intermediate lexicons go to ``<tmp-dir>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nghf._kaldi import kaldifst
from nghf.lang.disambig import add_lex_disambig
from nghf.lang.lexicon import LexiconEntry, LexiconError, read_lexicon
from nghf.lang.lexicon_fst import IntPron, make_lexicon_fst
from nghf.lang.phones import POSITION_SUFFIXES, position_variants
from nghf.lang.symbols import SymbolTable
from nghf.lang.topo import make_topo
from nghf.utils.atomic import atomic_path, atomic_write_text, mark_done
from nghf.utils.config import dump_config
from nghf.utils.logging import get_logger

log = get_logger(__name__)

RESERVED_WORDS = ("<eps>", "#0", "<s>", "</s>")


@dataclass(frozen=True)
class LangConfig:
    """Options of ``prepare_lang`` (``conf/lang.yaml``)."""

    position_dependent_phones: bool = True  # Kaldi's _B/_E/_I/_S word-position phones
    sil_prob: float = 0.5  # probability of optional silence after a word (0 disables it)
    num_nonsil_states: int = 3  # emitting HMM states per non-silence phone
    num_sil_states: int = 5  # emitting HMM states per silence phone

    def __post_init__(self) -> None:
        if not 0.0 <= self.sil_prob < 1.0:
            raise ValueError(f"sil_prob must be in [0, 1), got {self.sil_prob}")
        if self.num_nonsil_states < 1 or self.num_sil_states < 1:
            raise ValueError("num_nonsil_states and num_sil_states must be >= 1")


@dataclass(frozen=True)
class DictDir:
    """The contents of a Kaldi dictionary directory."""

    silence_sets: tuple[tuple[str, ...], ...]
    nonsilence_sets: tuple[tuple[str, ...], ...]
    optional_silence: str
    extra_questions: tuple[tuple[str, ...], ...]
    lexicon: tuple[LexiconEntry, ...]


def _read_sets(path: Path, required: bool = True) -> tuple[tuple[str, ...], ...]:
    if not path.exists():
        if required:
            raise LexiconError(f"{path}: missing (required in a dictionary directory)")
        return ()
    sets = tuple(tuple(line.split()) for line in path.read_text(encoding="utf-8").splitlines() if line.split())
    if required and not sets:
        raise LexiconError(f"{path}: empty")
    return sets


def read_dict_dir(dict_dir: str | Path) -> DictDir:
    """Read and check a dictionary directory (errors name the file and line)."""
    d = Path(dict_dir)
    if not d.is_dir():
        raise LexiconError(f"{d}: dictionary directory does not exist")
    sil = _read_sets(d / "silence_phones.txt")
    nonsil = _read_sets(d / "nonsilence_phones.txt")
    opt = _read_sets(d / "optional_silence.txt")
    if len(opt) != 1 or len(opt[0]) != 1:
        raise LexiconError(f"{d / 'optional_silence.txt'}: expected exactly one phone")
    extra = _read_sets(d / "extra_questions.txt", required=False)
    seen: dict[str, str] = {}
    for name, sets in (("silence_phones.txt", sil), ("nonsilence_phones.txt", nonsil)):
        for phone in (p for s in sets for p in s):
            if phone in seen:
                raise LexiconError(f"{d / name}: phone {phone} also in {seen[phone]}")
            if phone.startswith("#") or phone == "<eps>" or any(phone.endswith(x) for x in POSITION_SUFFIXES):
                raise LexiconError(f"{d / name}: invalid phone name {phone!r}")
            seen[phone] = name
    silence = {p for s in sil for p in s}
    if opt[0][0] not in silence:
        raise LexiconError(f"{d / 'optional_silence.txt'}: {opt[0][0]} is not in silence_phones.txt")
    for lineno, q in enumerate(extra, start=1):
        bad = [p for p in q if p not in seen]
        if bad:
            raise LexiconError(f"{d / 'extra_questions.txt'}:{lineno}: unknown phone(s) {' '.join(bad)}")
    lexp = d / "lexiconp.txt"
    lexicon_path = lexp if lexp.exists() else d / "lexicon.txt"
    if not lexicon_path.exists():
        raise LexiconError(f"{d}: neither lexicon.txt nor lexiconp.txt exists")
    lexicon = read_lexicon(lexicon_path, with_probs=lexicon_path == lexp)
    lines = [ln for ln in lexicon_path.read_text(encoding="utf-8").splitlines() if ln.split()]
    for lineno, (entry, line) in enumerate(zip(lexicon, lines, strict=True), start=1):
        bad = [p for p in entry.phones if p not in seen]
        if bad:
            raise LexiconError(f"{lexicon_path}:{lineno}: word {entry.word}: phone(s) {' '.join(bad)} not in the phone set ({line!r})")
        if entry.word in RESERVED_WORDS or entry.word.startswith("#"):
            raise LexiconError(f"{lexicon_path}:{lineno}: reserved word {entry.word!r} in the lexicon")
    return DictDir(sil, nonsil, opt[0][0], extra, tuple(lexicon))


def _positional(pron: Sequence[str]) -> tuple[str, ...]:
    if len(pron) == 1:
        return (pron[0] + "_S",)
    return tuple(p + ("_B" if i == 0 else "_E" if i == len(pron) - 1 else "_I") for i, p in enumerate(pron))


def prepare_lang(
    dict_dir: str | Path,
    oov_word: str,
    tmp_dir: str | Path,
    lang_dir: str | Path,
    config: LangConfig | None = None,
) -> None:
    """Build the lang directory ``lang_dir`` from ``dict_dir`` (see the module docstring)."""
    cfg = config or LangConfig()
    dd = read_dict_dir(dict_dir)
    tmp = Path(tmp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    pos = cfg.position_dependent_phones
    silence_phones = {p for s in dd.silence_sets for p in s}

    def variants(phone: str) -> list[str]:
        return position_variants(phone, phone in silence_phones) if pos else [phone]

    sil_list = [v for s in dd.silence_sets for p in s for v in variants(p)]
    nonsil_list = [v for s in dd.nonsilence_sets for p in s for v in variants(p)]

    lexicon = [
        LexiconEntry(e.word, _positional(e.phones) if pos else e.phones, e.prob) for e in dd.lexicon
    ]
    words_in_lex = {e.word for e in lexicon}
    if oov_word not in words_in_lex:
        raise LexiconError(f"{dict_dir}: the OOV word {oov_word!r} is not in the lexicon")
    disambig_prons, max_disambig = add_lex_disambig([e.phones for e in lexicon])
    ndisambig = max_disambig + 1  # one more for silence in L_disambig
    disambig_syms = [f"#{i}" for i in range(ndisambig + 1)]
    atomic_write_text(tmp / "lexiconp.txt", "".join(f"{e.word}\t{e.prob:g}\t{' '.join(e.phones)}\n" for e in lexicon))
    atomic_write_text(
        tmp / "lexiconp_disambig.txt",
        "".join(f"{e.word}\t{e.prob:g}\t{' '.join(p)}\n" for e, p in zip(lexicon, disambig_prons, strict=True)),
    )

    phones = SymbolTable.from_list(["<eps>", *sil_list, *nonsil_list, *disambig_syms], "phones.txt")
    words = SymbolTable.from_list(["<eps>", *sorted(words_in_lex), "#0", "<s>", "</s>"], "words.txt")

    with atomic_path(lang_dir) as out:
        out.mkdir(parents=True)
        pdir = out / "phones"
        pdir.mkdir()
        phones.write(out / "phones.txt")
        words.write(out / "words.txt")

        def write_list(name: str, items: Sequence[str]) -> None:
            (pdir / f"{name}.txt").write_text("".join(f"{x}\n" for x in items), encoding="utf-8")
            (pdir / f"{name}.int").write_text("".join(f"{phones.id(x)}\n" for x in items), encoding="utf-8")
            (pdir / f"{name}.csl").write_text(":".join(str(phones.id(x)) for x in items) + "\n", encoding="utf-8")

        write_list("silence", sil_list)
        write_list("nonsilence", nonsil_list)
        write_list("optional_silence", [dd.optional_silence])
        write_list("disambig", disambig_syms)
        write_list("context_indep", sil_list)

        def write_lines(name: str, lines: Sequence[Sequence[str]], prefix: int = 0) -> None:
            (pdir / f"{name}.txt").write_text("".join(" ".join(line) + "\n" for line in lines), encoding="utf-8")
            ints = [list(line[:prefix]) + [str(phones.id(p)) for p in line[prefix:]] for line in lines]
            (pdir / f"{name}.int").write_text("".join(" ".join(line) + "\n" for line in ints), encoding="utf-8")

        sets = [[v for p in s for v in variants(p)] for s in (*dd.silence_sets, *dd.nonsilence_sets)]
        write_lines("sets", sets)
        write_lines("roots", [["shared", "split", *s] for s in sets], prefix=2)
        questions = [[v for p in q for v in variants(p)] for q in dd.extra_questions]
        if pos:
            nonsil_base = [p for s in dd.nonsilence_sets for p in s]
            sil_base = [p for s in dd.silence_sets for p in s]
            questions += [[p + x for p in nonsil_base] for x in POSITION_SUFFIXES]
            questions += [[p + x for p in sil_base] for x in ("", *POSITION_SUFFIXES)]
        write_lines("extra_questions", questions)
        if pos:
            kinds = {"_B": "begin", "_E": "end", "_I": "internal", "_S": "singleton"}
            boundary = [[p, kinds.get(p[-2:], "nonword")] for p in (*sil_list, *nonsil_list)]
            (pdir / "word_boundary.txt").write_text("".join(f"{p} {k}\n" for p, k in boundary), encoding="utf-8")
            (pdir / "word_boundary.int").write_text(
                "".join(f"{phones.id(p)} {k}\n" for p, k in boundary), encoding="utf-8"
            )
        align = sorted({f"{e.word} {e.word} {' '.join(e.phones)}" for e in lexicon}
                       | {f"<eps> <eps> {variants(dd.optional_silence)[0]}"})
        (pdir / "align_lexicon.txt").write_text("".join(a + "\n" for a in align), encoding="utf-8")
        (pdir / "align_lexicon.int").write_text(
            "".join(
                " ".join([str(words.id(f[0])), str(words.id(f[1])), *(str(phones.id(p)) for p in f[2:])]) + "\n"
                for f in (a.split() for a in align)
            ),
            encoding="utf-8",
        )
        (pdir / "wdisambig.txt").write_text("#0\n", encoding="utf-8")
        (pdir / "wdisambig_phones.int").write_text(f"{phones.id('#0')}\n", encoding="utf-8")
        (pdir / "wdisambig_words.int").write_text(f"{words.id('#0')}\n", encoding="utf-8")
        (out / "oov.txt").write_text(f"{oov_word}\n", encoding="utf-8")
        (out / "oov.int").write_text(f"{words.id(oov_word)}\n", encoding="utf-8")
        (out / "topo").write_text(
            make_topo(phones.ids(nonsil_list), phones.ids(sil_list), cfg.num_nonsil_states, cfg.num_sil_states),
            encoding="utf-8",
        )

        sil_phone = phones.id(dd.optional_silence)
        plain = [IntPron(words.id(e.word), e.prob, tuple(phones.ids(e.phones))) for e in lexicon]
        lfst = make_lexicon_fst(plain, cfg.sil_prob, sil_phone)
        kaldifst.arcsort(lfst, sort_type="olabel")
        _write_fst(lfst, out / "L.fst")
        with_disambig = [
            IntPron(words.id(e.word), e.prob, tuple(phones.ids(p)))
            for e, p in zip(lexicon, disambig_prons, strict=True)
        ]
        ldis = make_lexicon_fst(
            with_disambig, cfg.sil_prob, sil_phone, phones.id(f"#{ndisambig}") if cfg.sil_prob > 0 else None
        )
        kaldifst.add_self_loops(ldis, [phones.id("#0")], [words.id("#0")])
        kaldifst.arcsort(ldis, sort_type="olabel")
        _write_fst(ldis, out / "L_disambig.fst")
        dump_config(cfg, out / "lang.yaml")
    mark_done(lang_dir)
    log.info(
        "prepared %s: %d phones, %d words, %d disambiguation symbols, %d pronunciations",
        lang_dir, len(sil_list) + len(nonsil_list), len(words) - 4, len(disambig_syms), len(lexicon),
    )


def _write_fst(fst: kaldifst.StdVectorFst, path: Path) -> None:
    if not fst.write(str(path)):
        raise OSError(f"{path}: could not write FST")
