"""The embedded broadcast-style corpus: deterministic, offline, built from speech synthesis.

Public API: ``CorpusConfig`` (``conf/corpus.yaml``), ``prepare``/``render``/``merge`` (the
three steps run by ``local/make_corpus.sh`` through ``nghf-make-corpus``) and
``build_corpus`` (all three in one process).
"""

from nghf.corpus.config import CorpusConfig, GenreConfig, SplitHours, TextConfig, VoiceConfig
from nghf.corpus.pipeline import build_corpus, merge, prepare, render

__all__ = ["CorpusConfig", "GenreConfig", "SplitHours", "TextConfig", "VoiceConfig",
           "build_corpus", "merge", "prepare", "render"]
