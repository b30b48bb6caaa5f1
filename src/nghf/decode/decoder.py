"""Decoding per-utterance pdf log-likelihoods with Kaldi's decoders (pip ``kaldi-decoder``).

The decoders read scores through ``DecodableCtc``, whose column ``j`` is the score of
transition-id ``j + 1``; :func:`expand_to_tids` therefore maps the ``(T, num_pdfs)``
log-likelihood matrix to transition-id columns through the ``tid2pdf`` map and applies the
acoustic scale. With ``lattices=True`` ``LatticeSimpleDecoder`` produces the raw state-level
lattice (pruned to ``lattice_beam``), kept as a :class:`RawLattice` whose best path at LM
weight ``1/acoustic_scale`` is the decoder's own best path, and which can be re-scored at any
other LM weight. With ``lattices=False`` ``FasterDecoder`` gives the best path alone and
honours ``max_active``/``min_active`` (the lattice decoder prunes by beam only).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nghf._kaldi import kaldi_decoder, kaldifst
from nghf.decode.graph import DecodingGraph
from nghf.decode.lattice_arrays import lattice_from_text
from nghf.lattice.raw import RawLattice
from nghf.utils.logging import get_logger

log = get_logger(__name__)


class DecodeInputError(ValueError):
    """A log-likelihood matrix that does not fit the graph (message names the utterance)."""


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """The lattice-search options (Kaldi's names and meanings) that decoding
    (:class:`DecoderConfig`, ``conf/decode.yaml``) and denominator-lattice generation
    (:class:`nghf.decode.denlats.DenlatConfig`, ``conf/denlats.yaml``) share: one definition,
    one check."""

    beam: float = 13.0                # decoding beam (cost units of the scaled scores)
    lattice_beam: float = 8.0         # lattice pruning beam
    acoustic_scale: float = 0.1       # scale of acoustic log-likelihoods during search
    prune_interval: int = 25          # lattice decoder: prune the token lattice every N frames

    def __post_init__(self) -> None:
        if self.acoustic_scale <= 0:
            raise ValueError(f"acoustic_scale must be positive, got {self.acoustic_scale}")
        if self.beam <= 0 or self.lattice_beam <= 0:
            raise ValueError("beam and lattice_beam must be positive")

    def search_options(self) -> dict[str, float | int]:
        """The :class:`SearchConfig` fields of this config (of a subclass too), by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(SearchConfig)}


@dataclasses.dataclass(frozen=True)
class DecoderConfig(SearchConfig):
    """Decoder options: the shared search options and the decoder's own."""

    max_active: int = 7000            # best-path decoder only: max active states per frame
    min_active: int = 200             # best-path decoder only: min active states per frame
    lattices: bool = True             # keep raw lattices (for LM-weight sweeps)
    allow_partial: bool = True        # output the best partial path if no final state is reached


@dataclasses.dataclass(frozen=True)
class DecodeResult:
    """Best path of one utterance (word ids), its lattice, and how the search ended."""

    utt: str
    word_ids: list[int]
    num_frames: int
    reached_final: bool
    lattice: RawLattice | None


def expand_to_tids(loglik: np.ndarray, tid2pdf: np.ndarray, acoustic_scale: float,
                   utt: str = "?", num_pdfs: int | None = None) -> np.ndarray:
    """``(T, num_tids)`` float32 matrix whose column ``j`` is ``scale * loglik[:, pdf(j+1)]``."""
    expect = num_pdfs if num_pdfs is not None else int(tid2pdf[1:].max()) + 1
    if loglik.ndim != 2:
        raise DecodeInputError(f"utterance {utt}: log-likelihoods must be a (frames, pdfs) matrix, got shape {loglik.shape}")
    if loglik.shape[1] != expect:
        raise DecodeInputError(f"utterance {utt}: log-likelihood matrix has {loglik.shape[1]} pdf columns, "
                               f"the graph's transition model has {expect} pdfs")
    if loglik.shape[0] == 0:
        raise DecodeInputError(f"utterance {utt}: log-likelihood matrix has no frames")
    if not np.isfinite(loglik).all():
        bad = int(np.argwhere(~np.isfinite(loglik))[0, 0])
        raise DecodeInputError(f"utterance {utt}: log-likelihoods are not finite (first at frame {bad})")
    # Scale the (T, pdfs) matrix first, then gather the (many more) transition-id columns.
    scaled = np.multiply(loglik, np.float32(acoustic_scale), dtype=np.float32)
    return np.take(scaled, tid2pdf[1:], axis=1)


