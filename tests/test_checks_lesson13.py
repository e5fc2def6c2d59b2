"""Tests of the lesson-13 checkers: right answers pass (also as NumPy), typical mistakes fail with a useful
message, stubs are "not attempted", and broken code (exceptions, None, float32, easy-case-only) is ❌ without raising."""
import numpy as np
import torch

from checker_stubs import crashes, status, stub_ellipsis, stub_raise
from e3teach.checks import lesson13 as check
from e3teach.models import EquivariantPointNet


def assert_fails(exercise, answer, *words):
    s, msg = status(exercise, answer)
    assert s == "fail", msg
    for w in words:
        assert w in msg, (w, msg)


def assert_common(exercise, good_output_of_args):
    assert status(exercise, stub_raise)[0] == "not attempted"
    assert status(exercise, stub_ellipsis)[0] == "not attempted" or status(exercise, stub_ellipsis)[0] == "fail"
    assert status(exercise, ...)[0] == "not attempted"
    assert_fails(exercise, crashes, "KeyError")
    assert_fails(exercise, lambda *a: None, "None", "return")
    assert_fails(exercise, lambda *a: good_output_of_args(*a).float(), "float32")
    assert status(exercise, lambda *a: good_output_of_args(*a).numpy())[0] == "pass"


# ----------------------------------------------------------------------------- q1
def gravity_field(pos, m):
    d = pos[None, :, :] - pos[:, None, :]
    r = d.norm(dim=-1) + torch.eye(len(pos), dtype=pos.dtype)
    off = 1 - torch.eye(len(pos), dtype=pos.dtype)
    return (m[None, :, None] * d / r[..., None] ** 3 * off[..., None]).sum(1)


def test_q1_right_and_common():
    assert status(check.q1, gravity_field)[0] == "pass"
    assert_common(check.q1, gravity_field)


def test_q1_mistakes():
    assert_fails(check.q1, lambda p, m: -gravity_field(p, m), "away")
    def own_mass(p, m):
        d = p[None, :, :] - p[:, None, :]
        r = d.norm(dim=-1) + torch.eye(len(p), dtype=p.dtype)
        return (m[:, None, None] * d / r[..., None] ** 3).sum(1)
    assert_fails(check.q1, own_mass, "own mass")
    def two_only(p, m):                      # right on the easy case only: the nearest other mass alone
        dist = torch.cdist(p, p) + 1e9 * torch.eye(len(p), dtype=p.dtype)
        j = dist.argmin(1)
        d = p[j] - p
        return m[j, None] * d / d.norm(dim=1, keepdim=True) ** 3
    assert_fails(check.q1, two_only, "six")
    assert_fails(check.q1, lambda p, m: gravity_field(p, m)[:1], "shape")
    def with_self(p, m):
        d = p[None, :, :] - p[:, None, :]
        return (m[None, :, None] * d / d.norm(dim=-1, keepdim=True) ** 3).sum(1)
    assert_fails(check.q1, with_self, "NaN")


# ----------------------------------------------------------------------------- q2
def equalize(A, chi, total_charge=0.0):
    n = len(chi)
    K = torch.zeros(n + 1, n + 1, dtype=A.dtype)
    K[:n, :n], K[:n, n], K[n, :n] = A, 1.0, 1.0
    return torch.linalg.solve(K, torch.cat([-chi, torch.tensor([total_charge], dtype=A.dtype)]))[:n]


def test_q2_right_and_common():
    assert status(check.q2, equalize)[0] == "pass"
    assert_common(check.q2, equalize)


def test_q2_mistakes():
    assert_fails(check.q2, lambda A, chi, Q=0.0: -torch.linalg.solve(A, chi), "sum to")
    def shifted(A, chi, Q=0.0):              # right on the equal-hardness diatomic only
        q = -torch.linalg.solve(A, chi)
        return q - q.mean() + Q / len(q)
    assert_fails(check.q2, shifted, "diatomic", "equally hard")
    assert_fails(check.q2, lambda A, chi, Q=0.0: equalize(A, chi, 0.0), "total_charge")


# ----------------------------------------------------------------------------- q3
def applequist(alphas, pos):
    n = len(alphas)
    T = torch.zeros(3 * n, 3 * n, dtype=pos.dtype)
    for i in range(n):
        for j in range(n):
            if i != j:
                r = pos[i] - pos[j]
                d = r.norm()
                T[3 * i:3 * i + 3, 3 * j:3 * j + 3] = (3 * torch.outer(r, r) / d**2 - torch.eye(3, dtype=pos.dtype)) / d**3
    B = torch.linalg.inv(torch.diag((1 / alphas).repeat_interleave(3)) - T)
    return B.reshape(n, 3, n, 3).sum((0, 2))


def test_q3_right_and_common():
    assert status(check.q3, applequist)[0] == "pass"
    assert_common(check.q3, applequist)


