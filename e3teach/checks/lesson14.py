"""Checkers for lesson 14 (energies and forces): ``from e3teach.checks import lesson14 as check``.

* ``q1(smooth_cutoff)``: ``u(r, r_max)`` equal to 1 at 0, zero from ``r_max`` on, with zero slope at ``r_max``.
* ``q2(forces_from_energy)``: forces ``-∂E/∂pos`` by autograd from an energy function.
* ``q3(finite_difference_forces)``: forces by central differences of the energy.
* ``q4(fit_energy_shift)``: per-species energies by least squares from species counts.
* ``q5(Calculator class)``: an ase calculator wrapping a torch energy function (its ``calculate``).

The going-further exercises (stress, E0, masked losses, metrics) are in :mod:`e3teach.checks.lesson14b`.
"""
from __future__ import annotations

import numpy as np
import torch

from .core import LOW_PRECISION, call, describe, exercise, expect_close, expect_tensor, fail, show

__all__ = ["q1", "q2", "q3", "q4", "q5", "lennard_jones_energy", "lennard_jones_forces"]


# ----------------------------------------------------------------------------- shared test systems
def lennard_jones_energy(pos: torch.Tensor, epsilon: float = 0.2, sigma: float = 2.5) -> torch.Tensor:
    r"""Lennard-Jones energy :math:`\sum_{i<j} 4\epsilon[(\sigma/r)^{12} - (\sigma/r)^6]` of a cluster (a 0-d tensor, eV).

    ``pos`` (N, 3) in Å, ``epsilon`` (the well depth) in eV, ``sigma`` (where the pair energy is zero) in Å."""
    i, j = torch.triu_indices(len(pos), len(pos), offset=1)
    r = (pos[j] - pos[i]).norm(dim=1)
    return (4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)).sum()


def lennard_jones_forces(pos: torch.Tensor, epsilon: float = 0.2, sigma: float = 2.5) -> torch.Tensor:
    r"""The analytic Lennard-Jones forces (independent of autograd): on atom :math:`j`, from :math:`i`,
    :math:`\vec F = -\frac{dV}{dr}\,\hat r_{ij}` with :math:`dV/dr = 4\epsilon(-12\sigma^{12}/r^{13} + 6\sigma^6/r^7)`:
    (N, 3) in eV/Å, arguments as :func:`lennard_jones_energy`."""
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


KEEP_FLOAT64 = "keep the positions in their dtype, float64: pos.clone(), pos.detach() — no .float(), no dtype=torch.float32"


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
                 f"{str(recorder.low_precision()).removeprefix('torch.')} positions", KEEP_FLOAT64)
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
                 f"and the round-off of a {low} energy (~1e-7 of it) divided by 2h swamps the difference", KEEP_FLOAT64)
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
    return "central differences match the exact forces (relative error < 1e-5 at h = 1e-3) on two energies"


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