class Decoder:
    """Decodes utterances against one graph with one :class:`DecoderConfig`."""

    def __init__(self, graph: DecodingGraph, config: DecoderConfig, num_pdfs: int | None = None) -> None:
        self.graph = graph
        self.config = config
        self.num_pdfs = num_pdfs
        if config.lattices:
            opts = kaldi_decoder.LatticeSimpleDecoderConfig(
                beam=config.beam, lattice_beam=config.lattice_beam, prune_interval=config.prune_interval)
            self._decoder = kaldi_decoder.LatticeSimpleDecoder(graph.fst, opts)
        else:
            opts = kaldi_decoder.FasterDecoderOptions(
                beam=config.beam, max_active=config.max_active, min_active=config.min_active)
            self._decoder = kaldi_decoder.FasterDecoder(graph.fst, opts)

    def decode(self, utt: str, loglik: np.ndarray) -> DecodeResult:
        """Decode one ``(T, num_pdfs)`` log-likelihood matrix."""
        cfg = self.config
        scores = expand_to_tids(np.asarray(loglik), self.graph.tid2pdf, cfg.acoustic_scale, utt, self.num_pdfs)
        decodable = kaldi_decoder.DecodableCtc(scores)
        if cfg.lattices:
            self._decoder.decode(decodable)
            reached = bool(np.isfinite(self._decoder.final_relative_cost()))
        else:
            self._decoder.decode(decodable)
            reached = bool(self._decoder.reached_final())
        if not reached and not cfg.allow_partial:
            log.warning("utterance %s: no final state reached and allow_partial is false; empty output", utt)
            return DecodeResult(utt, [], scores.shape[0], False, None)
        if not reached:
            log.warning("utterance %s: no final state reached; using the best partial path", utt)
        if cfg.lattices:
            # Decode() has already finalised decoding, after which Kaldi refuses
            # use_final_probs=false. With use_final_probs=true and no final state reached,
            # Kaldi's GetRawLattice makes every last-frame token final with cost 0: exactly
            # the partial lattice wanted here.
            ok, raw = self._decoder.get_raw_lattice(use_final_probs=True)
            if not ok or raw.num_states == 0:
                log.warning("utterance %s: decoder produced an empty lattice; empty output", utt)
                return DecodeResult(utt, [], scores.shape[0], False, None)
            lattice = lattice_from_text(raw.to_str(), cfg.acoustic_scale)
            if not reached:
                lattice = _with_all_final(lattice)
            # The decoder's own best path is the lattice's best path at LM weight
            # 1/acoustic_scale (RawLattice.best_path), found in C++.
            words = self._best_words(True)
            return DecodeResult(utt, [] if words is None else words, scores.shape[0], reached, lattice)
        words = self._best_words(reached)
        if words is None:
            log.warning("utterance %s: decoder produced no path; empty output", utt)
            return DecodeResult(utt, [], scores.shape[0], False, None)
        return DecodeResult(utt, words, scores.shape[0], reached, None)

    def _best_words(self, use_final_probs: bool) -> list[int] | None:
        ok, best = self._decoder.get_best_path(use_final_probs=use_final_probs)
        if not ok:
            return None
        ok, _, olabels, _ = kaldifst.get_linear_symbol_sequence(best)
        return [int(w) for w in olabels] if ok else None


def _with_all_final(lat: RawLattice) -> RawLattice:
    """A partial lattice (``use_final_probs=False``) marks its last-frame states final with
    cost One already; keep it as is if it has finals, else make sink states final."""
    if lat.final_state.size:
        return lat
    sinks = np.setdiff1d(np.arange(lat.num_states), lat.src)
    zeros = np.zeros(sinks.size, dtype=np.float32)
    return dataclasses.replace(lat, final_state=sinks.astype(np.int32), final_graph=zeros, final_ac=zeros)