def test_q3_mistakes():
    assert_fails(check.q3, lambda a, p: a.sum() * torch.eye(3, dtype=p.dtype), "far apart")     # easy case only
    assert_fails(check.q3, _flipped, "sign")
    def first_order(a, p):                    # p = α(E + T α E): right far apart, not on the diatomic
        n = len(a)
        out = a.sum() * torch.eye(3, dtype=p.dtype)
        for i in range(n):
            for j in range(n):
                if i != j:
                    r = p[i] - p[j]
                    d = r.norm()
                    out = out + a[i] * a[j] * (3 * torch.outer(r, r) / d**2 - torch.eye(3, dtype=p.dtype)) / d**3
        return out
    s, msg = status(check.q3, first_order)
    assert s == "fail"
    assert_fails(check.q3, lambda a, p: applequist(a, p)[0], "shape")


def _flipped(alphas, pos):
    n = len(alphas)
    T = torch.zeros(3 * n, 3 * n, dtype=pos.dtype)
    for i in range(n):
        for j in range(n):
            if i != j:
                r = pos[i] - pos[j]
                d = r.norm()
                T[3 * i:3 * i + 3, 3 * j:3 * j + 3] = -(3 * torch.outer(r, r) / d**2 - torch.eye(3, dtype=pos.dtype)) / d**3
    B = torch.linalg.inv(torch.diag((1 / alphas).repeat_interleave(3)) - T)
    return B.reshape(n, 3, n, 3).sum((0, 2))


# ----------------------------------------------------------------------------- q4
def make_model(irreps="1o"):
    def make():
        return EquivariantPointNet(irreps, irreps_node_in="7x0e", irreps_hidden="8x0e + 4x1o", lmax=1, layers=1,
                                   r_max=2.0)
    return make


def test_q4_right_and_mistakes():
    assert status(check.q4, make_model("1o"))[0] == "pass"
    assert_fails(check.q4, make_model("1e"), "pseudovector")
    assert_fails(check.q4, make_model("3x0e"), "0e")
    assert_fails(check.q4, make_model("2x1o"), "shape")


def test_q4_stub_none_error_float32_numpy():
    assert status(check.q4, stub_raise)[0] == "not attempted"
    assert_fails(check.q4, crashes, "KeyError")
    assert_fails(check.q4, lambda: None, "None", "return")
    good = make_model("1o")

    def float32_model():
        net = good().float()
        return lambda pos, f, b: net(pos.float(), f.float(), b)
    assert status(check.q4, float32_model)[0] == "pass"                # float32 is fine for a model

    def numpy_model():
        net = good()
        return lambda pos, f, b: net(pos, f, b).detach().numpy()
    assert status(check.q4, numpy_model)[0] == "pass"

    def no_return_inside():
        net = good()
        return lambda pos, f, b: None
    assert_fails(check.q4, no_return_inside, "None")

    def zero_model():
        return lambda pos, f, b: torch.zeros(int(b.max()) + 1, 3, dtype=pos.dtype)
    assert_fails(check.q4, zero_model, "zero")

    def translation_broken():
        net = good()
        return lambda pos, f, b: net(pos, f, b) + _com_vector(pos, b)      # rotates, flips, but moves with the origin
    assert_fails(check.q4, translation_broken, "translat")


def _com_vector(pos, b):
    return torch.stack([pos[b == k].mean(0) for k in range(int(b.max()) + 1)])


# ----------------------------------------------------------------------------- issue 19
def test_q4_graph_built_without_batch_is_caught():
    """Per-atom outputs pooled by `batch`, but edges built over the whole batch: the two molecules interact."""
    from e3teach.graph import scatter_sum

    def make():
        net = EquivariantPointNet("1o", irreps_node_in="7x0e", irreps_hidden="8x0e + 4x1o", lmax=1, layers=1,
                                  r_max=2.0, pool=False)
        return lambda pos, f, b: scatter_sum(net(pos, f), b, int(b.max()) + 1)      # net(pos, f): no batch
    assert_fails(check.q4, make, "alone", "in the batch", "radius_graph(pos, r_max, batch)")


def test_q4_instance_class_wrong_inputs_and_float32_model():
    assert_fails(check.q4, make_model("1o")(), "you passed a model", "without the ()")
    assert_fails(check.q4, EquivariantPointNet, "the class `EquivariantPointNet`")

    def zero_e_input():
        return EquivariantPointNet("1o", irreps_hidden="8x0e + 4x1o", lmax=1, layers=1, r_max=2.0)
    assert_fails(check.q4, zero_e_input, "expects node features '1x0e'", "irreps_node_in='7x0e'")
    assert status(check.q4, lambda: make_model("1o")().float())[0] == "pass"      # judged at float32 tolerance
