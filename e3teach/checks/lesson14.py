"""Checkers for lesson 14 (energies and forces): ``from e3teach.checks import lesson14 as check``.

* ``q1(smooth_cutoff)``: ``u(r, r_max)`` equal to 1 at 0, zero from ``r_max`` on, with zero slope at ``r_max``.
* ``q2(forces_from_energy)``: forces ``-∂E/∂pos`` by autograd from an energy function.
* ``q3(finite_difference_forces)``: forces by central differences of the energy.
* ``q4(fit_energy_shift)``: per-species energies by least squares from species counts.
* ``q5(Calculator class)``: an ase calculator wrapping a torch energy function (its ``calculate``).

Going further (beyond energy and forces):

* ``q6(stress_from_energy)``: the stress (1/V) ∂E/∂ε of a periodic torch energy, eV/Å³, ase's sign.
* ``q7(reference_energies)``: per-species E0 by least squares, nearest the isolated atoms when rank-deficient.
* ``q8(masked_mse)``: a mean squared error over the atoms whose target is known (NaN elsewhere).
* ``q9(paper_metrics)``: energy MAE per structure and per atom, force MAE/RMSE per component and per vector.
"""
from __future__ import annotations

import numpy as np
import torch

from .core import (LOW_PRECISION, as_number, as_torch, call, describe, exercise, expect_close, expect_tensor, fail,
                   show)

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "lennard_jones_energy", "lennard_jones_forces",
           "periodic_morse_energy", "periodic_morse_stress", "PAPER_METRICS"]


# ----------------------------------------------------------------------------- shared test systems
def lennard_jones_energy(pos: torch.Tensor, epsilon: float = 0.2, sigma: float = 2.5) -> torch.Tensor:
    r"""Lennard-Jones energy :math:`\sum_{i<j} 4\epsilon[(\sigma/r)^{12} - (\sigma/r)^6]` of a cluster (a 0-d tensor)."""
    i, j = torch.triu_indices(len(pos), len(pos), offset=1)
    r = (pos[j] - pos[i]).norm(dim=1)
    return (4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)).sum()


def lennard_jones_forces(pos: torch.Tensor, epsilon: float = 0.2, sigma: float = 2.5) -> torch.Tensor:
    r"""The analytic Lennard-Jones forces (independent of autograd): on atom :math:`j`, from :math:`i`,
    :math:`\vec F = -\frac{dV}{dr}\,\hat r_{ij}` with :math:`dV/dr = 4\epsilon(-12\sigma^{12}/r^{13} + 6\sigma^6/r^7)`."""
    diff = pos[None, :, :] - pos[:, None, :]                  # diff[i, j] = pos[j] - pos[i]
    r = diff.norm(dim=-1) + torch.eye(len(pos), dtype=pos.dtype)
    dvdr = 4 * epsilon * (-12 * sigma**12 / r**13 + 6 * sigma**6 / r**7)
    dvdr = dvdr * (1 - torch.eye(len(pos), dtype=pos.dtype))
    return -(dvdr[..., None] * diff / r[..., None]).sum(dim=0)


def _cluster(seed: int, n: int = 6, dtype=torch.float64) -> torch.Tensor:
    """A random cluster with no two atoms closer than 2.4 (Lennard-Jones forces of order 0.1–10)."""
    gen = torch.Generator().manual_seed(seed)
    points = []
    while len(points) < n:
        p = 5.0 * torch.rand(3, generator=gen, dtype=dtype)
        if all(float((p - q).norm()) > 2.4 for q in points):
            points.append(p)
    return torch.stack(points)


def _springs_energy(pos: torch.Tensor) -> torch.Tensor:
    """Another energy: springs of rest length 1.5 between consecutive atoms, plus a weak pull to the origin."""
    bonds = (pos[1:] - pos[:-1]).norm(dim=1)
    return 0.7 * (bonds - 1.5).pow(2).sum() + 0.05 * pos.pow(2).sum()


