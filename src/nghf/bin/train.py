"""nghf-train: frame-level (CE) training of a TDNN/LSTM/RNN acoustic model, or with
--denlat-dir lattice-based sequence training (MMI/bMMI/MPFE/sMBR) from a CE model."""

from __future__ import annotations

import argparse
import logging
import sys

from nghf.bin._cli_common import CliParser, report_error
from nghf.dist.failure import rank_guard
from nghf.dist.setup import DistEnv, distributed
from nghf.models.factory import ModelConfig
from nghf.train.run import TrainConfig, train_model
from nghf.utils.config import ConfigError, load_config
from nghf.utils.logging import get_logger, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-train", description=__doc__)
    parser.add_argument("--config", help="training config YAML (conf/train_ce.yaml)")
    parser.add_argument("--model-config", help="model config YAML (conf/model_tdnn.yaml)")
    parser.add_argument("--optim-config",
                        help="optimiser config YAML (conf/optim_*.yaml); replaces the config's optimizer")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training config key (repeatable), e.g. epochs=2")
    parser.add_argument("--model-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a model config key (repeatable), e.g. tdnn.hidden_dim=512")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in exp-dir")
    parser.add_argument("--log", help="also log to this file")
    parser.add_argument("-v", "--verbose", type=int, default=0, help="verbosity: 1 logs DEBUG lines")
    seq = parser.add_argument_group("sequence training (nghf.train.sequence_run)")
    seq.add_argument("--denlat-dir", help="denominator lattices (steps/make_denlats.sh): switches to sequence "
                     "training; --config is then conf/train_seq.yaml and <ali> the numerators' alignment dir")
    seq.add_argument("--init-model", help="the cross-entropy final.mdl to start from (priors kept)")
    seq.add_argument("--criterion-config", help="conf/criterion_{mmi,bmmi,mpfe,smbr}.yaml")
    seq.add_argument("--criterion-set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a criterion config key (repeatable)")
    seq.add_argument("--trans-model", help="transition model for <ali>/ali.*.gz (default <ali>/final.mdl)")
    seq.add_argument("--den-graph", help="weak-LM graph dir of the denominator lattices (exp/tri2/graph_bg): "
                     "needed to regenerate them during training (regenerate.every > 0)")
    parser.add_argument("data_dir", help="data directory with feats.scp (and cmvn.scp, utt2spk)")
    parser.add_argument("ali", help="alignment dir (ali_pdf.scp / ali_pdf.*.ark|txt) or file")
    parser.add_argument("num_pdfs", type=int, help="number of pdfs (leaves of the tree)")
    parser.add_argument("exp_dir", help="output directory (final.mdl, checkpoints, logs)")
    args = parser.parse_args(argv)
    setup_logging(args.log, args.verbose)
    log = get_logger("nghf.bin.train")
    # Under torchrun (nghf-dist-launch) this process is one rank: own log, process group,
    # failures reported with the rank; a plain run is a single process.
    with rank_guard() as env:
        return _run(args, log, env)


def _run(args: argparse.Namespace, log: logging.Logger, env: DistEnv) -> int:
    from nghf.data.cmvn import warn_if_no_cmvn

    warn_if_no_cmvn(args.data_dir, log)
    try:
        if args.denlat_dir:
            return _run_sequence(args, env)
        config = load_config(TrainConfig, args.config, args.set)
        model_config = load_config(ModelConfig, args.model_config, args.model_set)
        optim_config = None
        if args.optim_config:
            from nghf.optim.factory import load_optim_config

            optim_config = load_optim_config(args.optim_config)
        if args.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError(f"--device {args.device}: CUDA is not available on this machine")
        with distributed(args.device, env) as ctx:
            train_model(config, model_config, args.data_dir, args.ali, args.num_pdfs, args.exp_dir,
                        device=str(ctx.device), resume=args.resume, optim_config=optim_config,
                        reducer=ctx.reducer)
    except (ConfigError, ValueError, OSError, ImportError) as err:  # OSError: unwritable/full output
        if env.distributed:
            raise  # rank_guard names the rank and its log, and stops at once
        return report_error("nghf-train", err)
    return 0


def _run_sequence(args: argparse.Namespace, env: DistEnv) -> int:
    from nghf.optim.factory import load_optim_config
    from nghf.train.sequence_run import TrainSeqConfig, train_sequence

    if not (args.init_model and args.criterion_config and args.optim_config):
        raise ValueError("sequence training needs --init-model, --criterion-config and --optim-config")
    config = load_config(TrainSeqConfig, args.config, args.set)
    optim_config = load_optim_config(args.optim_config)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: CUDA is not available on this machine")
    with distributed(args.device, env) as ctx:
        train_sequence(config, args.data_dir, args.ali, args.denlat_dir, args.init_model, args.exp_dir,
                       args.criterion_config, optim_config, device=str(ctx.device), resume=args.resume,
                       criterion_overrides=args.criterion_set, trans_model=args.trans_model,
                       num_pdfs=args.num_pdfs, reducer=ctx.reducer, den_graph=args.den_graph)
    return 0


if __name__ == "__main__":
    sys.exit(main())
