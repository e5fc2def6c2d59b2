"""Unit tests of the lesson 22 checkers, with answers written the way learners write them: right answers pass
(also as float32 or NumPy), answers right only on the easy case (every atom counted, a one-sided difference,
exact equality, real characters only) fail with a message that says so, stubs are "not attempted", crashes
and a missing `return` are ❌, and a bug in the checker's own helpers is ⚠️."""
import numpy as np
import torch

from checker_stubs import (assert_checker_error, assert_fails, assert_learner_error, assert_missing_return,
                           assert_not_attempted, assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach import vibrations
from e3teach.checks import lesson22 as check


def displacement_character(matrices, permutations):
    fixed = (permutations == torch.arange(permutations.shape[1])).sum(1)
    return fixed * matrices.diagonal(dim1=1, dim2=2).sum(-1)


def hessian_fd(forces, pos, step):
    x0 = np.asarray(pos, dtype=float).reshape(-1)
    H = np.zeros((len(x0), len(x0)))
    for k in range(len(x0)):
        plus, minus = x0.copy(), x0.copy()
        plus[k] += step
        minus[k] -= step
        H[:, k] = -(forces(plus.reshape(-1, 3)) - forces(minus.reshape(-1, 3))).reshape(-1) / (2 * step)
    return (H + H.T) / 2


def hessian_forward(forces, pos, step):
    x0 = np.asarray(pos, dtype=float).reshape(-1)
    f0 = forces(x0.reshape(-1, 3)).reshape(-1)
    H = np.zeros((len(x0), len(x0)))
    for k in range(len(x0)):
        x = x0.copy()
        x[k] += 30 * step                 # a learner's larger one-sided step
        H[:, k] = -(forces(x.reshape(-1, 3)).reshape(-1) - f0) / (30 * step)
    return (H + H.T) / 2


def degenerate_groups(values, tol):
    v = sorted(values)
    sizes = [1]
    for a, b in zip(v, v[1:]):
        if b - a <= tol:
            sizes[-1] += 1
        else:
            sizes.append(1)
    return sizes


def multiplicity(chi, chi_irrep):
    return (chi_irrep.conj() * chi).sum() / len(chi)


def crossover_size(fit_a, fit_b):
    if fit_a[1] == fit_b[1]:
        return None
    x = (fit_b[0] - fit_a[0]) / (fit_a[1] - fit_b[1])
    return x ** -3 if x > 0 else None


def test_q1():
    assert_passes(check.q1, displacement_character)
    assert_passes(check.q1, returning_numpy(displacement_character))
    assert_passes(check.q1, returning_float32(displacement_character))
    every_atom = lambda M, perm: perm.shape[1] * M.diagonal(dim1=1, dim2=2).sum(-1)   # noqa: E731
    assert_fails(check.q1, every_atom, words="counted every atom")
    count_only = lambda M, perm: (perm == torch.arange(perm.shape[1])).sum(1).double()  # noqa: E731
    assert_fails(check.q1, count_only, words="multiply the count by the trace")
    assert_not_attempted(check.q1, stub_raise)
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)


def test_q1_checker_bug(monkeypatch):
    assert_checker_error(monkeypatch, check.q1, check.vibrations, "displacement_characters", displacement_character)


def test_q2():
    assert_passes(check.q2, hessian_fd)
    assert_passes(check.q2, returning_numpy(hessian_fd))
    assert_passes(check.q2, lambda f, p, h: torch.tensor(hessian_fd(f, p, h)))
    assert_fails(check.q2, lambda f, p, h: -hessian_fd(f, p, h), words="wrong sign")
    assert_fails(check.q2, hessian_forward, words="one-sided")
    assert_fails(check.q2, lambda f, p, h: np.eye(15), words="off by")
    assert_fails(check.q2, lambda f, p, h: np.eye(3), words="shape")
    assert_not_attempted(check.q2, stub_raise)
    assert_missing_return(check.q2)
    assert_learner_error(check.q2)


