"""Denominator-lattice options: conf/denlats.yaml holds the defaults that were nghf-make-denlats'
and steps/make_denlats.sh's option defaults; options still override single keys, so
recipe_stages.sh's ``$denlat_opts`` (``--lattice-beam 6 --max-arcs-per-frame 50``) give the
same DenlatConfig as before; the search options are decoding's (SearchConfig)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

from nghf.bin.make_denlats import build_parser, denlat_config
from nghf.decode.decoder import DecoderConfig, SearchConfig
from nghf.decode.denlats import DenlatConfig
from nghf.utils.config import load_config

REPO = Path(__file__).resolve().parents[2]
# What nghf-make-denlats built before conf/denlats.yaml from its option defaults.
FORMER_DEFAULTS = DenlatConfig(beam=10.0, lattice_beam=7.0, acoustic_scale=0.1, prune_interval=25,
                               min_posterior=1e-5, max_arcs_per_frame=0, max_fail_share=0.05)


def _config(*argv: str) -> DenlatConfig:
    return denlat_config(build_parser().parse_args([*argv, "g", "d", "m.mdl", "out"]))


def test_conf_file_holds_the_former_defaults() -> None:
    assert load_config(DenlatConfig, REPO / "conf/denlats.yaml") == FORMER_DEFAULTS == DenlatConfig()
    assert _config() == FORMER_DEFAULTS == _config("--config", str(REPO / "conf/denlats.yaml"))


def test_options_override_single_keys() -> None:
    conf = str(REPO / "conf/denlats.yaml")
    got = _config("--config", conf, "--lattice-beam", "6", "--max-arcs-per-frame", "50")
    assert got == dataclasses.replace(FORMER_DEFAULTS, lattice_beam=6.0, max_arcs_per_frame=50)
    got = _config("--config", conf, "--beam", "12", "--acwt", "0.08", "--min-posterior", "1e-4",
                  "--prune-interval", "10", "--max-fail-share", "0.2")
    assert got == dataclasses.replace(FORMER_DEFAULTS, beam=12.0, acoustic_scale=0.08, min_posterior=1e-4,
                                      prune_interval=10, max_fail_share=0.2)


def test_search_options_are_decodings() -> None:
    names = [f.name for f in dataclasses.fields(SearchConfig)]
    assert names == ["beam", "lattice_beam", "acoustic_scale", "prune_interval"]
    assert issubclass(DenlatConfig, SearchConfig) and issubclass(DecoderConfig, SearchConfig)
    assert FORMER_DEFAULTS.search_options() == {"beam": 10.0, "lattice_beam": 7.0, "acoustic_scale": 0.1,
                                                "prune_interval": 25}


STUB = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
echo '"utterances": 1,'
"""


def test_step_script_passes_the_config_and_only_the_given_options(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # path.sh puts $NGHF_VENV/bin first: the real venv's, two commands stubbed
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    real_bin = Path(os.environ.get("NGHF_VENV", REPO / ".venv")) / "bin"
    for tool in real_bin.iterdir():
        (bin_dir / tool.name).symlink_to(tool)
    for name in ("nghf-make-denlats", "nghf-lattice-stats"):
        (bin_dir / name).unlink()
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    graph, data = tmp_path / "exp/tri2/graph_bg", tmp_path / "data"
    graph.mkdir(parents=True)
    data.mkdir()
    for f in (graph / "HCLG.fst", graph / "words.txt", graph / "tid2pdf", graph.parent / "final.mdl",
              data / "utt2spk", data / "feats.scp", tmp_path / "final.mdl"):
        f.write_text("x\n")
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "CALLS": str(calls), "NGHF_VENV": str(venv)}

    def run(*opts: str) -> list[str]:
        calls.unlink(missing_ok=True)
        out = tmp_path / f"den{len(opts)}"
        r = subprocess.run([str(REPO / "steps/make_denlats.sh"), "--nj", "1", "--cmd", str(REPO / "utils/run_local.sh"),
                            *opts, str(graph), str(data),
                            str(tmp_path / "final.mdl"), str(out)], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        return calls.read_text().splitlines()

    # run from a dir without conf/: the top-level conf/denlats.yaml
    make, stats = run("--lattice-beam", "6", "--max-arcs-per-frame", "50")
    conf = str(REPO / "conf/denlats.yaml")
    assert make.startswith(f"nghf-make-denlats --config {conf} --device cpu --batch-size 16 "
                           "--lattice-beam 6 --max-arcs-per-frame 50 --trans-model "), make
    assert "--beam " not in make and "--acwt" not in make and "--max-fail-share" not in make
    assert stats.startswith(f"nghf-lattice-stats --config {conf} "), stats
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/denlats.yaml").write_text("beam: 9.0\n")  # a recipe's own conf/denlats.yaml wins
    make, stats = run("--max-fail-share", "0.1")
    assert " --config conf/denlats.yaml " in make and "--max-fail-share 0.1" in make
    assert stats.startswith("nghf-lattice-stats --config conf/denlats.yaml --max-fail-share 0.1 "), stats
