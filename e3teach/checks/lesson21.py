"""Checkers for exercises/21_proteins."""
from __future__ import annotations

import functools

import torch
from e3nn import o3

from .. import proteins
from .core import call, exercise, expect_close, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4", "chain"]

#: The reflection x → −x, the mirror used all lesson long.
MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))


@functools.lru_cache(maxsize=1)
def _chain() -> proteins.Peptide:
    phi = [-57.0] * 4 + [-139.0] * 4 + [57.0] * 4
    psi = [-47.0] * 4 + [135.0] * 4 + [47.0] * 4
    return proteins.build_peptide(phi, psi, "ACDEFHIKLMNQ")


def chain() -> proteins.Peptide:
    """The checkers' test chain: 4 residues each of α helix, β strand and α_L helix (positions in Å)."""
    peptide = _chain()
    return proteins.Peptide(peptide.pos.clone(), peptide.sequence)


def _rotation(seed: int) -> torch.Tensor:
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return o3.rand_matrix(dtype=torch.float64)
    finally:
        torch.random.set_rng_state(torch_state)


def _diagnose_dihedral(out: torch.Tensor, phi: torch.Tensor) -> None:
    """Name the usual mistakes of a dihedral that disagrees with ``phi`` (degrees)."""
    if torch.allclose(out, torch.deg2rad(phi), atol=1e-3):
        fail("your angles are in radians: the course gives φ and ψ in degrees", "torch.rad2deg(...)")
    if torch.allclose(out, -phi, atol=1e-3):
        fail("your angles have the opposite sign: α-helix φ should come out near −57°, you get +57°",
             "IUPAC sign: positive when, looking along b → c, the far bond turns clockwise; flip the sine")
    if torch.allclose(torch.remainder(out - phi + 1.0, 360.0), torch.ones_like(phi), atol=1e-3):
        fail("right modulo 360°, but outside the convention's range (−180°, 180°]: "
             "α-helix φ is −57°, not 303°",
             "atan2 already returns (−180°, 180°]: do not shift it")
    if torch.allclose(out.abs(), phi.abs(), atol=1e-3):
        fail("right size, wrong sign on some angles: an arccos of the cosine loses the sign",
             "use atan2(sine, cosine), the sine from a triple product")


@exercise("dihedral angles", hints=[
    "With b1 = b − a, b2 = c − b, b3 = d − c: the normals of the two planes are n1 = b1 × b2 and n2 = b2 × b3.",
    "angle = atan2(|b2| b1 · n2, n1 · n2), in degrees: torch.rad2deg(torch.atan2(...)).",
])
def q1(dihedral):
    """Check dihedral(a, b, c, d) on the φ/ψ of a built chain and on random quadruples."""
    pos = chain().pos
    n, ca, c = pos[:, 0], pos[:, 1], pos[:, 2]
    out = expect_tensor(call(dihedral, c[:-1], n[1:], ca[1:], c[1:], name="dihedral(a, b, c, d)"),
                        "dihedral(C[i-1], N, CA, C)", shape=(len(pos) - 1,))
    phi = proteins.dihedral(c[:-1], n[1:], ca[1:], c[1:])
    if not torch.allclose(out.double(), phi, atol=1e-3):
        _diagnose_dihedral(out.double(), phi)
    expect_close(out, phi, "φ of the chain", atol=1e-3, float32_ok=True, hint="compare with the φ = −57° of "
                 "the first residues")
    gen = torch.Generator().manual_seed(21)
    a, b, cc, d = torch.randn(4, 50, 3, generator=gen, dtype=torch.float64)
    out = expect_tensor(call(dihedral, a, b, cc, d, name="dihedral(a, b, c, d)"), "dihedral on random points",
                        shape=(50,))
    expect_close(out, proteins.dihedral(a, b, cc, d), "dihedral on random points", atol=1e-3, float32_ok=True,
                 hint="right on the chain only? work with differences of points, not the points themselves")
    return "φ of an α/β/α_L chain and 50 random quadruples, in degrees, IUPAC sign"


@exercise("the ideal virtual Cβ", hints=[
    "b = ca − n, c = c − ca, a = b × c (torch.linalg.cross(b, c), in this order).",
    "cb = −0.58273431 a + 0.56802827 b − 0.54067466 c + ca: a position, not a direction.",
])
def q2(virtual_cb):
    """Check virtual_cb(n, ca, c) against the trRosetta formula on a built chain, rotated."""
    pos = chain().pos @ _rotation(2).T
    n, ca, c = pos[:, 0], pos[:, 1], pos[:, 2]
    out = expect_tensor(call(virtual_cb, n.clone(), ca.clone(), c.clone(), name="virtual_cb(n, ca, c)"),
                        "virtual_cb(n, ca, c)", shape=(len(pos), 3))
    expected = proteins.ideal_virtual_cb(n, ca, c)
    if torch.allclose(out.double(), expected - ca, atol=1e-3):
        fail("you returned the direction Cβ − Cα: the exercise asks for the position", "add ca at the end")
    mirrored = proteins.mirror(proteins.ideal_virtual_cb(*(proteins.mirror(p) for p in (n, ca, c))))
    if torch.allclose(out.double(), mirrored, atol=1e-3):
        fail("your Cβ sits on the D side of every Cα: the cross product has the opposite orientation",
             "a = torch.linalg.cross(b, c) with b = ca − n and c = c − ca, in this order")
    angle = proteins.angle_deg(out.double() - ca, pos[:, 4] - ca)
    if float(angle.mean()) > 5:
        fail(f"your Cβ is {float(angle.mean()):.0f}° away from the true one on average (the formula gives "
             "under 1°)", "check the three constants and their signs")
    expect_close(out, expected, "virtual_cb(n, ca, c)", atol=1e-3, float32_ok=True)
    return f"matches the formula ({float(angle.mean()):.1f}° from PeptideBuilder's Cβ), on a rotated chain"


