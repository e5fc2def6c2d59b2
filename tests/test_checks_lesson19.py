"""Unit tests of the lesson 19 checkers, with answers written the way learners write them: right answers pass
(also as float32 or NumPy), typical mistakes fail with a useful message, stubs are "not attempted", crashes
and a missing `return` are ❌, an error raised inside a library is the learner's (never "not attempted"), and
answers right only on the easy case fail."""
import numpy as np
import torch
from e3nn import o3

from checker_stubs import (assert_checker_error, assert_fails, assert_learner_error, assert_missing_return,
                           assert_not_attempted, assert_passes, returning_float32, returning_numpy, stub_raise)
from e3teach import env
from e3teach.checks import lesson19 as check
from e3teach.diagnose import diagnose


# --- right answers (as in the solution notebook) ------------------------------------------------------------
def is_orthogonal(R):
    R = torch.as_tensor(R)
    return bool(torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-5))


def graph_edges(pos, batch, r_max):
    dist = (pos[:, None] - pos[None]).norm(dim=-1)
    mask = (dist < r_max) & (batch[:, None] == batch[None, :]) & ~torch.eye(len(pos), dtype=torch.bool)
    return torch.nonzero(mask, as_tuple=True)


def answers():
    out = {}
    for name, (pipeline, pos, kwargs) in check.mystery_pipelines().items():
        found = diagnose(pipeline, pos, **kwargs)
        out[name] = found.codes[0] if found.codes else "ok"
    return out


def relative_error(f, pos, R, irreps_out):
    with env.default_dtype(torch.float64):
        D = o3.Irreps(irreps_out).D_from_matrix(R)
    y, y_rot = f(pos).detach().double(), f(pos @ R.T).detach().double()
    return float((y_rot - y @ D.T).abs().max()) / max(1.0, float(y.abs().max()))


# --- q1 -----------------------------------------------------------------------------------------------------
def test_q1_right_answers_pass_also_in_numpy():
    assert_passes(check.q1, is_orthogonal)
    assert_passes(check.q1, lambda R: np.allclose(np.asarray(R) @ np.asarray(R).T, np.eye(3), atol=1e-5))
    assert_passes(check.q1, lambda R: torch.tensor(is_orthogonal(R)))


def test_q1_det_only_is_right_on_the_easy_case_and_fails():
    assert_fails(check.q1, lambda R: bool(abs(abs(torch.det(R.double())) - 1) < 1e-6), words="shear")


def test_q1_no_tolerance_fails_on_float32_and_exact_comparison():
    res = check.q1.run(lambda R: bool((R @ R.T == torch.eye(3, dtype=R.dtype)).all()))
    assert res.status == "fail" and "tolerance" in res.message, res.message


def test_q1_stubs_crashes_missing_return():
    assert_not_attempted(check.q1, stub_raise)
    assert_not_attempted(check.q1, ...)
    assert_missing_return(check.q1)
    assert_learner_error(check.q1)
    assert_fails(check.q1, lambda R: R, words="expected one True/False")


def test_q1_an_error_raised_inside_e3nn_is_the_learners_not_a_stub():
    res = check.q1.run(lambda R: o3.Irreps("1o").D_from_matrix(R) is not None)     # bare AssertionError
    assert res.status == "fail" and "your code raised AssertionError" in res.message, res.message
    res = check.q1.run(lambda R: len(o3.Irrep("1o")) == 3)                         # NotImplementedError in e3nn
    assert res.status == "fail" and "inside e3nn" in res.message, res.message


# --- q2 -----------------------------------------------------------------------------------------------------
def test_q2_right_answers_pass_also_in_numpy_and_as_lists():
    assert_passes(check.q2, graph_edges)
    assert_passes(check.q2, returning_numpy(graph_edges))
    assert_passes(check.q2, lambda p, b, r: [t.tolist() for t in graph_edges(p, b, r)])


