"""``nghf-make-graph``: build HCLG.fst for a GMM/NN model directory (Kaldi's mkgraph.sh).

The model directory needs ``final.mdl`` (tree and transition model). ``--lm G.fst`` uses a
different grammar (e.g. a weak LM for denominator lattices) with the lang dir's lexicon.
"""

from __future__ import annotations

import sys

from nghf.bin._cli_common import CliParser, report_error
from nghf.utils.logging import get_logger, setup_logging

log = get_logger("nghf.bin.make_graph")


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-make-graph", description=__doc__)
    parser.add_argument("--lm", default=None, help="grammar FST instead of <lang>/G.fst")
    parser.add_argument("--self-loop-scale", type=float, default=0.1, help="scale of the HMM self-loop log-probabilities in HCLG")
    parser.add_argument("--transition-scale", type=float, default=1.0, help="scale of the other transition log-probabilities in HCLG")
    parser.add_argument("lang", help="lang directory with G.fst")
    parser.add_argument("model_dir", help="model directory (final.mdl and its tree)")
    parser.add_argument("graph_dir", help="output graph directory (HCLG.fst, words.txt, tid2pdf, ...)")
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
        return report_error("nghf-make-graph", err)
    print(f"HCLG: {info.num_states} states, {info.num_arcs} arcs, {info.seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