def _springs_forces(pos: torch.Tensor) -> torch.Tensor:
    d = pos[1:] - pos[:-1]
    r = d.norm(dim=1, keepdim=True)
    pull = 1.4 * (r - 1.5) * d / r                           # dE/d pos[k+1] from bond k
    grad = torch.zeros_like(pos)
    grad[1:] += pull
    grad[:-1] -= pull
    return -(grad + 0.1 * pos)


class _Recorder:
    """An energy function that records how the learner calls it: the dtypes of the positions it receives and
    how far each call moves them from ``pos`` (0 for an unshifted call)."""

    def __init__(self, energy_fn, pos: torch.Tensor):
        self.energy_fn, self.pos, self.dtypes, self.steps = energy_fn, pos.clone(), set(), []

    def __call__(self, p):
        if isinstance(p, torch.Tensor) and p.shape == self.pos.shape:
            self.dtypes.add(p.dtype)
            self.steps.append(float((p.detach().to(torch.float64) - self.pos).abs().max()))
        return self.energy_fn(p)

    def low_precision(self) -> torch.dtype | None:
        return next((d for d in self.dtypes if d in LOW_PRECISION), None)


_KEEP_FLOAT64 = "keep the positions in their dtype, float64: pos.clone(), pos.detach() — no .float(), no dtype=torch.float32"


# ----------------------------------------------------------------------------- q1
@exercise("a smooth cutoff function", hints=[
    "u must be 1 at r = 0, 0 for every r ≥ r_max, and its slope must also vanish at r_max (no kink).",
    "Lesson 07's polynomial cutoff u(x), x = r / r_max, or the cosine cutoff 0.5·(cos(π r / r_max) + 1): both have "
    "u(r_max) = 0 and u'(r_max) = 0 — but they do not stay 0 after r_max: multiply by (r < r_max).",
    "return 0.5 * (torch.cos(torch.pi * r / r_max) + 1) * (r < r_max)",
])
def q1(smooth_cutoff):
    """Check ``smooth_cutoff(r, r_max)`` on a grid, at ``r_max``, just past it and beyond, for two values of ``r_max``."""
    for r_max in (3.6, 1.5):
        r = torch.linspace(0.0, 1.5 * r_max, 301, dtype=torch.float64)
        # just past r_max, where exp(1 - 1/(1 - x²)) overflows (inf · 0 = NaN); a grid steps over that window
        edge = r_max * torch.tensor([1.0, 1 + 1e-9, 1 + 1e-6, 1 + 1e-4, 1 + 3e-4, 1 + 1e-3], dtype=torch.float64)
        r = torch.cat([r, edge])
        raw = expect_tensor(call(smooth_cutoff, r.clone(), r_max), f"smooth_cutoff(r, r_max={r_max})",
                            shape=tuple(r.shape), finite=False)
        tol = 1e-5 if raw.dtype in LOW_PRECISION else 1e-9          # read the dtype before converting
        u = raw.detach().to(torch.float64)
        if not bool(torch.isfinite(u).all()):
            bad = float(r[~torch.isfinite(u)][0])
            past = " (just past r_max)" if r_max < bad < 1.01 * r_max else ""
            fail(f"with r_max = {r_max}, u is {'NaN' if bool(torch.isnan(u).any()) else 'inf'} at r = {bad!r}{past}: "
                 "an exp or a division overflows there, and inf · 0 is NaN",
                 "zero the far side with torch.where(r < r_max, u, torch.zeros_like(u)) instead of multiplying by "
                 "(r < r_max), or clamp x = r / r_max below 1 before the formula")
        if abs(float(u[0]) - 1.0) > 1e-4:
            fail(f"u(0) = {float(u[0]):.4g} with r_max = {r_max}; a cutoff should leave short distances untouched: u(0) = 1",
                 "at r = 0 your function must return 1")
        beyond = u[r >= r_max]
        if float(beyond.abs().max()) > tol:
            fail(f"with r_max = {r_max}, u is not zero beyond r_max (up to {float(beyond.abs().max()):.3g}): a neighbour "
                 "outside the cutoff would still count", "multiply by (r < r_max)")
        u, r = u[:301], r[:301]
        inside = u[r < r_max]
        if bool((inside.diff() > 1e-6).any()):
            fail(f"with r_max = {r_max}, u increases somewhere between 0 and r_max", "u should fall from 1 to 0 without going back up")
        if bool((inside < -1e-9).any()):
            fail(f"with r_max = {r_max}, u is negative somewhere below r_max", "a cutoff weight lies between 0 and 1")
        # value and slope just below r_max, by central differences (works for NumPy answers too)
        h, near = 1e-6, r_max - 1e-4
        probe = torch.tensor([near - h, near, near + h], dtype=torch.float64)
        v = expect_tensor(call(smooth_cutoff, probe.clone(), r_max), "smooth_cutoff near r_max", shape=(3,)).to(torch.float64)
        slope = float(v[2] - v[0]) / (2 * h)
        if abs(float(v[1])) > 1e-3:
            fail(f"u(r_max - 1e-4) = {float(v[1]):.3g} with r_max = {r_max}: u jumps to 0 at r_max instead of reaching it "
                 "continuously", "the value must go to 0 as r → r_max")
        if abs(slope) > 1e-2 / r_max:
            fail(f"the slope of u just below r_max = {r_max} is {slope:.3g}: the value reaches 0 but with a kink, so "
                 "forces (derivatives) would jump when a neighbour crosses r_max",
                 "choose a function whose derivative also vanishes at r_max, e.g. 0.5·(cos(π r/r_max) + 1)")
    return "u(0) = 1, u = 0 from r_max on, u decreasing, and value and slope → 0 at r_max (r_max = 3.6 and 1.5)"


