"""Checkers for lesson 14b (potentials in practice).

Use: ``from e3teach.checks import lesson14b as check``.

* ``q1(stress_from_energy)``: the stress (1/V) ∂E/∂ε of a periodic torch energy, eV/Å³, ase's sign.
* ``q2(reference_energies)``: per-species E0 by least squares, nearest the isolated atoms when
  rank-deficient.
* ``q3(masked_mse)``: a mean squared error over the atoms whose target is known (NaN elsewhere).
* ``q4(paper_metrics)``: energy MAE per structure and per atom, force MAE/RMSE per component and per
  vector.
"""
from __future__ import annotations

import numpy as np
import torch

from .core import (LOW_PRECISION, as_number, as_torch, call, describe, exercise, expect_close,
                   expect_tensor, fail, show)
from .lesson14 import KEEP_FLOAT64

__all__ = ["q1", "q2", "q3", "q4", "periodic_morse_energy", "periodic_morse_stress",
           "PAPER_METRICS"]


# ----------------------------------------------------------------------------- q1
def _morse_pair(r: torch.Tensor, depth: float = 0.3, a: float = 1.4, r0: float = 2.6, r_cut: float = 4.5):
    """A Morse pair energy (eV) times a cosine cutoff: smooth at ``r_cut`` (Å)."""
    cut = 0.5 * (torch.cos(torch.pi * r / r_cut) + 1) * (r < r_cut)
    return depth * ((1 - torch.exp(-a * (r - r0))) ** 2 - 1) * cut


def _image_vectors(pos: torch.Tensor, cell: torch.Tensor, reach: int = 2):
    """Every vector pos[j] - pos[i] + n @ cell, n in [-reach, reach]³, without i = j at n = 0: (P, 3)."""
    rng = torch.arange(-reach, reach + 1, dtype=pos.dtype)
    shifts = torch.cartesian_prod(rng, rng, rng)
    vec = pos[None, :, None, :] - pos[:, None, None, :] + (shifts @ cell)[None, None]
    self_pair = torch.eye(len(pos), dtype=torch.bool)[:, :, None] & (shifts.abs().sum(1) == 0)[None, None, :]
    return vec[~self_pair]


def periodic_morse_energy(pos: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    r"""Energy (eV, 0-d) of a periodic Morse crystal: :math:`\tfrac12 \sum_{i, j, \vec n} \phi(|\vec p_j - \vec p_i +
    \vec n\,C|)`, every image within the 4.5 Å cutoff (``pos`` (N, 3) Å, ``cell`` (3, 3) Å, rows: cell vectors)."""
    return 0.5 * _morse_pair(_image_vectors(pos, cell).norm(dim=-1)).sum()


def periodic_morse_stress(pos: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    r"""Its stress in closed form, independent of autograd: :math:`\sigma_{ab} = \frac{1}{2V}\sum \phi'(r)\,
    d_a d_b / r` (eV/Å³; :math:`\phi'` by a central difference of the pair function at 1e-6 Å)."""
    d = _image_vectors(pos, cell)
    r = d.norm(dim=-1)
    h = 1e-6
    dphi = (_morse_pair(r + h) - _morse_pair(r - h)) / (2 * h)
    return 0.5 * torch.einsum("p,pa,pb->ab", dphi / r, d, d) / abs(float(torch.linalg.det(cell)))


def _morse_crystal(seed: int, stretch: float):
    """Three atoms in a triclinic cell, rattled and scaled by ``stretch`` (float64)."""
    gen = torch.Generator().manual_seed(seed)
    cell = torch.tensor([[3.3, 0.0, 0.0], [0.7, 3.1, 0.0], [0.4, -0.5, 3.6]], dtype=torch.float64) * stretch
    frac = torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.5, 0.1], [0.2, 0.6, 0.55]], dtype=torch.float64)
    frac = frac + 0.03 * torch.randn(3, 3, generator=gen, dtype=torch.float64)
    return frac @ cell, cell


