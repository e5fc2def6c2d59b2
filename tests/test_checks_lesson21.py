"""Unit tests of the lesson 21 checkers, with answers written the way learners write them: right answers pass
(also as float32 or NumPy), the usual slips (radians, the opposite sign, angles in [0°, 360°), a direction for a
position, the cross product the wrong way round, a mirror-blind "handedness", a 0e network) fail with a message
that names them, stubs are "not attempted", crashes and a missing `return` are ❌, and a checker bug is ⚠️."""
import numpy as np
import torch

from checker_stubs import (assert_checker_error, assert_fails, assert_learner_error, assert_missing_return,
                           assert_not_attempted, assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach import proteins
from e3teach.checks import lesson21 as check


def dihedral(a, b, c, d):
    b1, b2, b3 = b - a, c - b, d - c
    n1, n2 = torch.linalg.cross(b1, b2), torch.linalg.cross(b2, b3)
    return torch.rad2deg(torch.atan2(b2.norm(dim=-1) * (b1 * n2).sum(-1), (n1 * n2).sum(-1)))


def dihedral_numpy(a, b, c, d):
    a, b, c, d = (np.asarray(x) for x in (a, b, c, d))
    b1, b2, b3 = b - a, c - b, d - c
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    return np.degrees(np.arctan2(np.linalg.norm(b2, axis=-1) * (b1 * n2).sum(-1), (n1 * n2).sum(-1)))


def virtual_cb(n, ca, c):
    b, c = ca - n, c - ca
    a = torch.linalg.cross(b, c)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * c + ca


def handedness(pos):
    n, ca, c, cb = pos[:, 0], pos[:, 1], pos[:, 2], pos[:, 4]
    return torch.sign(((n - ca) * torch.linalg.cross(c - ca, cb - ca)).sum(-1))


def test_q1_dihedral():
    assert_passes(check.q1, dihedral)
    assert_passes(check.q1, dihedral_numpy)
    assert_passes(check.q1, returning_float32(dihedral))
    assert_fails(check.q1, lambda *p: torch.deg2rad(dihedral(*p)), words="radians")
    assert_fails(check.q1, lambda *p: -dihedral(*p), words="opposite sign")
    assert_fails(check.q1, lambda *p: dihedral(*p) % 360, words="modulo 360°")
    assert_fails(check.q1, lambda *p: dihedral(*p).abs(), words="arccos")
    assert_fails(check.q1, lambda a, b, c, d: dihedral(a, b, c, d)[:3], words="shape")
    assert_not_attempted(check.q1, stub_raise)
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)


def test_q2_virtual_cb():
    assert_passes(check.q2, virtual_cb)
    assert_passes(check.q2, returning_numpy(virtual_cb))
    assert_passes(check.q2, returning_float32(virtual_cb))
    assert_fails(check.q2, lambda n, ca, c: virtual_cb(n, ca, c) - ca, words="direction")
    swapped = lambda n, ca, c: virtual_cb(n, ca, c) + 2 * 0.58273431 * torch.linalg.cross(ca - n, c - ca)  # noqa: E731
    assert_fails(check.q2, swapped, words="D side")
    assert_fails(check.q2, lambda n, ca, c: ca + (ca - n), words="away from the true one")
    assert_not_attempted(check.q2, stub_raise)
    assert_missing_return(check.q2)
    assert_learner_error(check.q2)


def test_q3_handedness():
    assert_passes(check.q3, handedness)
    assert_passes(check.q3, returning_numpy(handedness))
    assert_passes(check.q3, returning_float32(handedness))
    distances = lambda pos: (pos[:, 4] - pos[:, 0]).norm(dim=-1)       # noqa: E731  blind to mirrors
    assert_fails(check.q3, distances, words="mirror image")
    assert_fails(check.q3, lambda pos: -handedness(pos), words="swapped")
    raw = lambda pos: handedness(pos) * 2.5                             # noqa: E731  the triple product itself
    assert_fails(check.q3, raw, words="+1.0 or −1.0")
    whole_chain = lambda pos: handedness(pos).mean().sign().expand(len(pos))  # noqa: E731
    assert_fails(check.q3, whole_chain, words="residue by residue")
    assert_not_attempted(check.q3, stub_raise)
    assert_missing_return(check.q3)
    assert_learner_error(check.q3)


def test_q4_pseudoscalar_network():
    assert_passes(check.q4, lambda: proteins.ResidueNetwork("4x1o", "0o"))
    assert_fails(check.q4, lambda: proteins.ResidueNetwork("4x1o", "0e"), words="0e, not a 0o")
    assert_fails(check.q4, lambda: proteins.ResidueNetwork("4x1o", "1o"), words="shape")
    assert_fails(check.q4, lambda: "a network", words="torch.nn.Module")
    so3 = proteins.ResidueNetwork("4x1o", "0e + 0o")

    class SO3(torch.nn.Module):                                          # 0e + 0o summed: SO(3) only
        def __init__(self):
            super().__init__()
            self.net = so3

        def forward(self, batch):
            return self.net(batch).sum(dim=1, keepdim=True)
    assert_fails(check.q4, SO3, words="not by a sign")
    assert_fails(check.q4, lambda: (lambda batch: batch), words="torch.nn.Module")   # a plain function

    class Zero(torch.nn.Module):
        def forward(self, batch):
            return torch.zeros(len(batch.labels), 1)
    assert_fails(check.q4, Zero, words="zero everywhere")
    assert_not_attempted(check.q4, stub_raise)
    assert_missing_return(check.q4)
    assert_learner_error(check.q4)


def test_checker_bugs_are_reported_as_such(monkeypatch):
    assert_checker_error(monkeypatch, check.q2, check.proteins, "ideal_virtual_cb", virtual_cb)
    monkeypatch.undo()
    assert_checker_error(monkeypatch, check.q3, check, "_rotation", handedness)