# ----------------------------------------------------------------------------- q2
@exercise("forces by autograd", hints=[
    "Make a copy of the positions that requires gradients, compute the energy, and differentiate it.",
    "pos = pos.detach().requires_grad_(True); energy = energy_fn(pos); (grad,) = torch.autograd.grad(energy, pos)",
    "Forces are MINUS the gradient of the energy: return -grad",
])
def q2(forces_from_energy):
    """Check ``forces_from_energy(energy_fn, pos) -> (N, 3)`` against analytic Lennard-Jones and spring forces."""
    for energy_fn, exact, what in [(lennard_jones_energy, lennard_jones_forces, "a Lennard-Jones cluster"),
                                   (_springs_energy, _springs_forces, "a chain of springs")]:
        pos = _cluster(141) if energy_fn is lennard_jones_energy else _cluster(142) * 0.6
        expected = exact(pos)
        recorder = _Recorder(energy_fn, pos)
        out = expect_tensor(call(forces_from_energy, recorder, pos.clone()), "forces_from_energy(energy_fn, pos)",
                            shape=tuple(pos.shape))
        out = out.detach()
        if torch.allclose(out.to(torch.float64), -expected, rtol=1e-6, atol=1e-9):
            fail(f"on {what} your forces are the gradient of the energy, with the wrong sign",
                 "F = -∂E/∂pos: atoms are pushed downhill")
        error = float((out.to(torch.float64) - expected).abs().max()) / float(expected.abs().max())
        wrong = not torch.allclose(out.to(torch.float64), expected, rtol=1e-7, atol=1e-9)
        if wrong and recorder.low_precision():
            fail(f"on {what} your forces are off by {error:.1e} (relative): energy_fn received "
                 f"{str(recorder.low_precision()).removeprefix('torch.')} positions", _KEEP_FLOAT64)
        if wrong and len(recorder.steps) > 2:
            fail(f"on {what} your forces are off by {error:.1e} (relative), and your function evaluated the energy "
                 f"{len(recorder.steps)} times: finite differences, whose error is of order h², not autograd",
                 "one energy evaluation and torch.autograd.grad(energy, pos) give the exact gradient")
        expect_close(out, expected, f"forces on {what}", rtol=1e-7, atol=1e-9,
                     hint="differentiate the energy with respect to the positions you pass to energy_fn")
    return "−∂E/∂pos matches the analytic forces of a Lennard-Jones cluster and of a chain of springs"


