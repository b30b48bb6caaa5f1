"""``nghf-make-graph``: build HCLG.fst for a GMM/NN model directory (Kaldi's mkgraph.sh).

The model directory needs ``final.mdl`` (tree and transition model). ``--lm G.fst`` uses a
different grammar (e.g. a weak LM for denominator lattices) with the lang dir's lexicon.
"""

from __future__ import annotations

import argparse
import sys

from nghf.utils.logging import get_logger, setup_logging

log = get_logger("nghf.bin.make_graph")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nghf-make-graph", description=__doc__)
    parser.add_argument("--lm", default=None, help="grammar FST instead of <lang>/G.fst")
    parser.add_argument("--self-loop-scale", type=float, default=0.1)
    parser.add_argument("--transition-scale", type=float, default=1.0)
    parser.add_argument("lang")
    parser.add_argument("model_dir")
    parser.add_argument("graph_dir")
    args = parser.parse_args(argv)
    setup_logging()
    from pathlib import Path

    from nghf.gmm.lang import LangError, load_lang
    from nghf.gmm.model import ModelError, load_model
    from nghf.graph.hclg import GraphConfig, make_graph

    try:
        info = make_graph(load_model(Path(args.model_dir) / "final.mdl"), load_lang(args.lang),
                          args.graph_dir, args.lm,
                          GraphConfig(args.transition_scale, args.self_loop_scale))
    except (LangError, ModelError, FileNotFoundError, ValueError) as err:
        log.error("%s", err)
        return 1
    print(f"HCLG: {info.num_states} states, {info.num_arcs} arcs, {info.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
