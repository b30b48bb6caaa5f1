"""``validate_lang``: consistency checks on a Kaldi lang directory, one message per problem.

Like Kaldi's ``utils/validate_lang.pl``, but returning every problem found rather than
stopping at the first: missing files; symbol tables that are malformed, not contiguous from
``<eps>`` = 0 or lack the required symbols; ``phones/*`` lists whose ``.txt``, ``.int`` and
``.csl`` forms disagree or that do not partition the phone set; disambiguation symbols
missing or not ``#0..#N``; sets/roots/extra_questions/word_boundary/align_lexicon entries
outside the phone or word set; a topology that does not cover exactly the non-disambig
phones; and ``L.fst``/``L_disambig.fst``/``G.fst`` that cannot be read, use labels outside
the symbol tables or are not sorted as Kaldi expects.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from nghf._kaldi import kaldi_hmm_gmm, kaldifst
from nghf.lang.lexicon_fst import fst_labels
from nghf.lang.symbols import SymbolError, SymbolTable, read_symbols

REQUIRED_FILES = (
    "phones.txt", "words.txt", "oov.txt", "oov.int", "topo", "L.fst", "L_disambig.fst",
    *(f"phones/{n}.{x}" for n in ("silence", "nonsilence", "optional_silence", "disambig", "context_indep")
      for x in ("txt", "int", "csl")),
    *(f"phones/{n}.{x}" for n in ("sets", "roots", "extra_questions", "align_lexicon") for x in ("txt", "int")),
    "phones/wdisambig.txt", "phones/wdisambig_phones.int", "phones/wdisambig_words.int",
)
BOUNDARY_KINDS = ("nonword", "begin", "end", "internal", "singleton")


class _Checker:
    def __init__(self, lang: Path) -> None:
        self.lang = lang
        self.problems: list[str] = []

    def fail(self, msg: str) -> None:
        self.problems.append(msg)

    def lines(self, rel: str) -> list[list[str]] | None:
        path = self.lang / rel
        if not path.is_file():
            return None
        return [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.split()]


def validate_lang(lang_dir: str | Path) -> list[str]:
    """All problems found in ``lang_dir`` (an empty list means it is valid)."""
    lang = Path(lang_dir)
    if not lang.is_dir():
        return [f"{lang}: lang directory does not exist"]
    c = _Checker(lang)
    for rel in REQUIRED_FILES:
        if not (lang / rel).is_file():
            c.fail(f"{lang / rel}: missing")
    phones = _read_table(c, "phones.txt")
    words = _read_table(c, "words.txt")
    if phones is None or words is None:
        return c.problems
    for sym in ("#0", "<s>", "</s>"):
        if sym not in words:
            c.fail(f"{lang / 'words.txt'}: required symbol {sym} missing")
    lists = {n: _check_list(c, phones, n) for n in ("silence", "nonsilence", "optional_silence", "disambig", "context_indep")}
    _check_partition(c, phones, lists)
    _check_disambig(c, phones, lists.get("disambig"))
    real = set(lists.get("silence") or ()) | set(lists.get("nonsilence") or ())
    if lists.get("optional_silence") is not None:
        opt = lists["optional_silence"]
        if len(opt) != 1 or opt[0] not in set(lists.get("silence") or ()):
            c.fail(f"{lang / 'phones/optional_silence.txt'}: must be one phone from phones/silence.txt, got {opt}")
    _check_line_file(c, phones, "sets", real, skip=0, once=True)
    _check_line_file(c, phones, "roots", real, skip=2, once=True)
    _check_line_file(c, phones, "extra_questions", real, skip=0, once=False)
    _check_roots_keywords(c)
    _check_word_boundary(c, phones, real)
    _check_align_lexicon(c, phones, words, real)
    _check_oov(c, words)
    _check_wdisambig(c, phones, words)
    _check_topo(c, phones, real)
    disambig_ids = {phones.id(p) for p in lists.get("disambig") or () if p in phones}
    real_ids = {phones.id(p) for p in real if p in phones}
    _check_fst(c, "L.fst", real_ids, set(), words, sort="olabel")
    _check_fst(c, "L_disambig.fst", real_ids, disambig_ids, words, sort="olabel")
    if (lang / "G.fst").is_file():
        _check_g(c, words)
    return c.problems


def _read_table(c: _Checker, rel: str) -> SymbolTable | None:
    if not (c.lang / rel).is_file():
        return None
    try:
        table = read_symbols(c.lang / rel)
    except SymbolError as err:
        c.fail(str(err))
        return None
    for problem in table.check_contiguous():
        c.fail(problem)
    return table


def _check_list(c: _Checker, phones: SymbolTable, name: str) -> list[str] | None:
    txt = c.lines(f"phones/{name}.txt")
    if txt is None:
        return None
    syms = []
    for lineno, fields in enumerate(txt, start=1):
        if len(fields) != 1:
            c.fail(f"{c.lang / f'phones/{name}.txt'}:{lineno}: expected one phone per line")
        syms.append(fields[0])
    unknown = [s for s in syms if s not in phones]
    if unknown:
        c.fail(f"{c.lang / f'phones/{name}.txt'}: phone(s) not in phones.txt: {' '.join(unknown[:10])}")
        return syms
    ids = [phones.id(s) for s in syms]
    ints = c.lines(f"phones/{name}.int")
    if ints is not None and [int(f[0]) if f[0].isdigit() else -1 for f in ints] != ids:
        c.fail(f"{c.lang / f'phones/{name}.int'}: does not match phones/{name}.txt through phones.txt")
    csl = c.lines(f"phones/{name}.csl")
    if csl is not None and (len(csl) != 1 or csl[0][0] != ":".join(map(str, ids))):
        c.fail(f"{c.lang / f'phones/{name}.csl'}: does not match phones/{name}.txt through phones.txt")
    return syms


def _check_partition(c: _Checker, phones: SymbolTable, lists: dict[str, list[str] | None]) -> None:
    parts = [lists.get(n) for n in ("silence", "nonsilence", "disambig")]
    if any(p is None for p in parts):
        return
    counts = Counter(p for part in parts for p in part or ())
    repeated = sorted(p for p, n in counts.items() if n > 1)
    if repeated:
        c.fail(f"{c.lang / 'phones'}: phone(s) in more than one of silence/nonsilence/disambig: {' '.join(repeated[:10])}")
    table = {s for s, _ in phones.symbols} - {"<eps>"}
    missing = sorted(table - set(counts))
    if missing:
        c.fail(f"{c.lang / 'phones.txt'}: phone(s) in none of phones/silence, nonsilence, disambig: {' '.join(missing[:10])}")


def _check_disambig(c: _Checker, phones: SymbolTable, disambig: list[str] | None) -> None:
    if disambig is None:
        return
    expected = [f"#{i}" for i in range(len(disambig))]
    if disambig != expected:
        c.fail(f"{c.lang / 'phones/disambig.txt'}: expected #0..#{len(disambig) - 1} in order, got {' '.join(disambig[:10])}")
    stray = sorted(s for s, _ in phones.symbols if s.startswith("#") and s not in set(disambig))
    if stray:
        c.fail(f"{c.lang / 'phones.txt'}: disambiguation symbol(s) not in phones/disambig.txt: {' '.join(stray)}")


def _check_line_file(c: _Checker, phones: SymbolTable, name: str, real: set[str], skip: int, once: bool) -> None:
    txt = c.lines(f"phones/{name}.txt")
    if txt is None:
        return
    seen: Counter[str] = Counter()
    for lineno, fields in enumerate(txt, start=1):
        bad = [p for p in fields[skip:] if p not in real]
        if bad:
            c.fail(f"{c.lang / f'phones/{name}.txt'}:{lineno}: phone(s) not in silence/nonsilence: {' '.join(bad[:10])}")
        seen.update(fields[skip:])
    if once:
        twice = sorted(p for p, n in seen.items() if n > 1)
        if twice:
            c.fail(f"{c.lang / f'phones/{name}.txt'}: phone(s) listed more than once: {' '.join(twice[:10])}")
        absent = sorted(real - set(seen))
        if absent:
            c.fail(f"{c.lang / f'phones/{name}.txt'}: phone(s) not covered: {' '.join(absent[:10])}")
    ints = c.lines(f"phones/{name}.int")
    if ints is not None:
        expect = [f[:skip] + [str(phones.id(p)) if p in phones else "?" for p in f[skip:]] for f in txt]
        if ints != expect:
            c.fail(f"{c.lang / f'phones/{name}.int'}: does not match phones/{name}.txt through phones.txt")


def _check_roots_keywords(c: _Checker) -> None:
    for lineno, fields in enumerate(c.lines("phones/roots.txt") or [], start=1):
        if len(fields) < 3 or fields[0] not in ("shared", "not-shared") or fields[1] not in ("split", "not-split"):
            c.fail(f"{c.lang / 'phones/roots.txt'}:{lineno}: expected '(not-)shared (not-)split phones...'")


def _check_word_boundary(c: _Checker, phones: SymbolTable, real: set[str]) -> None:
    txt = c.lines("phones/word_boundary.txt")
    if txt is None:
        return
    listed = set()
    for lineno, fields in enumerate(txt, start=1):
        if len(fields) != 2 or fields[1] not in BOUNDARY_KINDS or fields[0] not in real:
            c.fail(f"{c.lang / 'phones/word_boundary.txt'}:{lineno}: expected '<phone> {'|'.join(BOUNDARY_KINDS)}', got {' '.join(fields)}")
        listed.add(fields[0])
    if listed != real:
        c.fail(f"{c.lang / 'phones/word_boundary.txt'}: does not list every phone exactly: missing {sorted(real - listed)[:10]}")


def _check_align_lexicon(c: _Checker, phones: SymbolTable, words: SymbolTable, real: set[str]) -> None:
    txt = c.lines("phones/align_lexicon.txt")
    if txt is None:
        return
    for lineno, fields in enumerate(txt, start=1):
        if len(fields) < 3 or fields[0] != fields[1]:
            c.fail(f"{c.lang / 'phones/align_lexicon.txt'}:{lineno}: expected 'word word phones...'")
            continue
        if fields[0] not in words:
            c.fail(f"{c.lang / 'phones/align_lexicon.txt'}:{lineno}: word {fields[0]} not in words.txt")
        bad = [p for p in fields[2:] if p not in real]
        if bad:
            c.fail(f"{c.lang / 'phones/align_lexicon.txt'}:{lineno}: word {fields[0]}: phone(s) not in the phone set: {' '.join(bad)}")
    ints = c.lines("phones/align_lexicon.int")
    if ints is not None and len(ints) != len(txt):
        c.fail(f"{c.lang / 'phones/align_lexicon.int'}: {len(ints)} lines, align_lexicon.txt has {len(txt)}")


def _check_oov(c: _Checker, words: SymbolTable) -> None:
    txt, ints = c.lines("oov.txt"), c.lines("oov.int")
    if txt is None or ints is None:
        return
    if len(txt) != 1 or txt[0][0] not in words:
        c.fail(f"{c.lang / 'oov.txt'}: must hold one word from words.txt")
    elif len(ints) != 1 or ints[0][0] != str(words.id(txt[0][0])):
        c.fail(f"{c.lang / 'oov.int'}: does not match oov.txt through words.txt")


def _check_wdisambig(c: _Checker, phones: SymbolTable, words: SymbolTable) -> None:
    for rel, table in (("phones/wdisambig_phones.int", phones), ("phones/wdisambig_words.int", words)):
        ints = c.lines(rel)
        if ints is not None and "#0" in table and ints != [[str(table.id("#0"))]]:
            c.fail(f"{c.lang / rel}: expected the id of #0 ({table.id('#0')})")


def _check_topo(c: _Checker, phones: SymbolTable, real: set[str]) -> None:
    path = c.lang / "topo"
    if not path.is_file():
        return
    topo = kaldi_hmm_gmm.HmmTopology()
    try:
        topo.read(path.read_text(encoding="utf-8"))
        topo.check()
    except Exception as err:  # the binding raises RuntimeError with Kaldi's message
        c.fail(f"{path}: not a valid Kaldi topology: {str(err).strip().splitlines()[-1] if str(err).strip() else err}")
        return
    covered = set(topo.phones)
    want = {phones.id(p) for p in real if p in phones}
    if covered != want:
        missing = sorted(phones.symbol(i) for i in want - covered)
        extra = sorted(str(i) for i in covered - want)
        c.fail(f"{path}: covers the wrong phones (missing {missing[:10]}, not silence/nonsilence {extra[:10]})")


def _read_fst(c: _Checker, rel: str) -> kaldifst.StdVectorFst | None:
    path = c.lang / rel
    if not path.is_file():
        return None
    try:
        fst = kaldifst.StdVectorFst.read(str(path))
    except Exception as err:  # unreadable or not a vector FST
        c.fail(f"{path}: cannot read as an OpenFst StdVectorFst: {err}")
        return None
    if fst is None or fst.start < 0:
        c.fail(f"{path}: cannot read, or the FST has no start state")
        return None
    return fst


def _check_fst(
    c: _Checker, rel: str, real_ids: set[int], disambig_ids: set[int], words: SymbolTable, sort: str
) -> None:
    fst = _read_fst(c, rel)
    if fst is None:
        return
    ins, outs = fst_labels(fst)
    bad_in = sorted(ins - real_ids - disambig_ids - {0})
    if bad_in:
        c.fail(f"{c.lang / rel}: input label(s) that are not allowed phones: {bad_in[:10]}")
    bad_out = sorted(o for o in outs if not words.has_id(o))
    if bad_out:
        c.fail(f"{c.lang / rel}: output label(s) not in words.txt: {bad_out[:10]}")
    specials = sorted(words.symbol(o) for o in outs if words.has_id(o) and words.symbol(o) in ("<s>", "</s>"))
    if specials:
        c.fail(f"{c.lang / rel}: must not output {', '.join(specials)}")
    if disambig_ids and "#0" in words:
        _check_present(c, rel, ins, disambig_ids, "no disambiguation symbol on any input label")
    sorted_ok = fst.is_olabel_sorted if sort == "olabel" else fst.is_ilabel_sorted
    if not sorted_ok:
        c.fail(f"{c.lang / rel}: arcs are not {sort}-sorted")


def _check_present(c: _Checker, rel: str, labels: set[int], wanted: set[int], msg: str) -> None:
    if not labels & wanted:
        c.fail(f"{c.lang / rel}: {msg}")


def _check_g(c: _Checker, words: SymbolTable) -> None:
    fst = _read_fst(c, "G.fst")
    if fst is None:
        return
    ins, outs = fst_labels(fst)
    bad = sorted(x for x in ins | outs if not words.has_id(x))
    if bad:
        c.fail(f"{c.lang / 'G.fst'}: label(s) not in words.txt: {bad[:10]}")
    for sym in ("<s>", "</s>"):
        if sym in words and words.id(sym) in ins | outs:
            c.fail(f"{c.lang / 'G.fst'}: has {sym} on arcs (compile with the #0 disambiguation symbol)")
    if not fst.is_ilabel_sorted:
        c.fail(f"{c.lang / 'G.fst'}: arcs are not ilabel-sorted")