# ----------------------------------------------------------------------------- q3
@exercise("forces by central differences", hints=[
    "Move one coordinate at a time by +h and by -h, evaluate the energy twice, and take the slope.",
    "F[i, a] = -(E(pos + h e_ia) - E(pos - h e_ia)) / (2 h); copy pos before changing it.",
    "Loop over i in range(len(pos)) and a in range(3); plus = pos.clone(); plus[i, a] += h; "
    "minus = pos.clone(); minus[i, a] -= h; F[i, a] = -(float(energy_fn(plus)) - float(energy_fn(minus))) / (2 * h)",
])
def q3(finite_difference_forces):
    """Check ``finite_difference_forces(energy_fn, pos, h) -> (N, 3)``: central, signed, leaves ``pos`` unchanged."""
    pos = _cluster(143)
    expected = lennard_jones_forces(pos)
    scale = float(expected.abs().max())
    frozen = pos.clone()
    recorder = _Recorder(lennard_jones_energy, pos)
    out = expect_tensor(call(finite_difference_forces, recorder, pos, 1e-3),
                        "finite_difference_forces(energy_fn, pos, h=1e-3)", shape=tuple(pos.shape))
    if not torch.equal(pos, frozen):
        fail("your function changed the positions it was given", "work on copies: plus = pos.clone()")
    out = out.detach().to(torch.float64)
    if float((out + expected).abs().max()) < 1e-3 * scale:
        fail("your finite differences give +∂E/∂pos: the forces have the wrong sign", "F = -∂E/∂pos")
    error = float((out - expected).abs().max()) / scale
    if error > 1e-5:
        moved = sorted({round(step, 12) for step in recorder.steps if step > 0})
        if recorder.low_precision():
            low = str(recorder.low_precision()).removeprefix("torch.")
            fail(f"with h = 1e-3 your forces are off by {error:.1e} (relative): energy_fn received {low} positions, "
                 f"and the round-off of a {low} energy (~1e-7 of it) divided by 2h swamps the difference", _KEEP_FLOAT64)
        if moved and all(abs(step - 1e-3) > 1e-9 for step in moved):
            fail(f"your function moves the coordinates by {', '.join(f'{m:g}' for m in moved[:3])}, not by the h = 1e-3 "
                 "it was given", "use the argument h: plus[i, a] += h")
        if error < 1e-1 and 0 in {round(step, 12) for step in recorder.steps}:
            fail(f"with h = 1e-3 your forces are off by {error:.1e} (relative): you evaluate the energy at the "
                 "unmoved positions too — one-sided differences, accurate only to h; central ones reach h² ≈ 1e-6",
                 "use (E(+h) - E(-h)) / (2h)")
        fail(f"your forces are off by {error:.2g} (relative) from the exact ones", "F[i, a] = -(E(+h) - E(-h)) / (2h)")
    small = expect_tensor(call(finite_difference_forces, _springs_energy, _cluster(144) * 0.6, 1e-4),
                          "finite_difference_forces on springs", shape=tuple(pos.shape)).detach().to(torch.float64)
    exact = _springs_forces(_cluster(144) * 0.6)
    if float((small - exact).abs().max()) > 1e-6 * max(1.0, float(exact.abs().max())):
        fail("on a second energy (a chain of springs, h = 1e-4) your forces are wrong",
             "use energy_fn and h as given: do not hard-code them")
    return f"central differences match the exact forces (relative error < 1e-5 at h = 1e-3) on two energies"


