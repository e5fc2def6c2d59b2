"""Checkers for lesson 02, rotations and parity (``solutions/02_rotations_and_parity.ipynb``).

- ``q1(rodrigues)``: rotation matrix from an axis and an angle, compared with ``o3.axis_angle_to_matrix``;
- ``q2(mirror)``: the reflection through the plane with normal ``n``;
- ``q3(decompose)``: an O(3) matrix as (rotation, parity sign);
- ``q4(D_tensor)``: the 9-dimensional representation acting on rank-2 tensors, ``T -> R T Rᵀ``;
- ``q5(axis_angle)``: axis and angle of a rotation matrix, also at θ = π where ``o3.matrix_to_axis_angle`` fails.
"""
from __future__ import annotations

import math

import torch
from e3nn import o3

from ..env import default_dtype
from ..equivariance import random_rotation
from ..representations import check_representation
from .core import as_number, call, exercise, expect_close, expect_tensor, fail, fail_if_float32_precision, show

__all__ = ["F64", "q1", "q2", "q3", "q4", "q5"]

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm()


def _matrix(value, name: str) -> tuple[torch.Tensor, torch.dtype]:
    """The learner's 3×3 matrix in float64, and the dtype it came in (to name a float32 answer)."""
    out = expect_tensor(value, name, shape=(3, 3))
    if not out.is_floating_point():
        fail(f"`{name}` has integer dtype {out.dtype}", "build it from floating tensors (the dtype of the input)")
    return out.to(F64), out


def _precision(raw: torch.Tensor, got: torch.Tensor, want: torch.Tensor, name: str, needed: str = "1e-10") -> None:
    """❌ "float32" (not a maths hint) when ``got`` is ``want`` up to float32 round-off."""
    fail_if_float32_precision(raw, float((got - want).abs().max()), name, needed=needed)


@exercise("rotation about an axis by an angle (Rodrigues)", hints=[
    "Write K = [[0, -n_z, n_y], [n_z, 0, -n_x], [-n_y, n_x, 0]], the matrix with K v = n × v.",
    "R = I + sin θ K + (1 - cos θ) K @ K (Rodrigues' formula).",
    "Build K with torch.stack / torch.zeros in the dtype of `axis`, and use torch.sin(angle), torch.cos(angle).",
])
def q1(rodrigues):
    """``rodrigues(axis, angle)``: ``axis`` a unit (3,) float64 tensor, ``angle`` a 0-d float64 tensor."""
    gen = _gen(2)
    cases = [(torch.tensor([0.0, 0.0, 1.0], dtype=F64), torch.tensor(math.pi / 2, dtype=F64), "z by 90°")]
    cases += [(_unit(torch.randn(3, generator=gen, dtype=F64)), torch.tensor(a, dtype=F64), f"angle {a:.2f}")
              for a in (0.3, 2.0, -1.1, math.pi)]
    cases.append((torch.tensor([1.0, 0.0, 0.0], dtype=F64), torch.tensor(0.0, dtype=F64), "angle 0"))
    for axis, angle, label in cases:
        # the learner's code runs under the notebook's default dtype (float32), as it does in the notebook
        out, raw = _matrix(call(rodrigues, axis.clone(), angle.clone(), name="rodrigues"), "rodrigues(axis, angle)")
        with default_dtype(F64):
            expected = o3.axis_angle_to_matrix(axis, angle)
        if torch.allclose(out, expected, atol=1e-10):
            continue
        _precision(raw, out, expected, f"rodrigues(axis, angle) for the rotation {label}")
        if torch.allclose(out, expected.T, atol=1e-10):
            fail(f"for the rotation {label}, your matrix is the inverse rotation (by -θ)",
                 "check the sign of K: K v must equal n × v, so K[0, 1] = -n_z")
        if float((out.T @ out - torch.eye(3, dtype=F64)).abs().max()) > 1e-8:
            fail(f"for the rotation {label}, your matrix is not orthogonal (Rᵀ R ≠ I)",
                 "is the K @ K term multiplied by (1 - cos θ), and the K term by sin θ?")
        fail(f"for the rotation {label} your matrix differs from o3.axis_angle_to_matrix by up to "
             f"{float((out - expected).abs().max()):.3g}", "compare term by term with Rodrigues' formula")
    return (f"equals o3.axis_angle_to_matrix to 1e-10 on {len(cases)} axes/angles (including 0 and π); "
            "90° about z sends x to y: the right-hand rule")


