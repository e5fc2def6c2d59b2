"""Checkers for lesson 13 (learning physical fields): ``from e3teach.checks import lesson13 as check``.

* ``q1(gravity_field)``: the Newtonian field of point masses at every mass (G = 1).
* ``q2(equalize_charges)``: charges minimizing χ·q + ½ qᵀAq under Σq = Q (one bordered linear solve).
* ``q3(applequist)``: the polarizability of interacting, undamped point dipoles.
* ``q4(make_dipole_model)``: build an equivariant model whose output is a polar vector (1o) per molecule.
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from ..equivariance import random_rotation
from ..graph import batch_point_clouds
from .. import molecules
from .core import CheckFailed, call, exercise, expect_tensor, fail

__all__ = ["q1", "q2", "q3", "q4"]

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _dev(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.to(F64) - b.to(F64)).abs().max())


def _returned(value, name: str):
    if value is None:
        fail(f"`{name}` returned None", "did you forget the `return` at the end of your function?")
    return value


def _float64(value, name: str, shape) -> torch.Tensor:
    out = expect_tensor(_returned(value, name), name, shape=shape)
    if out.dtype != F64:
        fail(f"`{name}` has dtype {out.dtype}; the inputs are float64, keep float64 end to end",
             "do not convert with .float() or build new tensors without dtype=... (torch.zeros(..., dtype=pos.dtype))")
    return out


# ----------------------------------------------------------------------------- q1
def _gravity(pos: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    d = pos[None, :, :] - pos[:, None, :]                          # d[i, j] = p_j - p_i
    r = d.norm(dim=-1) + torch.eye(len(pos), dtype=pos.dtype)
    return (m[None, :, None] * d / r[..., None] ** 3 * (1 - torch.eye(len(pos), dtype=pos.dtype))[..., None]).sum(1)


@exercise("the gravitational field of point masses", hints=[
    "For every pair i != j: the field at i points from i toward j and has size m_j / r_ij².",
    "d = pos[None, :, :] - pos[:, None, :] gives d[i, j] = p_j - p_i; divide by |d|³ and weight by m_j.",
    "Exclude j = i (|d| = 0 there): add the identity to the distances before dividing, and zero the diagonal terms.",
])
def q1(gravity_field):
    """Check ``gravity_field(pos (N, 3), masses (N,)) -> (N, 3)`` on 2 and 6 masses, and under rotations."""
    pair = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=F64)
    m2 = torch.tensor([1.0, 3.0], dtype=F64)
    got = _float64(call(gravity_field, pair.clone(), m2.clone()), "gravity_field(2 masses)", (2, 3))
    want = _gravity(pair, m2)
    if _dev(got, -want) < 1e-10:
        fail("on two masses your field points away from the other mass: gravity attracts",
             "the field at i is along p_j - p_i, not p_i - p_j")
    if _dev(got, want) > 1e-10:
        if _dev(got, want * m2[:, None] / m2[[1, 0], None]) < 1e-10:
            fail("on two masses the field at i is weighted by its own mass m_i: use the other mass m_j")
        fail(f"on two masses (m = 1 at the origin, m = 3 at (0, 2, 0)) expected {want.tolist()}, got {got.tolist()}",
             "|g| = m_j / r², along the direction from i to j")
    gen = _gen(131)
    pos = 2 * torch.rand(6, 3, generator=gen, dtype=F64)
    m = 0.5 + torch.rand(6, generator=gen, dtype=F64)
    got = _float64(call(gravity_field, pos.clone(), m.clone()), "gravity_field(6 masses)", (6, 3))
    want = _gravity(pos, m)
    if _dev(got, want) > 1e-9 * float(want.abs().max()):
        fail("right on two masses but not on six: sum the contributions of every other mass j != i",
             "loop over all j, or broadcast: d[i, j] = pos[j] - pos[i]")
    R = random_rotation(_gen(132))
    moved = pos @ R.T + torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    g2 = _float64(call(gravity_field, moved, m.clone()), "gravity_field(rotated masses)", (6, 3))
    if _dev(g2, got @ R.T) > 1e-9 * float(want.abs().max()):
        fail("the field of rotated and translated masses is not the rotated field", "use only differences of positions")
    return "matches Newton on 2 and 6 masses (G = 1, float64), turns with the masses and ignores translations"


# ----------------------------------------------------------------------------- q2
def _charges(A: torch.Tensor, chi: torch.Tensor, total: float) -> torch.Tensor:
    n = len(chi)
    K = torch.zeros(n + 1, n + 1, dtype=F64)
    K[:n, :n], K[:n, n], K[n, :n] = A, 1.0, 1.0
    return torch.linalg.solve(K, torch.cat([-chi, torch.tensor([total], dtype=F64)]))[:n]


def _qeq_case(name: str, seed: int):
    mol = molecules.distort(molecules.g2_molecule(name), 0.05, _gen(seed))
    chi = torch.tensor([molecules.QEQ_PARAMETERS[s][0] for s in mol.symbols], dtype=F64)
    return molecules.coulomb_matrix(mol.symbols, mol.pos), chi


@exercise("charge equilibration: one constrained linear solve", hints=[
    "Minimize E(q) = chi·q + ½ qᵀ A q with the constraint sum(q) = Q: add a Lagrange multiplier mu.",
    "The stationarity conditions are A q + chi - mu 1 = 0 and 1ᵀ q = Q: n + 1 linear equations.",
    "Build K = [[A, 1], [1ᵀ, 0]] of size (n+1, n+1), solve K [q, -mu] = [-chi, Q] with torch.linalg.solve, return the first n entries.",
])
def q2(equalize_charges):
    """Check ``equalize_charges(A, chi, total_charge) -> q`` on an equal-hardness diatomic, real molecules, and an ion."""
    A = torch.tensor([[10.0, 6.0], [6.0, 10.0]], dtype=F64)
    chi = torch.tensor([4.0, 7.0], dtype=F64)
    got = _float64(call(equalize_charges, A.clone(), chi.clone(), 0.0), "equalize_charges (diatomic)", (2,))
    if _dev(got, _charges(A, chi, 0.0)) > 1e-10:
        if abs(float(got.sum())) > 1e-8:
            fail(f"on a diatomic your charges sum to {float(got.sum()):.3g}, not 0",
                 "the minimum without the constraint is not neutral: impose sum(q) = Q with a Lagrange multiplier")
        fail(f"on a diatomic expected {_charges(A, chi, 0.0).tolist()}, got {got.tolist()}",
             "the more electronegative atom (larger chi) gets the negative charge")
    for name, seed in (("H2O", 1), ("CH3CH2OH", 2)):
        A, chi = _qeq_case(name, seed)
        got = _float64(call(equalize_charges, A.clone(), chi.clone(), 0.0), f"equalize_charges ({name})", (len(chi),))
        want = _charges(A, chi, 0.0)
        if _dev(got, want) > 1e-9:
            if abs(float(got.sum())) < 1e-8:
                fail(f"right on the diatomic but not on {name}: shifting the unconstrained charges to make them "
                     "sum to zero only works when every atom is equally hard",
                     "solve the bordered system [[A, 1], [1ᵀ, 0]] [q, -mu] = [-chi, Q]")
            fail(f"on {name} your charges sum to {float(got.sum()):.3g}, not 0", "impose sum(q) = Q exactly")
    A, chi = _qeq_case("NH3", 3)
    got = _float64(call(equalize_charges, A.clone(), chi.clone(), 1.0), "equalize_charges (NH4+ like, Q = 1)", (4,))
    if _dev(got, _charges(A, chi, 1.0)) > 1e-9:
        fail(f"with total_charge = 1 your charges sum to {float(got.sum()):.3g}", "the last equation is sum(q) = total_charge")
    return "minimizes χ·q + ½ qᵀAq under Σq = Q: a diatomic, water and ethanol (Q = 0), and Q = 1"


# ----------------------------------------------------------------------------- q3
def _applequist(alphas, pos):
    return molecules.induced_dipole_polarizability(alphas, pos, thole_a=0.0)


@exercise("Applequist's interacting induced dipoles", hints=[
    "Each atom: p_i = alpha_i (E + sum_{j != i} T_ij p_j) with T_ij = (3 r̂ r̂ᵀ - I) / r³, r = p_i - p_j.",
    "Stack the 3N unknowns: (diag(1/alpha_i, each 3 times) - T) p = (E, E, ..., E). Solve it for E = x, y, z (three right-hand sides).",
    "B = torch.linalg.inv(M) with M of size (3N, 3N); the molecular tensor is B.reshape(N, 3, N, 3).sum((0, 2)).",
])
def q3(applequist):
    """Check ``applequist(alphas (N,), pos (N, 3)) -> (3, 3)`` far apart, on a diatomic and on a 4-atom cluster."""
    far = torch.tensor([[0.0, 0.0, 0.0], [0.0, 80.0, 0.0]], dtype=F64)
    a2 = torch.tensor([1.2, 0.8], dtype=F64)
    got = _float64(call(applequist, a2.clone(), far.clone()), "applequist (atoms 80 Å apart)", (3, 3))
    if _dev(got, 2.0 * torch.eye(3, dtype=F64)) > 1e-4:
        fail("for two atoms 80 Å apart the result should be the isolated sum (α1 + α2) I", "check the diagonal blocks: 1/alpha_i")
    a, r = 1.0, 1.6
    pair = torch.tensor([[0.0, 0.0, 0.0], [r, 0.0, 0.0]], dtype=F64)
    got = _float64(call(applequist, torch.tensor([a, a], dtype=F64), pair.clone()), "applequist (diatomic)", (3, 3))
    par, perp = 2 * a / (1 - 2 * a / r**3), 2 * a / (1 + a / r**3)
    want = torch.diag(torch.tensor([par, perp, perp], dtype=F64))
    if _dev(got, want) > 1e-9:
        if _dev(got, 2 * a * torch.eye(3, dtype=F64)) < 1e-9:
            fail("right only for atoms far apart: your tensor ignores the dipole-dipole interactions",
                 "the field at atom i includes T_ij p_j from every other atom")
        if float(got[0, 0]) < float(got[1, 1]):
            fail("on a diatomic along x you get α∥ < α⊥: the sign of the dipole field is flipped",
                 "T = (3 r̂ r̂ᵀ − I)/r³, and the matrix to invert is diag(1/α) − T")
        fail(f"on a diatomic (α = 1, r = 1.6 along x) expected diag({par:.4f}, {perp:.4f}, {perp:.4f})",
             "α∥ = 2α/(1 − 2α/r³), α⊥ = 2α/(1 + α/r³)")
    gen = _gen(133)
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.9, 0.2, 0.0], [0.3, 1.8, 0.4], [0.5, 0.4, 2.0]], dtype=F64)
    pos = pos + 0.1 * torch.randn(4, 3, generator=gen, dtype=F64)
    alphas = 0.5 + 0.5 * torch.rand(4, generator=gen, dtype=F64)
    got = _float64(call(applequist, alphas.clone(), pos.clone()), "applequist (4 atoms)", (3, 3))
    want = _applequist(alphas, pos)
    if _dev(got, want) > 1e-9:
        fail("right on a diatomic but not on 4 atoms: every pair interacts, including the mutual response of all of them",
             "invert the whole (3N, 3N) matrix; a single pass p = α(E + T α E) is only first order")
    R = -random_rotation(_gen(134))
    got_R = _float64(call(applequist, alphas.clone(), pos @ R.T), "applequist (reflected cluster)", (3, 3))
    if _dev(got_R, R @ got @ R.T) > 1e-9:
        fail("the tensor of the rotated cluster is not R α Rᵀ", "use only the vectors p_i − p_j")
    return ("isolated sum when far apart, α∥ and α⊥ of a diatomic exactly, a 4-atom cluster, "
            "and R α Rᵀ under an improper rotation")


# ----------------------------------------------------------------------------- q4
def _q4_batch():
    mols = [molecules.distort(molecules.g2_molecule(n), 0.05, _gen(140 + k)) for k, n in enumerate(("H2O", "CH3CHO"))]
    batch = batch_point_clouds([m.pos for m in mols])
    features = torch.cat([molecules.one_hot(m.symbols, F64) for m in mols])
    return batch.pos, features, batch.batch


@exercise("an equivariant model that outputs a dipole", hints=[
    "The input features are one-hot elements: irreps '7x0e'. The output is one polar vector per molecule: '1o'.",
    "EquivariantPointNet(irreps_out, irreps_node_in=..., r_max=2.0, ...) from e3teach.models pools over atoms for you.",
    "Not '1e' (a pseudovector does not flip under inversion) and not '3x0e' (scalars cannot rotate).",
])
def q4(make_dipole_model):
    """Check ``make_dipole_model()`` returns a module ``model(pos, features, batch) -> (B, 3)`` that is O(3)-equivariant as 1o,
    gives each molecule of a batch what it gives alone, and ignores translations."""
    if isinstance(make_dipole_model, type):
        fail(f"you passed the class `{make_dipole_model.__name__}` itself: the checker calls your function with no "
             "arguments, and a class needs its irreps", "pass the function that builds a configured model: "
             "check.q4(make_dipole_model)")
    if isinstance(make_dipole_model, torch.nn.Module):
        fail("you passed a model; the exercise asks for the function that builds one (the checker builds it itself, "
             "in float64)", "check.q4(make_dipole_model), without the ()")
    with default_dtype(F64):
        torch.manual_seed(0)
        model = call(make_dipole_model)
    _returned(model, "make_dipole_model()")
    if not callable(model):
        fail(f"make_dipole_model() returned a {type(model).__name__}, not a model", "return the module itself")
    pos, features, batch = _q4_batch()
    dtype = _model_dtype(model)               # a float32 model is fine: give it float32 inputs, judge at 1e-4
    pos, features = pos.to(dtype), features.to(dtype)

    def run(p, f=features, b=batch):
        try:
            return call(model, p.clone(), f.clone(), b.clone(), name="model")
        except CheckFailed as exc:
            mismatch = _q4_input_mismatch(model, f)
            if mismatch:
                fail(mismatch, "EquivariantPointNet('1o', irreps_node_in='7x0e', ...)")
            raise

    out = expect_tensor(_returned(run(pos), "model(...)"), "model(pos, features, batch)", shape=(2, 3))
    scale = float(out.abs().max())
    if scale < 1e-8:
        fail("the model's output is zero for every molecule", "an output convolution to '1o' gives a non-zero vector")
    tol = 1e-8 * max(1.0, scale) if out.dtype == F64 else 1e-4 * max(1.0, scale)
    for k in range(2):                        # each molecule alone: the batch must not let them interact
        atoms = batch == k
        alone = expect_tensor(run(pos[atoms], features[atoms], torch.zeros(int(atoms.sum()), dtype=torch.long)),
                              f"model on molecule {k} alone", shape=(1, 3))
        if _dev(alone[0], out[k]) > tol:
            fail(f"molecule {k} gives {_vec(alone[0])} alone but {_vec(out[k])} in the batch: atoms of different "
                 "molecules (the two overlap in space) interact through the graph",
                 "build the graph with the batch vector, radius_graph(pos, r_max, batch), so that edges stay inside "
                 "each molecule (EquivariantPointNet does, when you pass batch)")
    R = random_rotation(_gen(145))
    rot = run(pos @ R.T.to(dtype))
    if _dev(rot, out @ R.T.to(out.dtype)) > tol:
        if _dev(rot, out) < tol:
            fail("the output does not change when the molecules rotate: these are scalars (0e), not a vector",
                 "a rotation-invariant function read as a vector can only be right if the vector is zero")
        fail("rotating the molecules does not rotate the output as a vector", "use irreps_out='1o'")
    inv = run(-pos)
    if _dev(inv, -out) > tol:
        if _dev(inv, out) < tol:
            fail("the output rotates but does not flip under inversion: it is a pseudovector (1e); a dipole is polar (1o)",
                 "use irreps_out='1o'")
        fail("the output does not flip sign under inversion (p → −p)", "use irreps_out='1o'")
    shifted = run(pos + torch.tensor([2.0, -1.0, 0.5], dtype=pos.dtype))
    if _dev(shifted, out) > tol:
        fail("the output changes when the molecules are translated", "build the graph from differences of positions")
    # the success line is stored in solutions/13 (NBVAL_CHECK_OUTPUT): keep it word for word
    return "outputs one vector per molecule that rotates with the molecules, flips under inversion (1o) and ignores translations"


def _vec(v: torch.Tensor) -> str:
    return "(" + ", ".join(f"{float(x):.4g}" for x in v) + ")"


def _model_dtype(model) -> torch.dtype:
    """The dtype of a module's floating-point parameters (float64 for anything else)."""
    params = [p for p in getattr(model, "parameters", lambda: [])() if p.is_floating_point()]
    return params[0].dtype if params else F64


def _q4_input_mismatch(model, features: torch.Tensor) -> str | None:
    """"your model expects node features '0e' …" when its input irreps do not fit the 7 one-hot columns."""
    irreps_in = getattr(model, "irreps_node_in", None)
    if irreps_in is not None and o3.Irreps(irreps_in).dim != features.shape[1]:
        return (f"your model expects node features '{irreps_in}' ({o3.Irreps(irreps_in).dim} number(s) per atom), "
                f"but the one-hot elements are {features.shape[1]} scalars per atom: irreps_node_in='7x0e'")
    return None