# ----------------------------------------------------------------------------- q4
@exercise("per-species energy shift by least squares", hints=[
    "Each structure's energy is modelled as Σ_z counts[s, z] · mu[z]: a linear system counts @ mu ≈ energies.",
    "It has more equations (structures) than unknowns (species): solve it in the least-squares sense.",
    "return torch.linalg.lstsq(counts, energies[:, None]).solution[:, 0]",
])
def q4(fit_energy_shift):
    """Check ``fit_energy_shift(counts (S, Z), energies (S,)) -> (Z,)`` against the least-squares solution."""
    gen = torch.Generator().manual_seed(144)
    counts = torch.randint(0, 9, (30, 3), generator=gen).to(torch.float64)
    counts[:, 0] += 1
    mu_true = torch.tensor([-3.7, -1.2, 0.8], dtype=torch.float64)
    energies = counts @ mu_true + 0.3 * torch.randn(30, generator=gen, dtype=torch.float64)
    expected = torch.linalg.lstsq(counts, energies[:, None]).solution[:, 0]
    out = expect_tensor(call(fit_energy_shift, counts.clone(), energies.clone()), "fit_energy_shift(counts, energies)",
                        shape=(3,))
    out = out.detach()
    if float(out.to(torch.float64).std()) < 1e-9:
        fail("your shifts are the same for every species: that is the mean energy per atom, right only when all "
             "structures have the same composition", "fit all species at once: counts @ mu ≈ energies")
    expect_close(out, expected, "fit_energy_shift(counts, energies)", rtol=1e-6, atol=1e-6, float32_ok=True,
                 hint="minimise |counts @ mu - energies|² (least squares), e.g. with torch.linalg.lstsq")
    residual = float((energies - counts @ out.to(torch.float64)).std())
    return f"matches the least-squares fit (true shifts {mu_true.tolist()}, residual spread {residual:.2f} = the noise)"


# ----------------------------------------------------------------------------- q5
@exercise("an ase calculator", hints=[
    "calculate() must call super().calculate(atoms, properties, system_changes) first: it stores the atoms in self.atoms.",
    "Positions as a float64 tensor that requires grad, energy = self.energy_fn(pos), forces = -autograd gradient.",
    "self.results = {'energy': float(energy), 'forces': forces.detach().numpy()}",
])
def q5(calculator_class):
    """Check a Calculator class ``calculator_class(energy_fn)``: energy and forces of a cluster, updated when atoms move."""
    from ase import Atoms
    from ase.calculators.calculator import Calculator

    if not isinstance(calculator_class, type) or not issubclass(calculator_class, Calculator):
        fail(f"expected your calculator class (a subclass of ase's Calculator), got {type(calculator_class).__name__}",
             "pass the class itself: check.q5(TorchCalculator)")
    props = list(getattr(calculator_class, "implemented_properties", []))
    if not {"energy", "forces"} <= set(props):
        fail(f"implemented_properties is {props}; ase only asks a calculator for what it lists",
             'implemented_properties = ["energy", "forces"]')
    calc = call(calculator_class, lennard_jones_energy, name="TorchCalculator(energy_fn)", raw=True)
    pos = _cluster(145)
    atoms = Atoms("Ar6", positions=pos.numpy())
    atoms.calc = calc
    energy = _ase_energy(atoms, "get_potential_energy()")
    forces = call(atoms.get_forces, name="atoms.get_forces()", raw=True)
    if isinstance(forces, torch.Tensor):
        fail(f"get_forces() returns a torch tensor ({describe(forces)}): ase and its MD integrators expect a NumPy "
             "array", "self.results['forces'] = forces.detach().numpy()")
    if not isinstance(forces, np.ndarray) or forces.shape != (6, 3):
        fail(f"get_forces() returns {describe(forces)}, expected a NumPy array of shape (6, 3), one row per atom",
             "self.results['forces'] = forces.detach().numpy(), with forces of shape (N, 3)")
    want = float(lennard_jones_energy(pos))
    if abs(energy - want) > 1e-8:
        got_s, want_s = show(energy, want)
        low = " — are the positions float32 in your calculate()?" if abs(energy - want) <= 1e-4 * max(1.0, abs(want)) else ""
        fail(f"get_potential_energy() is {got_s}, expected {want_s}{low}",
             "pos = torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True); "
             "self.results['energy'] = float(self.energy_fn(pos))")
    if forces.dtype != np.float64:
        fail(f"get_forces() is a NumPy array of dtype {forces.dtype}: right only to float32 precision; ase works in "
             "float64", "compute in float64: torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True)")
    expect_close(torch.from_numpy(forces.copy()), lennard_jones_forces(pos), "get_forces()", rtol=1e-6, atol=1e-8,
                 hint="forces = -∂E/∂positions, as a (N, 3) array in self.results['forces']")
    moved = pos.clone()
    moved[0] += torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    atoms.positions = moved.numpy()
    energy2 = _ase_energy(atoms, "get_potential_energy() after moving an atom")
    if abs(energy2 - float(lennard_jones_energy(moved))) > 1e-8:
        fail("after moving an atom the energy did not follow: your calculate() uses stale positions",
             "read the positions from self.atoms inside calculate(), after super().calculate(...)")
    # the success line is stored in solutions/14 (NBVAL_CHECK_OUTPUT): keep it word for word
    return "energy and forces of a Lennard-Jones cluster through ase, recomputed when an atom moves"