def _stress_moving_atoms_only(energy_fn, pos, cell):
    strain = torch.zeros(3, 3, dtype=pos.dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(energy_fn(pos @ (torch.eye(3, dtype=pos.dtype) + strain).T, cell), strain)
    return grad / abs(float(torch.linalg.det(cell)))


def _emt_frame():
    """A frame of the shipped Ag–Au data with ase's EMT as calculator, and the EMT energy in torch."""
    from ase.calculators.emt import EMT
    from .. import datasets
    from ..targets import emt_energy
    atoms = datasets.load("agau_md")[300].copy()
    atoms.calc = EMT()
    numbers = atoms.get_atomic_numbers()
    return atoms, (lambda p, c: emt_energy(p, c, numbers))


@exercise("stress by a strain derivative", hints=[
    "Make a 3×3 strain ε of zeros that requires grad; deform positions AND cell with (I + ε); differentiate E.",
    "F = torch.eye(3) + eps; energy = energy_fn(pos @ F.T, cell @ F.T); (g,) = torch.autograd.grad(energy, eps)",
    "σ = g / V with V = |det(cell)| (Å³): eV/Å³, positive when a stretched cell pulls back (ase's sign)",
])
def q1(stress_from_energy):
    """Check ``stress_from_energy(energy_fn, pos, cell) -> (3, 3)`` on a stretched and a compressed Morse crystal
    (closed form) and on an Ag–Au frame (ase's EMT stress, from the EMT energy written in torch)."""
    from ase import units
    for what, (pos, cell) in [("a stretched Morse crystal", _morse_crystal(61, 1.08)),
                              ("a compressed Morse crystal", _morse_crystal(62, 0.93))]:
        expected = periodic_morse_stress(pos, cell)
        dtypes = set()

        def recording(p, c):
            """The Morse energy, noting the dtype of the positions the learner passes."""
            dtypes.add(getattr(p, "dtype", None))
            return periodic_morse_energy(p, c)

        out = as_torch(call(stress_from_energy, recording, pos.clone(), cell.clone(),
                            name="stress_from_energy(energy_fn, pos, cell)"))
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (6,):
            fail("you returned 6 numbers (ase's Voigt order xx, yy, zz, yz, xz, xy): this exercise wants the full "
                 "3×3 tensor", "return the (3, 3) matrix; ase's atoms.get_stress(voigt=False) is the same")
        out = expect_tensor(out, "stress_from_energy(energy_fn, pos, cell)", shape=(3, 3)).detach()
        o64, scale = out.to(torch.float64), float(expected.abs().max())
        volume = abs(float(torch.linalg.det(cell)))

        def near(x, tol=1e-5):
            return float((o64 - x).abs().max()) <= tol * scale * max(1.0, float(x.abs().max()) / scale)

        if near(-expected):
            fail(f"on {what} your stress has the wrong sign: you returned −(1/V) ∂E/∂ε (a pressure-like sign, "
                 "or the virial / V)",
                 "ase's convention: σ = +(1/V) ∂E/∂ε; a stretched cell has σ > 0 (tensile)")
        if near(expected * volume):
            fail(f"on {what} your stress is V·σ (eV): you did not divide by the volume, V = {volume:.2f} Å³",
                 "σ = (1/V) ∂E/∂ε in eV/Å³, with V = |det(cell)|")
        if near(-expected * volume):
            fail(f"on {what} you returned the virial W = −V σ (eV), not the stress",
                 "σ = +(1/V) ∂E/∂ε, in eV/Å³")
        if near(expected / units.GPa):
            fail(f"on {what} your stress is in GPa: the check wants eV/Å³",
                 "drop the / ase.units.GPa (1 eV/Å³ ≈ 160 GPa)")
        if near(_stress_moving_atoms_only(periodic_morse_energy, pos, cell)):
            fail(f"on {what} you strained the positions but not the cell: the periodic images did not move",
                 "deform both: energy_fn(pos @ F.T, cell @ F.T) with F = I + ε")
        low = next((d for d in dtypes if d in LOW_PRECISION), None)
        if low is not None and not near(expected, 1e-7):
            fail(f"on {what} your stress is off by {float((o64 - expected).abs().max()):.1e} eV/Å³: energy_fn "
                 f"received {str(low).removeprefix('torch.')} positions", KEEP_FLOAT64)
        expect_close(out, expected, f"stress of {what}", rtol=1e-6, atol=1e-8 * max(scale, 1e-3), float32_ok=True,
                     hint="σ_ab = (1/V) ∂E/∂ε_ab at ε = 0, with positions and cell both deformed by (I + ε)")
    atoms, emt_fn = _emt_frame()
    pos = torch.tensor(atoms.positions, dtype=torch.float64)
    cell = torch.tensor(np.asarray(atoms.cell), dtype=torch.float64)
    out = expect_tensor(call(stress_from_energy, emt_fn, pos, cell, name="stress_from_energy on an Ag–Au cell"),
                        "stress of an Ag–Au cell", shape=(3, 3)).detach()
    ase_stress = torch.tensor(atoms.get_stress(voigt=False))
    expect_close(out, ase_stress, "stress of an Ag–Au cell (vs ase's EMT)", rtol=1e-6, atol=1e-9, float32_ok=True,
                 hint="use energy_fn and the cell you are given; divide by this cell's volume")
    # the success lines of q1–q4 are stored in solutions/14b (NBVAL_CHECK_OUTPUT): keep them word for word
    return "right sign and units on two Morse crystals and vs ase's EMT"


# ----------------------------------------------------------------------------- q2
#: made-up isolated-atom energies of H, C and O, eV
_ISOLATED = torch.tensor([-13.0, -1025.0, -2035.0], dtype=torch.float64)


def _e0_right(counts, energies, isolated):
    residual = energies - counts @ isolated
    return isolated + torch.linalg.pinv(counts) @ residual


@exercise("reference energies E0", hints=[
    "Start from the isolated-atom energies and fit only a correction: counts @ (isolated + δ) ≈ energies.",
    "δ = the minimum-norm least-squares solution of counts @ δ = energies - counts @ isolated: where the data "
    "cannot tell the species apart, it leaves E0 at the isolated-atom values.",
    "return isolated + torch.linalg.pinv(counts) @ (energies - counts @ isolated)",
])
def q2(reference_energies):
    """Check ``reference_energies(counts (S, Z), energies (S,), isolated (Z,)) -> (Z,)`` on varied compositions
    (plain least squares) and on one composition only (rank 1: the solution nearest the isolated atoms)."""
    gen = torch.Generator().manual_seed(71)
    counts = torch.randint(0, 7, (25, 3), generator=gen).to(torch.float64)
    counts[:, 1] += 1
    energies = counts @ torch.tensor([-13.6, -1030.0, -2040.0], dtype=torch.float64) \
        + 0.2 * torch.randn(25, generator=gen, dtype=torch.float64)
    expected = _e0_right(counts, energies, _ISOLATED)
    out = expect_tensor(call(reference_energies, counts.clone(), energies.clone(), _ISOLATED.clone(),
                             name="reference_energies (varied compositions)"), "E0 (varied compositions)", shape=(3,))
    o64 = out.detach().to(torch.float64)
    if torch.allclose(o64, _ISOLATED, atol=1e-9):
        fail("with 25 structures of varied composition you returned the isolated-atom energies unchanged: they "
             "ignore the data (an isolated atom is not an atom in a molecule)",
             "fit counts @ E0 ≈ energies; the data determine E0 here")
    expect_close(out, expected, "E0 (varied compositions)", rtol=1e-6, atol=1e-6, float32_ok=True,
                 hint="with varied compositions E0 is the least-squares solution of counts @ E0 ≈ energies")
    one = torch.tensor([[6.0, 2.0, 1.0]], dtype=torch.float64).repeat(12, 1)        # C2H6O only: rank 1
    e_one = -4200.0 + 0.05 * torch.randn(12, generator=gen, dtype=torch.float64)
    expected = _e0_right(one, e_one, _ISOLATED)
    out = expect_tensor(call(reference_energies, one.clone(), e_one.clone(), _ISOLATED.clone(),
                             name="reference_energies (one composition)"), "E0 (one composition)", shape=(3,))
    o64 = out.detach().to(torch.float64)
    mean_fit = float((one[0] @ o64) - e_one.mean())                     # eV; float32 rounds ~4200 eV to ~1e-3
    if abs(mean_fit) > (1e-2 if out.dtype in LOW_PRECISION else 1e-6):
        fail(f"with one composition (C2H6O, 12 structures) your E0 miss the mean energy by {mean_fit:.3g} eV: "
             "Σ n_z E0_z should still equal the average energy", "keep the least-squares fit of the energies")
    if not torch.allclose(o64, expected, atol=1e-3 if out.dtype in LOW_PRECISION else 1e-6):
        far, near_ = float((o64 - _ISOLATED).norm()), float((expected - _ISOLATED).norm())
        fail(f"with one composition (rank 1: only 6 E0_H + 2 E0_C + E0_O is fixed by the data) your E0 fit the "
             f"energies but lie {far:.3g} eV from the isolated-atom values; the nearest solution lies {near_:.3g} eV "
             "away (plain least squares picks the shortest vector, with no physical meaning)",
             "fit a correction δ to the isolated-atom energies with the minimum-norm solution: torch.linalg.pinv")
    return "least squares, and nearest the isolated atoms with one composition"


# ----------------------------------------------------------------------------- q3
def _masked_right(pred, target, mask):
    if not bool(mask.any()):
        return pred.sum() * 0.0
    return (pred[mask] - target[mask]).pow(2).mean()


@exercise("a masked loss", hints=[
    "Select the known atoms first, pred[mask] and target[mask], then take the mean of the squared differences.",
    "Multiplying by the mask does not work: NaN · 0 = NaN, and the mean would divide by every atom.",
    "if not mask.any(): return pred.sum() * 0.0;  return (pred[mask] - target[mask]).pow(2).mean()",
])
def q3(masked_mse):
    """Check ``masked_mse(pred (N,), target (N,), mask (N,) bool) -> 0-d``: value, finite gradient, empty mask."""
    gen = torch.Generator().manual_seed(81)
    pred = torch.randn(10, generator=gen, dtype=torch.float64)
    target = torch.randn(10, generator=gen, dtype=torch.float64)
    mask = torch.tensor([1, 0, 1, 1, 0, 0, 1, 0, 1, 1], dtype=torch.bool)
    nan_target = torch.where(mask, target, torch.full_like(target, float("nan")))
    expected = float((pred[mask] - target[mask]).pow(2).mean())
    zeros = torch.where(mask, target, torch.zeros_like(target))
    out = call(masked_mse, pred.clone(), zeros, mask.clone(), name="masked_mse(pred, target, mask)")
    value = as_number(out, "masked_mse (unknown targets stored as 0)")
    if abs(value - expected * mask.sum().item() / len(mask)) < 1e-9 * max(1.0, expected):
        fail(f"your loss is {value:.4g}, the masked sum divided by all {len(mask)} atoms: the unknown atoms count "
             f"in the mean (expected {expected:.4g}, the mean over the {int(mask.sum())} known ones)",
             "divide by mask.sum(), or take pred[mask] before the mean")
    if abs(value - float((pred - zeros).pow(2).mean())) < 1e-12 and abs(value - expected) > 1e-9:
        fail("your loss uses every atom: the mask plays no part", "keep only the known atoms: pred[mask], target[mask]")
    if abs(value - expected) > 1e-6 * max(1.0, expected):
        fail(f"your loss is {value:.6g}, expected {expected:.6g} (the mean squared error over the known atoms)",
             "(pred[mask] - target[mask]).pow(2).mean()")
    leaf = pred.clone().requires_grad_(True)
    out = call(masked_mse, leaf, nan_target.clone(), mask.clone(), name="masked_mse with NaN for unknown targets",
               raw=True)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        fail("your loss does not depend on pred through torch (no gradient): it cannot train a model",
             "compute it with torch operations on pred, and return the tensor (not float(...))")
    if not bool(torch.isfinite(out.detach()).all()):
        fail("with NaN stored for the unknown targets (as data sets do) your loss is NaN: NaN · 0 = NaN, so "
             "multiplying by the mask does not remove them", "select first: pred[mask] - target[mask]")
    (grad,) = torch.autograd.grad(out, leaf)
    if not bool(torch.isfinite(grad).all()):
        fail("the loss is finite but its gradient is NaN: torch.where(mask, diff, 0) still back-propagates through "
             "the NaN of the other branch", "index with the mask before subtracting: pred[mask] - target[mask]")
    if float(grad[~mask].abs().max()) > 0:
        fail("the gradient reaches atoms whose target is unknown", "only pred[mask] should enter the loss")
    expect_close(out.detach().to(torch.float64), torch.tensor(expected, dtype=torch.float64), "masked_mse with NaN",
                 rtol=1e-6, atol=1e-9, float32_ok=True)
    none = torch.zeros(10, dtype=torch.bool)
    out = call(masked_mse, pred.clone(), nan_target.clone(), none, name="masked_mse with no known atom")
    if isinstance(out, torch.Tensor) and out.numel() == 1 and not bool(torch.isfinite(out.detach()).all()):
        fail("with no known atom in the batch your loss is NaN (a mean over nothing): one such batch ruins the "
             "weights", "return 0 when mask.sum() == 0 (e.g. pred.sum() * 0.0, which keeps the graph)")
    if abs(as_number(out, "masked_mse with no known atom")) > 1e-12:
        fail("with no known atom your loss is not 0", "nothing known, nothing to fit: return 0")
    return "known atoms only, finite gradient with NaN targets, 0 if none known"


# ----------------------------------------------------------------------------- q4
#: What q4 asks for, in eV (energies) and eV/Å (forces).
PAPER_METRICS = ("energy_mae", "energy_mae_per_atom", "force_mae", "force_rmse", "force_vector_mae")


def _metrics_right(e_pred, e_true, n_atoms, f_pred, f_true):
    de, df = e_pred - e_true, f_pred - f_true
    return {"energy_mae": de.abs().mean(), "energy_mae_per_atom": (de / n_atoms).abs().mean(),
            "force_mae": df.abs().mean(), "force_rmse": df.pow(2).mean().sqrt(),
            "force_vector_mae": df.norm(dim=1).mean()}


_METRIC_MIXUPS = {
    "energy_mae_per_atom": [("energy_mae / mean(n_atoms)", lambda e, n, d: float(e.abs().mean() / n.mean())),
                            ("the energy MAE per structure", lambda e, n, d: float(e.abs().mean()))],
    "force_mae": [("the mean norm of the error vectors (per vector, not per component)",
                   lambda e, n, d: float(d.norm(dim=1).mean()))],
    "force_rmse": [("the RMSE of the error-vector norms, √3 × the per-component RMSE",
                    lambda e, n, d: float(d.norm(dim=1).pow(2).mean().sqrt())),
                   ("the mean absolute error", lambda e, n, d: float(d.abs().mean())),
                   ("the mean squared error (no square root)", lambda e, n, d: float(d.pow(2).mean()))],
    "force_vector_mae": [("the per-component MAE", lambda e, n, d: float(d.abs().mean())),
                         ("the RMSE of the norms", lambda e, n, d: float(d.norm(dim=1).pow(2).mean().sqrt()))],
    "energy_mae": [("the energy MAE per atom", lambda e, n, d: float((e / n).abs().mean())),
                   ("the mean signed error (errors of both signs cancel)", lambda e, n, d: float(e.mean()))],
}


@exercise("the metrics papers report", hints=[
    "Return a dict with the five keys; energies (S,) in eV with n_atoms (S,); forces (N, 3) in eV/Å.",
    "Per atom: divide each structure's error by its own number of atoms, then average. Per component: average "
    "over all N·3 numbers. Per vector: the norm of each atom's error vector, then average.",
    "de, df = e_pred - e_true, f_pred - f_true; energy_mae = de.abs().mean(); energy_mae_per_atom = "
    "(de / n_atoms).abs().mean(); force_mae = df.abs().mean(); force_rmse = df.pow(2).mean().sqrt(); "
    "force_vector_mae = df.norm(dim=1).mean()",
])
def q4(paper_metrics):
    """Check ``paper_metrics(e_pred, e_true, n_atoms, f_pred, f_true) -> dict`` on structures of different sizes."""
    gen = torch.Generator().manual_seed(91)
    n_atoms = torch.tensor([3, 9, 5, 24], dtype=torch.float64)
    e_true = -3.0 * n_atoms + torch.randn(4, generator=gen, dtype=torch.float64)
    e_pred = e_true + torch.tensor([0.3, -1.1, 0.2, 0.9], dtype=torch.float64)
    f_true = torch.randn(41, 3, generator=gen, dtype=torch.float64)
    f_pred = f_true + 0.2 * torch.randn(41, 3, generator=gen, dtype=torch.float64) ** 3
    out = call(paper_metrics, e_pred.clone(), e_true.clone(), n_atoms.clone(), f_pred.clone(), f_true.clone(),
               name="paper_metrics(e_pred, e_true, n_atoms, f_pred, f_true)")
    if not isinstance(out, dict):
        fail(f"paper_metrics returned {describe(out)}; expected a dict with the keys {', '.join(PAPER_METRICS)}",
             "return {'energy_mae': ..., 'energy_mae_per_atom': ..., ...}")
    missing = [k for k in PAPER_METRICS if k not in out]
    if missing:
        fail(f"the dict lacks {', '.join(missing)} (it has {', '.join(map(str, out)) or 'no keys'})",
             f"return the five keys {', '.join(PAPER_METRICS)}")
    expected = _metrics_right(e_pred, e_true, n_atoms, f_pred, f_true)
    de, df = e_pred - e_true, f_pred - f_true
    for key in PAPER_METRICS:
        value, want = as_number(out[key], key), float(expected[key])
        if abs(value - want) <= 1e-6 * max(1.0, want):
            continue
        for what, mixup in _METRIC_MIXUPS[key]:
            if abs(value - mixup(de, n_atoms, df)) <= 1e-6 * max(1.0, abs(value)):
                easy = (" — the same only when every structure has the same number of atoms"
                        if "mean(n_atoms)" in what else "")
                fail(f"{key} = {value:.4g} is {what}{easy}; expected {want:.4g}", _metric_hint(key))
        got_s, want_s = show(value, want)
        fail(f"{key} = {got_s}, expected {want_s}", _metric_hint(key))
    ratio = float(expected["force_rmse"] / expected["force_mae"])
    return f"all five on structures of 3–24 atoms (RMSE/MAE = {ratio:.2f} here)"


def _metric_hint(key: str) -> str:
    return {"energy_mae": "mean over structures of |E_pred - E_true|, eV",
            "energy_mae_per_atom": "divide each structure's error by its own n_atoms, then average (eV/atom)",
            "force_mae": "mean of |ΔF| over all N·3 components (eV/Å)",
            "force_rmse": "square root of the mean of ΔF² over all N·3 components (eV/Å)",
            "force_vector_mae": "the norm of each atom's error vector, averaged over atoms (eV/Å)"}[key]