@exercise("L or D, per residue", hints=[
    "Handedness needs a triple product: a dot product of a cross product with a third vector (a 0o).",
    "sign((N − CA) · ((C − CA) × (CB − CA))) is +1 for L (lesson §2); pos[:, k] is atom k of ATOMS.",
])
def q3(handedness):
    """Check handedness(pos) → ±1 per residue on an L chain, its rotation, its mirror and a mixed chain."""
    peptide = chain()
    cases = {"an L chain": (peptide.pos, 1.0), "the L chain rotated": (peptide.pos @ _rotation(3).T, 1.0),
             "its mirror image (all D)": (proteins.mirror(peptide.pos), -1.0)}
    answers = {}
    for name, (pos, sign) in cases.items():
        out = expect_tensor(call(handedness, pos.clone(), name="handedness(pos)"), f"handedness on {name}",
                            shape=(len(pos),))
        answers[name] = out.double()
    if torch.allclose(answers["an L chain"], answers["its mirror image (all D)"]):
        fail("same answer on a chain and its mirror image: a quantity unchanged by mirrors (distances, angles, a "
             "0e) cannot see handedness", "use a triple product, which changes sign in a mirror")
    for name, (_, sign) in cases.items():
        if not torch.allclose(answers[name], torch.full_like(answers[name], sign)):
            hint = ("your signs are swapped: L is +1 with (N − CA) · ((C − CA) × (CB − CA))"
                    if torch.allclose(answers[name], torch.full_like(answers[name], -sign)) else
                    "return exactly +1.0 or −1.0 per residue (torch.sign)")
            fail(f"wrong on {name}: expected {sign:+.0f} for every residue", hint)
    mixed = peptide.pos.clone()
    ca = mixed[::2, 1]                     # reflect Cβ of every other residue through its N–CA–C plane: D
    normal = torch.linalg.cross(mixed[::2, 0] - ca, mixed[::2, 2] - ca)
    normal = normal / normal.norm(dim=-1, keepdim=True)
    cb = mixed[::2, 4] - ca
    mixed[::2, 4] = ca + cb - 2 * (cb * normal).sum(-1, keepdim=True) * normal
    out = expect_tensor(call(handedness, mixed, name="handedness(pos)"), "handedness on a mixed chain",
                        shape=(len(mixed),))
    expected = torch.ones(len(mixed), dtype=torch.float64)
    expected[::2] = -1.0
    if not torch.allclose(out.double(), expected):
        fail("right on whole chains, wrong residue by residue: on a chain where every other residue is D you "
             "should get −1, +1, −1, …", "compute the sign for each residue from its own atoms")
    return "+1 on L, −1 on D, per residue, unchanged by rotations"


def _check_batch():
    peptide = chain()
    atoms = ("N", "C", "O", "CB")
    return {name: proteins.batch_chains([peptide], atoms, transform=transform) for name, transform in
            (("chain", None), ("rotated", lambda p: p @ _rotation(4).T), ("mirrored", proteins.mirror))}


@exercise("a pseudoscalar network", hints=[
    "proteins.ResidueNetwork(irreps_in, irreps_out) builds one: the features are Cα→N, C, O, Cβ, i.e. '4x1o'.",
    "proteins.ResidueNetwork('4x1o', '0o'): one pseudoscalar per residue.",
])
def q4(make_network):
    """Check make_network() → a module mapping a ChainBatch (4x1o features) to (R, 1), invariant under
    rotations, flipping sign under a mirror, not identically zero."""
    net = call(make_network, name="make_network()", raw=True)
    if not isinstance(net, torch.nn.Module):
        fail(f"make_network() should return a torch.nn.Module, got {type(net).__name__}",
             "return the network itself, e.g. proteins.ResidueNetwork(...)")
    out = {}
    for name, data in _check_batch().items():
        with torch.no_grad():
            out[name] = expect_tensor(call(net, data, name="your network"), f"the network's output ({name})",
                                      shape=(len(data.labels), 1)).double()
    scale = float(out["chain"].abs().max())
    if scale < 1e-6:
        fail("the output is zero everywhere: a pseudoscalar that is always zero is useless",
             "check that a tensor-product path leads to 0o (with 1o inputs it needs two steps or a cross product)")
    if float((out["rotated"] - out["chain"]).abs().max()) > 1e-3 * scale:
        fail("the output changes when the chain is rotated: it should be a (pseudo)scalar",
             "declare the output irreps as '0o' and build the network from e3nn layers")
    if torch.allclose(out["mirrored"], out["chain"], atol=1e-3 * scale):
        fail("the output is the same on the chain and its mirror image: that is a 0e, not a 0o",
             "declare the output as '0o'")
    if float((out["mirrored"] + out["chain"]).abs().max()) > 1e-3 * scale:
        fail("the output changes under a mirror, but not by a sign: the network is not O(3)-equivariant",
             "use e3nn layers with parities (no all-even 'SO(3)' trick) and a '0o' output")
    return "one value per residue, rotation-invariant, sign flipped by a mirror: a 0o"