@exercise("the mirror through a plane", hints=[
    "A mirror keeps the component of v along the plane and flips the component along the normal n.",
    "The component along a unit normal u is (u·v) u, so M v = v - 2 (u·v) u.",
    "M = I - 2 u uᵀ with u = n / |n|  (torch.outer(u, u)); n need not be a unit vector.",
])
def q2(mirror):
    """``mirror(n)``: ``n`` a (3,) float64 normal of any length; returns the 3×3 reflection."""
    gen = _gen(3)
    normals = [torch.tensor([0.0, 1.0, 0.0], dtype=F64), 2.5 * _unit(torch.randn(3, generator=gen, dtype=F64)),
               torch.randn(3, generator=gen, dtype=F64)]
    eye = torch.eye(3, dtype=F64)
    for n in normals:
        M, raw = _matrix(call(mirror, n.clone(), name="mirror"), "mirror(n)")
        u = _unit(n)
        reference = eye - 2 * torch.outer(u, u)
        if torch.allclose(M, reference, atol=1e-10):
            continue
        _precision(raw, M, reference, "mirror(n)")
        det = float(torch.det(M))
        if abs(det - 1) < 1e-8 and torch.allclose(M, 2 * torch.outer(u, u) - eye, atol=1e-8):
            fail("your matrix has det +1: it is the rotation by π about n (the mirror times the inversion)",
                 "a mirror fixes the plane and flips n, so M = I - 2 u uᵀ")
        if not torch.allclose(M @ n, -n, atol=1e-8 * max(1.0, float(n.norm()))):
            hint = ("did you normalize n? with |n| ≠ 1, I - 2 n nᵀ is not a reflection"
                    if abs(float(n.norm()) - 1) > 1e-6 else "M applied to n should give -n")
            fail(f"mirror(n) @ n should be -n (the normal flips), got {[round(v, 3) for v in (M @ n).tolist()]} "
                 f"for n = {[round(v, 3) for v in n.tolist()]}", hint)
        in_plane = torch.linalg.cross(n, torch.randn(3, generator=gen, dtype=F64))
        if not torch.allclose(M @ in_plane, in_plane, atol=1e-8 * max(1.0, float(in_plane.norm()))):
            fail("a vector in the plane (perpendicular to n) should not move, but yours does",
                 "only the component along n changes sign")
        if abs(det + 1) > 1e-8 or float((M.T @ M - eye).abs().max()) > 1e-8:
            fail(f"the mirror should be orthogonal with det -1; yours has det {show(det, -1)[0]}")
        fail("mirror(n) flips n and fixes the plane, but differs from I - 2 u uᵀ", "M = I - 2 u uᵀ with u = n / |n|")
    return ("for 3 normals (unit and not): det = -1, Mᵀ M = I, M n = -n and the plane is fixed")


@exercise("decompose an O(3) matrix into rotation and parity", hints=[
    "det Q is +1 or -1; call it s.",
    "Since det(-I) = (-1)³ = -1, the matrix s·Q has det +1: it is a rotation R, and Q = s R.",
    "return s * Q, s  with s = torch.det(Q).sign() (or a Python float/int ±1)",
])
def q3(decompose):
    """``decompose(Q)`` returns ``(R, s)``: ``R`` a rotation (det +1), ``s = ±1``, ``Q = s R``."""
    gen = _gen(4)
    eye = torch.eye(3, dtype=F64)
    reflect_y = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=F64))
    cases = [("a rotation", random_rotation(gen)), ("the inversion", -eye),
             ("an improper rotation", -random_rotation(gen)), ("the mirror y → -y", reflect_y),
             ("a mirror times a rotation", reflect_y @ random_rotation(gen)), ("the identity", eye)]
    for label, Q in cases:
        out = call(decompose, Q.clone(), name="decompose")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"decompose(Q) should return a pair (R, s), got {type(out).__name__}"
                 + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""),
                 "end with `return R, s`")
        R, raw = _matrix(out[0], "R")
        s = out[1]
        s = float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) or \
            (isinstance(s, torch.Tensor) and s.numel() == 1 and not s.dtype == torch.bool) else None
        if s is None:
            fail(f"for {label}, the parity s should be the number +1 or -1, got {out[1]!r}",
                 "s = torch.det(Q).sign(), or round the determinant")
        if abs(abs(s) - 1) > 1e-8:
            near = round(s) if abs(abs(s) - 1) < 1e-4 else None
            fail(f"for {label}, the parity s should be exactly +1 or -1, got {show(s, near or 1)[0]}"
                 + (f": that is det Q with round-off, not ±1 (float32 has 7 digits)" if near else ""),
                 "s = torch.det(Q).sign(), or round the determinant")
        true_s = float(torch.det(Q))
        if abs(s - true_s) > 1e-8:
            fail(f"for {label} (det Q = {round(true_s):+d}) your s is {round(s):+d}", "s is the sign of det Q")
        if torch.allclose(s * R, Q, atol=1e-10):
            continue
        _precision(raw, s * R, Q, f"R for {label}")
        det_R = float(torch.det(R))
        if abs(det_R - 1) > 1e-8:
            fail(f"for {label}, your R has det {show(det_R, 1)[0]}: it should be a proper rotation (det +1)",
                 "multiply Q by s: det(sQ) = s³ det Q = +1")
        expect_close(s * R, Q, f"s * R for {label}", atol=1e-10, hint="Q should equal s R")
    return "Q = s R with det R = +1 and s = det Q, for rotations, the inversion, mirrors and improper rotations"