def _ase_energy(atoms, what: str) -> float:
    """``atoms.get_potential_energy()`` as ase's MD needs it: a Python (or NumPy) float, never a tensor."""
    energy = call(atoms.get_potential_energy, name=f"atoms.{what}", raw=True)
    if isinstance(energy, torch.Tensor):
        grad = " that still requires grad" if energy.requires_grad else ""
        kind = str(energy.dtype).removeprefix("torch.")
        fail(f"{what} returns a {kind} torch tensor{grad}, not a number: ase expects a Python float in eV, "
             "and its MD integrators fail on a tensor", "self.results['energy'] = float(energy)")
    if isinstance(energy, np.ndarray) and energy.size == 1:
        energy = energy.item()
    if isinstance(energy, bool) or not isinstance(energy, (float, int, np.floating, np.integer)):
        fail(f"{what} returns {describe(energy)}: ase expects one float, the energy in eV",
             "self.results['energy'] = float(energy)")
    return float(energy)


# ============================================================================= going further: beyond energy and forces
# ----------------------------------------------------------------------------- q6
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
def q6(stress_from_energy):
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
                 f"received {str(low).removeprefix('torch.')} positions", _KEEP_FLOAT64)
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
    # the success lines of q6–q9 are stored in solutions/14 (NBVAL_CHECK_OUTPUT): keep them word for word
    return "right sign and units on two Morse crystals and vs ase's EMT"


# ----------------------------------------------------------------------------- q7
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
def q7(reference_energies):
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


# ----------------------------------------------------------------------------- q8
def _masked_right(pred, target, mask):
    if not bool(mask.any()):
        return pred.sum() * 0.0
    return (pred[mask] - target[mask]).pow(2).mean()


@exercise("a masked loss", hints=[
    "Select the known atoms first, pred[mask] and target[mask], then take the mean of the squared differences.",
    "Multiplying by the mask does not work: NaN · 0 = NaN, and the mean would divide by every atom.",
    "if not mask.any(): return pred.sum() * 0.0;  return (pred[mask] - target[mask]).pow(2).mean()",
])
def q8(masked_mse):
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


# ----------------------------------------------------------------------------- q9
#: What q9 asks for, in eV (energies) and eV/Å (forces).
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
def q9(paper_metrics):
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
