"""Subword lexicons for corpora without a pronunciation dictionary.

A ``sentencepiece`` model (BPE or unigram) is trained on the training text; its pieces
become the "words" of the lexicon and the LM, and each piece is pronounced by the
espeak-ng G2P from its letters (the ``▁`` word-start marker is kept in the symbol so that
word boundaries can be restored, but not pronounced). A recipe then segments its
transcripts and LM text with ``encode_lines`` and joins decoded pieces with
``decode_pieces``. espeak-ng reads a fragment without a vowel letter (``ND``, ``S``) or a
single letter as letter names ("en dee"), which is wrong inside a word, so such pieces are
spelled letter by letter with ``LETTER_SOUNDS`` (each letter's most common sound) instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nghf.lang.g2p import EspeakG2P
from nghf.lang.lexicon import LexiconEntry
from nghf.utils.atomic import atomic_path
from nghf.utils.logging import get_logger

log = get_logger(__name__)

WORD_START = "\u2581"

#: Typical sound of each letter inside a word, for fragments espeak-ng would spell out.
LETTER_SOUNDS: dict[str, tuple[str, ...]] = {
    "A": ("AE",), "B": ("B",), "C": ("K",), "D": ("D",), "E": ("EH",), "F": ("F",),
    "G": ("G",), "H": ("HH",), "I": ("IH",), "J": ("JH",), "K": ("K",), "L": ("L",),
    "M": ("M",), "N": ("N",), "O": ("AA",), "P": ("P",), "Q": ("K",), "R": ("R",),
    "S": ("S",), "T": ("T",), "U": ("AH",), "V": ("V",), "W": ("W",), "X": ("K", "S"),
    "Y": ("Y",), "Z": ("Z",),
}
_VOWEL_LETTERS = frozenset("AEIOUY")


@dataclass(frozen=True)
class SubwordConfig:
    """Options of the subword model."""

    vocab_size: int = 500  # number of pieces (an upper bound on tiny texts)
    model_type: Literal["bpe", "unigram"] = "bpe"  # sentencepiece algorithm
    character_coverage: float = 1.0  # fraction of characters covered by the model


def train_subword_model(lines: Iterable[str], model_path: str | Path, config: SubwordConfig | None = None) -> None:
    """Train a sentencepiece model on ``lines`` (one sentence each) and write it atomically."""
    import sentencepiece as spm

    cfg = config or SubwordConfig()
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise ValueError("no text to train the subword model on")
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=cfg.vocab_size,
        model_type=cfg.model_type,
        character_coverage=cfg.character_coverage,
        hard_vocab_limit=False,
        num_threads=1,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
    )
    with atomic_path(model_path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def _processor(model_path: str | Path):  # noqa: ANN202  (sentencepiece has no stubs)
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=str(model_path))


def encode_lines(model_path: str | Path, lines: Iterable[str]) -> list[list[str]]:
    """Split each line into pieces."""
    sp = _processor(model_path)
    return [sp.encode(line.strip(), out_type=str) for line in lines]


def decode_pieces(pieces: Sequence[str]) -> list[str]:
    """Join pieces back into words at ``▁`` word starts."""
    text = "".join(pieces).replace(WORD_START, " ")
    return text.split()


def subword_lexicon(model_path: str | Path, g2p: EspeakG2P | None = None) -> list[LexiconEntry]:
    """A lexicon entry for every normal piece of the model, pronounced by the G2P.

    Pieces whose letters give no pronunciation (a bare ``▁``, punctuation) are left out
    and logged; the model's ``<unk>`` piece is left to the dictionary's ``<unk>`` word.
    """
    sp = _processor(model_path)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if not (sp.is_unknown(i) or sp.is_control(i))]
    g2p = g2p or EspeakG2P()
    spelled = g2p.pronounce([p.replace(WORD_START, "") for p in pieces])
    entries, skipped = [], []
    for piece in pieces:
        letters = piece.replace(WORD_START, "")
        phones = spelled.get(letters, [])
        upper = letters.upper()
        if upper.isalpha() and (len(upper) == 1 or not _VOWEL_LETTERS & set(upper)):
            phones = [p for ch in upper for p in LETTER_SOUNDS.get(ch, ())]
        if phones:
            entries.append(LexiconEntry(piece, tuple(phones)))
        else:
            skipped.append(piece)
    if skipped:
        log.warning("subword lexicon: %d piece(s) without pronunciation left out: %s", len(skipped), " ".join(skipped[:20]))
    return entries
