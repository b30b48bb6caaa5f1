"""Kaldi HMM topologies in text form, as Kaldi's ``utils/gen_topo.pl`` writes them.

Non-silence phones: ``num_nonsil_states`` emitting states left to right, each with a
self-loop (0.75) and a forward transition (0.25), then a final non-emitting state.
Silence phones: ``num_sil_states`` emitting states; the first can go to any of the first
n-1 states, the middle ones to any state 1..n-1 (so silence can loop), the last one
self-loops (0.75) and exits (0.25). The file is read by ``kaldi_hmm_gmm.HmmTopology``.
"""

from __future__ import annotations

from collections.abc import Sequence


def _state(index: int, transitions: Sequence[tuple[int, float]]) -> str:
    arcs = " ".join(f"<Transition> {dest} {prob:g}" for dest, prob in transitions)
    return f"<State> {index} <PdfClass> {index} {arcs} </State>\n"


def make_topo(
    nonsil_phone_ids: Sequence[int],
    sil_phone_ids: Sequence[int],
    num_nonsil_states: int = 3,
    num_sil_states: int = 5,
) -> str:
    """Kaldi text topology for the given phone ids (numbers of emitting states >= 1)."""
    if num_nonsil_states < 1 or num_sil_states < 1:
        raise ValueError("topology needs at least one emitting state per phone")
    out = ["<Topology>\n", "<TopologyEntry>\n", "<ForPhones>\n"]
    out.append(" ".join(map(str, nonsil_phone_ids)) + "\n</ForPhones>\n")
    for s in range(num_nonsil_states):
        out.append(_state(s, [(s, 0.75), (s + 1, 0.25)]))
    out.append(f"<State> {num_nonsil_states} </State>\n</TopologyEntry>\n")
    out.append("<TopologyEntry>\n<ForPhones>\n")
    out.append(" ".join(map(str, sil_phone_ids)) + "\n</ForPhones>\n")
    n = num_sil_states
    if n > 1:
        p = 1.0 / (n - 1)
        out.append(_state(0, [(d, p) for d in range(n - 1)]))
        for s in range(1, n - 1):
            out.append(_state(s, [(d, p) for d in range(1, n)]))
        out.append(_state(n - 1, [(n - 1, 0.75), (n, 0.25)]))
    else:
        out.append(_state(0, [(0, 0.75), (1, 0.25)]))
    out.append(f"<State> {n} </State>\n</TopologyEntry>\n</Topology>\n")
    return "".join(out)
