"""The three steps of building the corpus, as called by ``nghf-make-corpus``:

1. ``prepare``: sentence pool, speaker inventory and plan (``<out>/plan.json``), the LM text
   (``data/local/lm_text.txt``), the speaker table and the resolved config;
2. ``render`` (one call per parallel job, with the config saved by ``prepare``): WAVs and
   per-recording metadata;
3. ``merge``: Kaldi data dirs and ``corpus_info.json``.

``build_corpus`` runs all three in one process (tests, benchmarks).
"""

from __future__ import annotations

from pathlib import Path

from nghf.corpus.config import CorpusConfig
from nghf.corpus.engines import engine_missing
from nghf.corpus.merge import merge_corpus
from nghf.corpus.plan import CorpusPlan, lm_sentences, make_plan
from nghf.corpus.render import render_job
from nghf.corpus.text import sentence_pool
from nghf.utils.atomic import atomic_write_text
from nghf.utils.config import dump_config, load_config
from nghf.utils.logging import get_logger

log = get_logger(__name__)


def plan_path(out_dir: Path) -> Path:
    return out_dir / "plan.json"


def config_path(out_dir: Path) -> Path:
    """The resolved config the plan was made with; the render jobs read it from here."""
    return out_dir / "data" / "local" / "corpus_config.yaml"


def check_engines(config: CorpusConfig) -> None:
    """Fail early, naming the engine and the fix, if a configured engine cannot run."""
    problems = [f"{e}: {why}" for e in config.voices.engines if (why := engine_missing(e))]
    if problems:
        raise RuntimeError("speech engines missing: " + "; ".join(problems)
                           + " (or drop them from voices.engines in the corpus config)")


def prepare(config: CorpusConfig, out_dir: Path, size: str = "default",
            train_hours: float | None = None) -> CorpusPlan:
    """Write the plan, LM text, speaker table and config under ``out_dir``."""
    check_engines(config)
    hours = config.hours(size, train_hours)
    pool = sentence_pool(config.text)
    plan = make_plan(config, hours, pool)
    local = out_dir / "data" / "local"
    local.mkdir(parents=True, exist_ok=True)
    atomic_write_text(local / "lm_text.txt", "".join(s + "\n" for s in lm_sentences(plan, pool)))
    speakers = sorted((s.spk_id, split, s.describe()) for split, group in plan.speakers.items() for s in group)
    atomic_write_text(local / "speakers.tsv",
                      "".join(f"{spk}\t{split}\t{desc}\n" for spk, split, desc in speakers))
    dump_config(config, config_path(out_dir))
    plan.save(plan_path(out_dir))
    log.info("plan: %d recordings (%s), %d utterances, %d LM sentences", len(plan.recordings),
             ", ".join(f"{s} {sum(r.split == s for r in plan.recordings)}" for s in ("train", "dev", "eval")),
             sum(len(r.utterances) for r in plan.recordings), len(pool))
    return plan


def render(out_dir: Path, job: int, nj: int) -> None:
    """Render job ``job`` of ``nj`` with the config saved by ``prepare``; a
    ``log/render.<job>of<nj>.done`` marker makes it a no-op later."""
    marker = out_dir / "log" / f"render.{job}of{nj}.done"
    if marker.exists():
        log.info("render job %d/%d already done", job, nj)
        return
    if not config_path(out_dir).exists():
        raise FileNotFoundError(f"{config_path(out_dir)}: missing; run the prepare step first")
    config = load_config(CorpusConfig, config_path(out_dir))
    check_engines(config)
    plan = CorpusPlan.load(plan_path(out_dir))
    count = render_job(plan, config, out_dir, job, nj)
    log.info("render job %d/%d: rendered %d recordings", job, nj, count)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def merge(out_dir: Path) -> dict:
    """Build the data dirs from the rendered recordings."""
    plan = CorpusPlan.load(plan_path(out_dir))
    return merge_corpus(plan, out_dir)


def build_corpus(config: CorpusConfig, out_dir: Path, size: str = "tiny",
                 train_hours: float | None = None, nj: int = 1) -> dict:
    """prepare + every render job (sequentially, as ``nj`` shards) + merge, in this process."""
    out_dir = Path(out_dir)
    prepare(config, out_dir, size, train_hours)
    for job in range(1, nj + 1):
        render(out_dir, job, nj)
    return merge(out_dir)