def test_q2_forgetting_the_batch_passes_one_graph_only():
    def no_batch(pos, batch, r_max):
        return graph_edges(pos, torch.zeros_like(batch), r_max)
    assert_fails(check.q2, no_batch, words=["sorted batch", "different graphs"])


def test_q2_distance_filters_fail():
    def by_distance(pos, batch, r_max):                       # drops duplicate atoms, keeps nothing else wrong
        dist = (pos[:, None] - pos[None]).norm(dim=-1)
        mask = (dist < r_max) & (dist > 0) & (batch[:, None] == batch[None, :])
        return torch.nonzero(mask, as_tuple=True)
    assert_fails(check.q2, by_distance, words="missing")

    def with_self_loops(pos, batch, r_max):
        dist = (pos[:, None] - pos[None]).norm(dim=-1)
        return torch.nonzero((dist < r_max) & (batch[:, None] == batch[None, :]), as_tuple=True)
    assert_fails(check.q2, with_self_loops, words="self-loops")


def test_q2_sorted_only_helper_raising_inside_e3teach_is_the_learners():
    from e3teach.graph import radius_graph
    res = check.q2.run(lambda p, b, r: radius_graph(p, r, b))
    assert res.status == "fail" and "your code raised ValueError" in res.message and "sorted" in res.message


def test_q2_stubs_and_shapes():
    assert_not_attempted(check.q2, stub_raise)
    assert_missing_return(check.q2)
    assert_learner_error(check.q2)
    assert_fails(check.q2, lambda p, b, r: graph_edges(p, b, r)[0], words="two tensors")


# --- q3 -----------------------------------------------------------------------------------------------------
def test_q3_the_tools_answers_pass_and_mistakes_fail():
    right = answers()
    assert right == {"a": "ok", "b": "stale-neighbour-list", "c": "wrong-parity", "d": "zero-length-edge"}
    assert_passes(check.q3, right)
    assert_passes(check.q3, {np.str_(k): np.str_(v) for k, v in right.items()})
    assert_fails(check.q3, dict(right, b="ok"), words="['b']")
    assert_fails(check.q3, {"a": "ok"}, words="no answer")
    assert_fails(check.q3, ["ok"], words="dict")
    assert_not_attempted(check.q3, ...)


def test_q3_checker_bug_is_reported_as_such(monkeypatch):
    check._mystery_answers.cache_clear()
    assert_checker_error(monkeypatch, check.q3, check, "_mystery_answers", {"a": "ok"})


# --- q4 -----------------------------------------------------------------------------------------------------
def test_q4_right_answers_pass_also_float32_and_numpy():
    assert_passes(check.q4, relative_error)
    assert_passes(check.q4, lambda *a: np.float64(relative_error(*a)))
    assert_passes(check.q4, lambda *a: torch.tensor(relative_error(*a), dtype=torch.float32))
    assert_passes(check.q4, returning_float32(lambda *a: torch.tensor(relative_error(*a))))


def test_q4_r_instead_of_r_transposed_is_named():
    assert_fails(check.q4, _wrong_way, words="pos @ R.T")


def _wrong_way(f, pos, R, irreps_out):
    with env.default_dtype(torch.float64):
        D = o3.Irreps(irreps_out).D_from_matrix(R)
    y = f(pos).detach().double()
    return float((f(pos @ R).detach().double() - y @ D.T).abs().max()) / max(1.0, float(y.abs().max()))


def test_q4_absolute_error_is_right_only_on_the_easy_case():
    def absolute(f, pos, R, irreps_out):
        with env.default_dtype(torch.float64):
            D = o3.Irreps(irreps_out).D_from_matrix(R)
        return float((f(pos @ R.T).detach() - f(pos).detach() @ D.T).abs().max())
    assert_fails(check.q4, absolute, words="round-off")


def test_q4_comparing_a_function_with_itself_fails_and_stubs():
    assert_fails(check.q4, lambda f, pos, R, irreps: 0.0, words="broken")
    assert_not_attempted(check.q4, stub_raise)
    assert_missing_return(check.q4)
    assert_learner_error(check.q4)
