"""nghf: Kaldi-style hybrid HMM recipes with lattice-based sequence training and NGHF.

Subpackages, one job each: ``data`` (data dirs, features), ``lang`` (lexicon, LM),
``gmm`` (GMM-HMM), ``graph`` (HCLG), ``lattice`` (lattices and forward-backward),
``criteria`` (CE and sequence criteria), ``models`` (TDNN/LSTM/RNN), ``optim``
(SGD/Adam/HF/NG/NGHF), ``dist`` (torch.distributed), ``train``, ``decode``, ``score``,
``jobs`` (job dispatch), ``utils`` (logging, configs, atomic files), ``bin`` (CLIs).
"""

__version__ = "0.1.0"
