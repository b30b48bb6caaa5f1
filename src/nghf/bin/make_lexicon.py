"""``nghf-make-lexicon``: a Kaldi dictionary directory from word lists or texts.

Word mode (default): every word of the inputs gets its CMUdict pronunciations, or the
espeak-ng G2P's when CMUdict lacks it; the G2P words are listed in ``<dict-dir>/g2p_words.txt``
and words nobody can pronounce in ``<dict-dir>/unpronounceable.txt`` (they become ``<unk>``).
Given-lexicon mode (``--lexicon FILE``): the corpus's own ``word phones...`` lexicon is the
dictionary (its phones are the phone set); words of the transcripts (``--kaldi-text``,
``--words``) it lacks are listed in ``<dict-dir>/oov_words.txt`` (they become ``<unk>``).
Subword mode (``--subword-vocab N``): a sentencepiece model is trained on the inputs
(``<dict-dir>/subword.model``) and its pieces, pronounced by the G2P, form the lexicon.

    nghf-make-lexicon --kaldi-text data/train/text --text data/local/lm_text.txt data/local/dict
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from nghf.bin._cli_common import CliParser
from nghf.bin._lang_common import run_main
from nghf.lang.g2p import EspeakG2P
from nghf.lang.lexicon import (
    SpecialWords,
    build_lexicon,
    given_lexicon,
    read_text_words,
    read_word_list,
    write_dict_dir,
)
from nghf.lang.subword import SubwordConfig, subword_lexicon, train_subword_model
from nghf.utils.atomic import atomic_write_text


def most_frequent_words(words: list[str], limit: int) -> list[str]:
    """The ``limit`` most frequent of ``words`` (all distinct words when ``limit`` <= 0).

    A recipe's vocabulary is its training words plus the most frequent LM-text words, as in
    Kaldi/MGB recipes; ties are broken alphabetically so the result is deterministic."""
    counts = Counter(words)
    if limit <= 0:
        return sorted(counts)
    return sorted(sorted(counts, key=lambda w: (-counts[w], w))[:limit])


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-make-lexicon", description=__doc__)
    p.add_argument("--words", action="append", default=[], help="word list (first field per line); repeatable")
    p.add_argument("--text", action="append", default=[], help="plain text, one sentence per line; repeatable")
    p.add_argument("--kaldi-text", action="append", default=[], help="Kaldi text (utt-id words...); repeatable")
    p.add_argument("--max-text-words", type=int, default=0,
                   help="> 0: from --text inputs keep only this many most frequent words "
                        "(ties alphabetical); --words/--kaldi-text words are always kept")
    p.add_argument("--oov-word", default="<unk>", help="OOV word, pronounced with SPN")
    p.add_argument("--noise-word", default="<noise>", help="noise/music word, pronounced with NSN ('' for none)")
    p.add_argument("--voice", default="en-us", help="espeak-ng voice of the G2P")
    p.add_argument("--lexicon", default="", help="the corpus's own lexicon.txt (word phones...) instead of "
                   "CMUdict + G2P; transcript words it lacks go to <dict-dir>/oov_words.txt")
    p.add_argument("--subword-vocab", type=int, default=0, help="if > 0: subword lexicon with this many pieces")
    p.add_argument("--subword-type", choices=("bpe", "unigram"), default="bpe", help="sentencepiece model type")
    p.add_argument("dict_dir", help="output dictionary directory")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not (args.words or args.text or args.kaldi_text):
            raise ValueError("give at least one --words, --text or --kaldi-text input")
        out = Path(args.dict_dir)
        g2p = EspeakG2P(voice=args.voice)
        specials = SpecialWords(oov_word=args.oov_word, noise_word=args.noise_word)
        reserved = {w for w in (specials.silence_word, specials.oov_word, specials.noise_word) if w}
        if args.lexicon and args.subword_vocab > 0:
            raise ValueError("--lexicon and --subword-vocab exclude each other")
        if args.lexicon:
            # OOVs of the transcripts and word lists; --text (LM text) words outside the
            # lexicon are simply not in the vocabulary.
            words = [w for f in args.words for w in read_word_list(f)]
            words += [w for f in args.kaldi_text for w in read_text_words(f, has_utt_ids=True)]
            entries, phones, oovs = given_lexicon(args.lexicon, words, specials)
            atomic_write_text(out / "oov_words.txt", "".join(f"{w}\n" for w in oovs))
            print(f"nghf-make-lexicon: {args.lexicon}: {len({e.word for e in entries})} words, "
                  f"{len(phones)} phones; {len(oovs)} input words not in it (-> {args.oov_word}, "
                  f"listed in {out / 'oov_words.txt'})")
            write_dict_dir(entries, out, specials, nonsilence_phones=phones)
            return 0
        if args.subword_vocab > 0:
            lines = [line for f in args.text for line in Path(f).read_text(encoding="utf-8").splitlines()]
            lines += [" ".join(line.split()[1:]) for f in args.kaldi_text
                      for line in Path(f).read_text(encoding="utf-8").splitlines()]
            lines += [w for f in args.words for w in read_word_list(f)]
            train_subword_model(lines, out / "subword.model",
                                SubwordConfig(vocab_size=args.subword_vocab, model_type=args.subword_type))
            entries = subword_lexicon(out / "subword.model", g2p)
        else:
            words = [w for f in args.words for w in read_word_list(f)]
            words += most_frequent_words(
                [w for f in args.text for w in read_text_words(f)], args.max_text_words)
            words += [w for f in args.kaldi_text for w in read_text_words(f, has_utt_ids=True)]
            entries, stats = build_lexicon((w for w in words if w not in reserved), g2p=g2p)
            atomic_write_text(out / "g2p_words.txt", "".join(f"{w}\n" for w in stats.g2p_words))
            atomic_write_text(out / "unpronounceable.txt", "".join(f"{w}\n" for w in stats.unpronounceable))
            print(f"nghf-make-lexicon: {stats.n_words} words: {stats.n_cmudict} from CMUdict, "
                  f"{stats.n_g2p} from G2P, {len(stats.unpronounceable)} unpronounceable (-> {args.oov_word})")
        write_dict_dir(entries, out, specials)
        return 0

    return run_main("nghf-make-lexicon", body)


if __name__ == "__main__":
    raise SystemExit(main())