def test_q2_float32_is_named():
    res = check.q2.run(returning_float32(lambda f, p, h: torch.tensor(hessian_fd(f, p, h))))
    assert res.status in ("pass", "fail"), str(res)
    if res.status == "fail":
        assert "float32" in res.message, str(res)


def test_q2_reference_hessian_is_exact():
    pos = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 1.6
    exact = vibrations.hessian_autograd(check.pair_energy, pos)
    fd = torch.tensor(hessian_fd(check.pair_forces, pos.numpy(), 1e-4))
    assert float((fd - exact).abs().max()) < 1e-6 * float(exact.abs().max())


def test_q3():
    assert_passes(check.q3, degenerate_groups)
    assert_passes(check.q3, returning_numpy(lambda v, t: np.array(degenerate_groups(v, t))))
    assert_passes(check.q3, lambda v, t: tuple(np.int64(s) for s in degenerate_groups(v, t)))
    exact = lambda v, t: degenerate_groups(v, 0.0)                     # noqa: E731  == instead of tol
    assert_fails(check.q3, exact, words="not ==")
    unsorted = lambda v, t: check._runs(list(v), t)                      # noqa: E731
    assert_fails(check.q3, unsorted, words="sort the values first")
    assert_fails(check.q3, lambda v, t: "3 2 1", words="list of sizes")
    assert_not_attempted(check.q3, stub_raise)
    assert_missing_return(check.q3)
    assert_learner_error(check.q3)


def test_q4():
    assert_passes(check.q4, multiplicity)
    assert_passes(check.q4, lambda chi, irrep: int(round(float(multiplicity(chi, irrep).real))))
    assert_passes(check.q4, returning_numpy(multiplicity))
    no_conj = lambda chi, irrep: (irrep * chi).sum() / len(chi)       # noqa: E731  right for real characters
    assert_fails(check.q4, no_conj, words="complex conjugate")
    times_dim = lambda chi, irrep: (irrep.conj() * chi).sum() / len(chi) * irrep[0]   # noqa: E731
    assert_fails(check.q4, times_dim, words="times its dimension")
    assert_not_attempted(check.q4, stub_raise)
    assert_missing_return(check.q4)
    assert_learner_error(check.q4)


def test_q5():
    assert_passes(check.q5, crossover_size)
    assert_passes(check.q5, returning_numpy(lambda a, b: None if crossover_size(a, b) is None
                                            else np.float64(crossover_size(a, b))))
    x_only = lambda a, b: None if crossover_size(a, b) is None else crossover_size(a, b) ** (-1 / 3)  # noqa: E731
    assert_fails(check.q5, x_only, words="not the size")
    always = lambda a, b: (b[0] - a[0]) / (a[1] - b[1] + 1e-300)     # noqa: E731  never None
    assert_fails(check.q5, always)
    assert_not_attempted(check.q5, stub_raise)
    assert_missing_return(check.q5)
    assert_learner_error(check.q5)


def test_character_table_names_and_orthogonality():
    from e3teach import point_groups
    for name, expected in (("Ih", [1, 3, 3, 4, 5, 1, 3, 3, 4, 5]), ("Oh", [1, 1, 2, 3, 3, 1, 1, 2, 3, 3])):
        table = vibrations.character_table(point_groups.point_group(name))
        assert table.dims == expected
        gram = table.characters.conj() @ table.characters.T / table.characters.shape[1]
        assert torch.allclose(gram, torch.eye(len(expected), dtype=gram.dtype), atol=1e-10)
    assert vibrations.character_table(point_groups.point_group("Ih")).names[:5] == ["Ag", "T1g", "T2g", "Gg", "Hg"]
    assert vibrations.character_table(point_groups.point_group("Oh")).names == [
        "A1g", "A2g", "Eg", "T1g", "T2g", "A1u", "A2u", "Eu", "T1u", "T2u"]