@exercise("the representation on rank-2 tensors", hints=[
    "A rank-2 tensor (3×3 matrix) T transforms as T -> R T Rᵀ; flattened row by row, that is linear in vec(T).",
    "(R T Rᵀ)_ij = Σ_kl R_ik R_jl T_kl, so D[(i,j), (k,l)] = R_ik R_jl.",
    "torch.kron(R, R) has exactly these entries (rows (i, j), columns (k, l)).",
])
def q4(D_tensor):
    """``D_tensor(R)``: 9×9 matrix with ``D_tensor(R) @ T.flatten() == (R @ T @ R.T).flatten()``."""
    gen = _gen(5)
    R = -random_rotation(gen)
    T = torch.randn(3, 3, generator=gen, dtype=F64)
    raw = expect_tensor(call(D_tensor, R.clone(), name="D_tensor"), "D_tensor(R)", shape=(9, 9))
    D = raw.to(F64)
    expected = (R @ T @ R.T).flatten()
    if not torch.allclose(D @ T.flatten(), expected, atol=1e-10):
        _precision(raw, D, torch.kron(R, R), "D_tensor(R)")
        if torch.allclose(D.T @ T.flatten(), expected, atol=1e-10):
            fail("D_tensor(R) is the transpose of what it should be (it acts as Rᵀ T R)",
                 "row (i, j) of D holds R_ik R_jl for the columns (k, l)")
        fail("D_tensor(R) @ T.flatten() differs from (R @ T @ R.T).flatten() for a random T",
             "(R T Rᵀ)_ij = Σ_kl R_ik R_jl T_kl")
    report = check_representation(lambda g: call(D_tensor, g.clone(), name="D_tensor"))
    if not report.ok:
        fail(f"your D acts correctly on one tensor but is not a representation: {report.verdict()[2:]}")
    return (f"acts as T -> R T Rᵀ and is a 9-dim representation of O(3) "
            f"(D(g1 g2) = D(g1) D(g2) on {len(report.elements) ** 2} products, to 1e-9); "
            "note D(-I) = +I: a rank-2 tensor is even under inversion")


