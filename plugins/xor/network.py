"""The 2-H-1 XOR network, its hidden-unit symmetries and the helper-neuron choreography.

Network: f(x) = sum_i v_i act(w_i . x + c_i) + b, a logit; act is tanh (default) or
sigmoid; loss is binary cross entropy on the logit.  Flat parameter layout (that of
`nn.Sequential(Linear(2, H), act, Linear(H, 1))`): W (H, 2) row-major, c (H,), v (H,), b.

Why every path between a 2-2-1 minimum and its hidden-unit swap misclassifies a point
(any strictly monotone activation, any path, not only the ones AutoNEB finds):

For a unit, z(x) = w . x + c is affine on the four corners, so
z(0,1) - z(0,0) = z(1,1) - z(1,0) = w_2 and z(1,0) - z(0,0) = z(1,1) - z(0,1) = w_1.
Its contribution g(x) = v act(z(x)) is then monotone along each axis with the
*same* sign on both edges: sign(g(0,1) - g(0,0)) = sign(g(1,1) - g(1,0)) = sign(v w_2)
(zero exactly when v w_2 = 0), and likewise for axis 1 with sign(v w_1).
XOR needs f(0,1) > f(0,0) and f(1,1) < f(1,0): the sum over units of the first
differences must be positive and of the second negative.  Since each unit's two
differences share a sign, this needs one unit with v w_2 > 0 and another with
v w_2 < 0; the same holds for axis 1.  With two hidden units, every correctly
classifying parameter set therefore has all four products v_i w_ij non-zero with
sign(v_1 w_1j) = -sign(v_2 w_2j).  Along a continuous path on which all four points
stay correct, v_1 w_11 never vanishes, so its sign is constant.  Swapping the units
flips that sign (v_1 w_11 becomes the old v_2 w_21).  Hence every continuous path
from a minimum to its swap passes a point with v_1 w_11 = 0, where at least one of
the four points is misclassified (or exactly on the decision boundary).

With a third unit the constraint is on the sum over three units, and the paper's
choreography (`choreography`) keeps the network function *identical* along the
whole path: a unit is only moved while its outgoing weight is zero, and outgoing
weight is only handed between units with identical incoming weights.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from landscape.foundations.errors import LandscapeError

__all__ = [
    "XOR_INPUTS",
    "XOR_TARGETS",
    "make_xor_net",
    "xor_loss",
    "split_params",
    "join_params",
    "swap_hidden",
    "embed_helper",
    "choreography",
    "sign_invariant",
    "network_function",
    "margins",
]

XOR_INPUTS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = torch.tensor([0.0, 1.0, 1.0, 0.0])
_ACTIVATIONS = {"tanh": (nn.Tanh, torch.tanh), "sigmoid": (nn.Sigmoid, torch.sigmoid)}


def make_xor_net(hidden: int = 2, activation: str = "tanh") -> nn.Sequential:
    """Linear(2, hidden) -> activation -> Linear(hidden, 1), a logit per input."""
    if activation not in _ACTIVATIONS:
        raise LandscapeError(f"XOR activation must be tanh or sigmoid (strictly monotone), got {activation!r}")
    if hidden < 1:
        raise LandscapeError(f"hidden must be >= 1, got {hidden}")
    return nn.Sequential(nn.Linear(2, hidden), _ACTIVATIONS[activation][0](), nn.Linear(hidden, 1))


def xor_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross entropy of logits (outputs (n, 1) or (n,)) against 0/1 targets.

    Written as softplus(z) - y z (the same function, numerically stable) because
    `binary_cross_entropy_with_logits` has no vmap batching rule and would be looped.
    """
    z = outputs.reshape(targets.shape)
    return (F.softplus(z) - targets * z).mean()


