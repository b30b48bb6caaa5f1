"""Merge rendered recordings into Kaldi data directories and write the corpus summary.

For each set ``<out>/data/<set>/`` gets ``wav.scp``, ``segments``, ``text``, ``utt2spk``,
``spk2utt``, ``reco2dur`` and ``utt2dur``, each sorted in C order (utterance ids begin with
the speaker id, so sorting groups speakers as Kaldi requires). ``data/local/corpus_info.json``
counts hours, utterances, speakers, recordings, words and vocabulary per set, genres and
engines, and the LM text's size and the dev/eval out-of-vocabulary rates against it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from nghf.corpus.config import SPLITS
from nghf.corpus.plan import CorpusPlan, is_seen_voice
from nghf.corpus.render import meta_path, wav_path
from nghf.utils.atomic import atomic_path, atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)

DATA_FILES = ("wav.scp", "segments", "text", "utt2spk", "spk2utt", "reco2dur", "utt2dur")


def _lines(rows: list[str]) -> str:
    return "".join(row + "\n" for row in sorted(rows, key=lambda r: r.encode("utf-8")))


def load_metas(plan: CorpusPlan, out_dir: Path) -> list[dict]:
    """Per-recording JSONs of every planned recording; names the missing ones."""
    missing = [r.reco_id for r in plan.recordings
               if not meta_path(out_dir, r.reco_id).exists() or not wav_path(out_dir, r.reco_id).exists()]
    if missing:
        raise FileNotFoundError(
            f"{out_dir}: {len(missing)} planned recording(s) not rendered, e.g. {', '.join(missing[:5])}; "
            "run the render jobs first")
    metas = []
    for reco in plan.recordings:
        path = meta_path(out_dir, reco.reco_id)
        try:
            metas.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {err.lineno}: corrupt recording metadata: {err.msg}") from None
    return metas


def write_data_dir(directory: Path, metas: list[dict], out_dir: Path) -> dict:
    """One Kaldi data dir from the recordings' metadata; returns its counts."""
    rows: dict[str, list[str]] = {name: [] for name in DATA_FILES}
    spk2utt: dict[str, list[str]] = {}
    words: Counter[str] = Counter()
    genres: Counter[str] = Counter()
    engines: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    speech = 0.0
    for meta in metas:
        reco = meta["reco_id"]
        rows["wav.scp"].append(f"{reco} {wav_path(out_dir, reco).resolve()}")
        rows["reco2dur"].append(f"{reco} {meta['duration']:.4f}")
        genres[meta["genre"]] += 1
        for u in meta["utterances"]:
            rows["segments"].append(f"{u['utt_id']} {reco} {u['start']:.2f} {u['end']:.2f}")
            rows["text"].append(f"{u['utt_id']} {u['text']}")
            rows["utt2spk"].append(f"{u['utt_id']} {u['spk_id']}")
            rows["utt2dur"].append(f"{u['utt_id']} {u['end'] - u['start']:.2f}")
            spk2utt.setdefault(u["spk_id"], []).append(u["utt_id"])
            words.update(u["text"].split())
            engines[u["engine"]] += 1
            sources[u["source"].split(":")[0]] += 1
            speech += u["end"] - u["start"]
    rows["spk2utt"] = [f"{spk} {' '.join(sorted(utts))}" for spk, utts in spk2utt.items()]
    with atomic_path(directory) as tmp:
        tmp.mkdir(parents=True)
        for name in DATA_FILES:
            (tmp / name).write_text(_lines(rows[name]), encoding="utf-8")
    return {
        "recordings": len(metas),
        "utterances": len(rows["text"]),
        "speakers": len(spk2utt),
        "speech_hours": round(speech / 3600.0, 4),
        "audio_hours": round(sum(m["duration"] for m in metas) / 3600.0, 4),
        "words": sum(words.values()),
        "vocabulary": len(words),
        "genres": dict(sorted(genres.items())),
        "engines": dict(sorted(engines.items())),
        "text_sources": dict(sorted(sources.items())),
        "telephone_utterances": sum(u["telephone"] for m in metas for u in m["utterances"]),
        "_vocab": set(words),
        "_counts": words,
    }


def merge_corpus(plan: CorpusPlan, out_dir: Path) -> dict:
    """Write ``<out>/data/{train,dev,eval}`` and ``data/local/corpus_info.json``; return the info."""
    metas = load_metas(plan, out_dir)
    info: dict = {"seed": plan.seed, "sets": {}}
    vocab = {}
    for split in SPLITS:
        stats = write_data_dir(out_dir / "data" / split, [m for m in metas if m["split"] == split], out_dir)
        vocab[split] = (stats.pop("_vocab"), stats.pop("_counts"))
        info["sets"][split] = stats
    lm_path = out_dir / "data" / "local" / "lm_text.txt"
    lm_words: set[str] = set()
    lm_count = 0
    with lm_path.open(encoding="utf-8") as handle:
        for line in handle:
            lm_count += 1
            lm_words.update(line.split())
    known = lm_words | vocab["train"][0]
    info["lm_text"] = {"sentences": lm_count, "vocabulary": len(lm_words)}
    for split in ("dev", "eval"):
        types, counts = vocab[split]
        oov_tokens = sum(counts[w] for w in types - known)
        info["sets"][split]["oov_types_vs_train_and_lm"] = len(types - known)
        info["sets"][split]["oov_rate_vs_train_and_lm"] = round(oov_tokens / max(sum(counts.values()), 1), 4)
    # The seen-voice parts of dev and eval are spoken by training speakers on purpose; every
    # other speaker belongs to one set only.
    spk = {split: {u["spk_id"] for m in metas if m["split"] == split and not is_seen_voice(m["reco_id"], split)
                   for u in m["utterances"]} for split in SPLITS}
    info["speakers_shared_between_sets"] = sorted((spk["train"] & (spk["dev"] | spk["eval"]))
                                                  | (spk["dev"] & spk["eval"]))
    for split in ("dev", "eval"):
        seen = [m for m in metas if m["split"] == split and is_seen_voice(m["reco_id"], split)]
        info["sets"][split]["seen_voice"] = {
            "recordings": len(seen),
            "utterances": sum(len(m["utterances"]) for m in seen),
            "words": sum(len(u["text"].split()) for m in seen for u in m["utterances"]),
            "speakers": len({u["spk_id"] for m in seen for u in m["utterances"]}),
            "speech_hours": round(sum(u["end"] - u["start"] for m in seen for u in m["utterances"]) / 3600.0, 4),
        }
    atomic_write_text(out_dir / "data" / "local" / "corpus_info.json",
                      json.dumps(info, indent=1, sort_keys=True) + "\n")
    log.info("corpus: %s", ", ".join(
        f"{s} {info['sets'][s]['speech_hours']:.2f} h / {info['sets'][s]['utterances']} utts / "
        f"{info['sets'][s]['speakers']} spk" for s in SPLITS))
    return info