@exercise("axis and angle of a rotation, also at θ = π", hints=[
    "The angle comes from the trace, tr R = 1 + 2 cos θ (clamp the cosine to [-1, 1] before acos); "
    "the axis is the vector that R does not move: the eigenvector of R with eigenvalue 1.",
    "values, vectors = torch.linalg.eig(R); k = int((values - 1).abs().argmin()); axis = vectors[:, k].real, "
    "then normalize it. An eigenvector is only defined up to sign, and turning by θ about -n is turning by -θ about n.",
    "Fix the sign with the antisymmetric part: w = (R[2,1] - R[1,2], R[0,2] - R[2,0], R[1,0] - R[0,1]) = 2 sin θ n; "
    "flip the axis when w @ axis < 0 (at θ = π, w is zero and either sign is right).",
])
def q5(axis_angle):
    """``axis_angle(R)`` returns ``(axis, angle)``: a unit (3,) tensor and a number with R = R(axis, angle)."""
    gen = _gen(6)
    cases = [(_unit(torch.randn(3, generator=gen, dtype=F64)), 1.2, "a rotation by 1.2 rad"),
             (_unit(torch.randn(3, generator=gen, dtype=F64)), 2.5, "a rotation by 2.5 rad"),
             (_unit(torch.randn(3, generator=gen, dtype=F64)), math.pi, "a half-turn (θ = π)"),
             (torch.tensor([0.0, 1.0, 0.0], dtype=F64), math.pi, "the half-turn about y"),
             # (tr R - 1) / 2 rounds to -1.0000000000000002 here: acos without a clamp gives NaN
             (_unit(torch.tensor([0.10563322850560283, 0.6957789928198751, -0.7104457855361263], dtype=F64)), math.pi,
              "a half-turn whose (tr R − 1)/2 rounds to −1.0000000000000002"),
             (torch.tensor([0.0, 0.0, 1.0], dtype=F64), 0.0, "the identity (θ = 0, any axis)")]
    for n, theta, label in cases:
        with default_dtype(F64):
            R = o3.axis_angle_to_matrix(n, torch.tensor(theta, dtype=F64))
        out = call(axis_angle, R.clone(), name="axis_angle")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"axis_angle(R) should return a pair (axis, angle), got {type(out).__name__}"
                 + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""), "end with `return axis, angle`")
        raw = expect_tensor(out[0], "axis", shape=(3,))
        if not raw.is_floating_point():
            fail(f"`axis` has integer dtype {raw.dtype}", "build it from floating tensors (the dtype of R)")
        axis = raw.to(F64)
        if isinstance(out[1], (float, torch.Tensor)) and bool(torch.as_tensor(out[1]).isnan().any()):
            fail(f"for {label}, your angle is NaN: (tr R − 1)/2 = {(float(R.trace()) - 1) / 2!r} is just below −1 "
                 "by round-off, and acos of it is NaN",
                 "clamp the cosine before acos: torch.acos(((R.trace() - 1) / 2).clamp(-1, 1))")
        angle = as_number(out[1], "angle", hint="return the angle as a number or a 0-d tensor, in radians")
        length = float(axis.norm())
        if abs(length - 1) > 1e-6:
            fail(f"for {label}, your axis has length {length:.3g}: it should be a unit vector",
                 "at θ = π, R - Rᵀ is zero: an axis read from it is noise; use the eigenvector with eigenvalue 1"
                 if abs(theta - math.pi) < 1e-9 else "divide the axis by its norm")
        with default_dtype(F64):
            rebuilt = o3.axis_angle_to_matrix(axis, torch.tensor(angle, dtype=F64))
        if torch.allclose(rebuilt, R, atol=1e-6):
            continue
        with default_dtype(F64):
            flipped = o3.axis_angle_to_matrix(-axis, torch.tensor(angle, dtype=F64))
        if torch.allclose(flipped, R, atol=1e-6):
            fail(f"for {label}, your axis points the wrong way: R(axis, angle) is the inverse rotation",
                 "an eigenvector is defined up to sign: flip it when (R[2,1] - R[1,2], R[0,2] - R[2,0], R[1,0] - R[0,1]) @ axis < 0")
        if theta > 0 and abs(angle - math.degrees(theta)) < 1e-3:
            fail(f"for {label}, your angle {angle:.4g} is in degrees", "return radians: torch.acos gives radians")
        if abs(float(R.trace()) - (1 + 2 * math.cos(angle))) > 1e-6:
            fail(f"for {label}, your angle {angle:.4g} does not match the trace: tr R = 1 + 2 cos θ "
                 f"gives θ = {theta:.4g}", "θ = acos((tr R - 1) / 2)")
        fail(f"for {label}, the rotation rebuilt from your axis and angle differs from R by up to "
             f"{float((rebuilt - R).abs().max()):.3g}", "the axis is the vector R leaves unchanged: R @ axis = axis")
    return ("o3.axis_angle_to_matrix(axis, angle) gives back R (to 1e-6) for generic angles, three half-turns "
            "(θ = π, where o3.matrix_to_axis_angle's axis is noise and round-off pushes the cosine below −1) "
            "and the identity")
