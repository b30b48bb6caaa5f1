"""nghf-compute-priors: write a model's log priors, from an alignment or from its posteriors.

``--ali DIR`` counts pdfs in the alignment (floored); otherwise the priors are re-estimated
as the model's mean posterior over (a seeded subset of) the data's utterances.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from nghf.bin._cli_common import CliParser, report_error
from nghf.data.alignments import read_alignments
from nghf.data.nnfeats import DataError, read_features
from nghf.models.io import ModelFileError, load_model, save_model
from nghf.models.priors import log_priors_from_counts, pdf_counts, posterior_priors
from nghf.train.data import utterance_batches
from nghf.utils.logging import get_logger, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-compute-priors", description=__doc__)
    parser.add_argument("--ali", help="alignment dir or file: priors from pdf counts instead of posteriors")
    parser.add_argument("--max-utts", type=int, default=1000, help="utterances for posterior re-estimation")
    parser.add_argument("--floor", type=float, default=1e-8, help="smallest prior")
    parser.add_argument("--prior-scale", type=float, help="also set the prior scale stored in the model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the utterance subset for posterior re-estimation")
    parser.add_argument("--device", default="cpu", help="torch device for the network's forward pass (cpu, cuda)")
    parser.add_argument("--log", help="also log to this file")
    parser.add_argument("model_in", help="network model file (final.mdl)")
    parser.add_argument("data_dir", help="Kaldi data directory with features (for posterior priors)")
    parser.add_argument("model_out", help="output model file with the new log priors (may equal model_in)")
    args = parser.parse_args(argv)
    setup_logging(args.log)
    log = get_logger("nghf.bin.compute_priors")
    try:
        loaded = load_model(args.model_in, args.device)
        num_pdfs = loaded.model.num_pdfs
        if args.ali:
            alis = read_alignments(args.ali, num_pdfs)
            priors = log_priors_from_counts(pdf_counts(alis.values(), num_pdfs), args.floor)
        else:
            feats = read_features(args.data_dir, norm_vars=loaded.features.norm_vars,
                                  use_cmvn=loaded.features.apply_cmvn)
            dtype = next(loaded.model.parameters()).dtype
            feats = {u: f.astype(np.float64 if dtype == torch.float64 else np.float32) for u, f in feats.items()}
            utts = sorted(feats)
            if len(utts) > args.max_utts:
                rng = np.random.default_rng(args.seed)
                utts = sorted(rng.choice(utts, size=args.max_utts, replace=False).tolist())
            batches = utterance_batches(feats, None, utts, loaded.model.subsampling)
            priors = posterior_priors(loaded.model, batches, args.device, args.floor)
        scale = loaded.prior_scale if args.prior_scale is None else args.prior_scale
        save_model(args.model_out, loaded.model, loaded.model_config, loaded.features, priors, scale)
        log.info("wrote %s with %s priors", args.model_out, "alignment" if args.ali else "posterior")
    except (ModelFileError, DataError, ValueError) as err:
        return report_error("nghf-compute-priors", err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