def split_params(flat: torch.Tensor, hidden: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W (.., H, 2), c (.., H), v (.., H), b (.., 1)) views of flat vectors (.., 4H + 1)."""
    h = hidden
    if flat.shape[-1] != 4 * h + 1:
        raise LandscapeError(f"a 2-{h}-1 network has {4 * h + 1} parameters, got {flat.shape[-1]}")
    lead = tuple(flat.shape[:-1])
    return (
        flat[..., : 2 * h].reshape(lead + (h, 2)),
        flat[..., 2 * h : 3 * h],
        flat[..., 3 * h : 4 * h],
        flat[..., 4 * h :],
    )


def join_params(w: torch.Tensor, c: torch.Tensor, v: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lead = tuple(c.shape[:-1])
    return torch.cat([w.reshape(lead + (-1,)), c, v, b], dim=-1)


def swap_hidden(flat: torch.Tensor, hidden: int, perm: Any = None) -> torch.Tensor:
    """The same network with its hidden units permuted (default: the first two swapped)."""
    if perm is None:
        perm = [1, 0] + list(range(2, hidden))
    perm = torch.as_tensor(perm, device=flat.device)
    w, c, v, b = split_params(flat, hidden)
    return join_params(w[..., perm, :], c[..., perm], v[..., perm], b)


def embed_helper(flat: torch.Tensor, hidden: int = 2) -> torch.Tensor:
    """A 2-H-1 network as a 2-(H+1)-1 network whose extra unit is all zeros.

    With tanh the helper outputs act(0) = 0 and gets zero gradient: a minimum stays a
    critical point with the same loss.
    """
    w, c, v, b = split_params(flat, hidden)
    z = torch.zeros_like(c[..., :1])
    return join_params(
        torch.cat([w, torch.zeros_like(w[..., :1, :])], -2), torch.cat([c, z], -1), torch.cat([v, z], -1), b
    )


def choreography(flat: torch.Tensor) -> torch.Tensor:
    """Waypoints (8, 13) from embed(A) to embed(swap(A)) in the 2-3-1 network.

    Enter Charlie (copies Bob's incoming weights, silent), Charlie stands in for Bob
    (outgoing weight handed over), Bob moves to Alice's incoming weights (silent), Bob
    takes over Alice's role, Alice moves to Bob's old incoming weights (silent), Alice
    takes over from Charlie, exit Charlie.  The network function is the same at every
    point of the piecewise-linear path through these waypoints.
    """
    w, c, v, b = split_params(flat, 2)
    alice, bob = torch.cat([w[0], c[:1]]), torch.cat([w[1], c[1:]])  # incoming (w1, w2, c)
    a, o = v[0], v[1]
    zero_in, zero = torch.zeros_like(alice), torch.zeros_like(a)
    stages = [  # incoming weights of Alice, Bob, Charlie; outgoing weights
        ((alice, bob, zero_in), (a, o, zero)),
        ((alice, bob, bob), (a, o, zero)),
        ((alice, bob, bob), (a, zero, o)),
        ((alice, alice, bob), (a, zero, o)),
        ((alice, alice, bob), (zero, a, o)),
        ((bob, alice, bob), (zero, a, o)),
        ((bob, alice, bob), (o, a, zero)),
        ((bob, alice, zero_in), (o, a, zero)),
    ]
    rows = []
    for incoming, outgoing in stages:
        m = torch.stack(incoming)  # (3, 3): w1, w2, c per unit
        rows.append(join_params(m[:, :2], m[:, 2], torch.stack(outgoing), b))
    return torch.stack(rows)


def sign_invariant(flat: torch.Tensor, hidden: int) -> torch.Tensor:
    """The products v_i w_ij (.., H, 2) whose signs the argument above is about."""
    w, _, v, _ = split_params(flat, hidden)
    return v[..., :, None] * w


def network_function(
    flat: torch.Tensor, hidden: int, activation: str = "tanh", inputs: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits (.., n) of the networks `flat` (.., 4H + 1) on `inputs` (default: XOR)."""
    x = (XOR_INPUTS if inputs is None else inputs).to(flat)
    w, c, v, b = split_params(flat, hidden)
    act = _ACTIVATIONS[activation][1]
    z = torch.einsum("...hd,nd->...nh", w, x) + c[..., None, :]
    return (act(z) * v[..., None, :]).sum(-1) + b


def margins(flat: torch.Tensor, hidden: int, activation: str = "tanh") -> torch.Tensor:
    """Signed margins (.., 4): positive where an XOR point is classified correctly."""
    sign = XOR_TARGETS.to(flat) * 2 - 1
    return network_function(flat, hidden, activation) * sign
