"""The course's matplotlib rules (viz/_mpl.py), checked on the helpers that draw with them."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from e3teach import viz  # noqa: E402


def test_plot_curves_follows_the_rules_on_a_log_axis():
    sizes = np.array([10, 30, 100, 300, 1000, 3000])
    ax = viz.plot_curves(sizes, {"plain MLP": np.random.default_rng(0).random((3, 6)) + 1,
                                 "equivariant": np.linspace(2, 0.1, 6)},
                         xlabel="training set size", ylabel="test error (eV)", logx=True, logy=True)
    assert viz.figure_problems(ax.figure) == []
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "30", "100", "300", "1000", "3000"]
    line = ax.get_lines()[0]
    band = ax.collections[0]
    assert matplotlib.colors.to_hex(band.get_facecolor()[0]) == matplotlib.colors.to_hex(line.get_color())


def test_log_axis_labels_decades_and_never_minor_ticks():
    fig, ax = viz.subplots()
    ax.plot([1e-6, 1e2], [3, 4])
    ax.set(xlabel="error (eV)", ylabel="count")
    viz.log_axis(ax, "x")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "10⁻⁶" in labels and "100" in labels
    assert all(not t.get_text() for t in ax.xaxis.get_minor_ticks() for t in [t.label1])
    assert viz.figure_problems(fig) == []


def test_log_axis_over_less_than_a_decade_shows_plain_values_without_overlap():
    fig, ax = viz.subplots(figsize=(3, 2.5))
    ax.plot([3, 4.5], [3, 4])
    ax.set(xlabel="x (Å)", ylabel="y (eV)")
    viz.log_axis(ax, "x")
    fig.canvas.draw()
    assert not any("×" in t.get_text() for t in ax.get_xticklabels())
    assert viz.figure_problems(fig) == []
    with pytest.raises(ValueError, match="positive"):
        viz.log_axis(ax, "y", values=[0, 1])


def test_figure_problems_finds_what_breaks_the_rules():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))                # no constrained layout, no labels
    ax.plot([0, 1], [0, 1], color="C0", label="model")
    ax.scatter([0, 1], [0, 1], color="C1", label="model")  # same series, another colour
    ax.set_xticks(np.linspace(0, 1, 40))                  # crowded tick labels
    problems = " | ".join(viz.figure_problems(fig))
    assert "constrained layout" in problems and "no x label" in problems and "no y label" in problems
    assert "overlap" in problems and "'model' drawn in 2 colours" in problems
    plt.close(fig)


def test_heatmap_and_subplots_use_constrained_layout():
    fig, axes = viz.subplots(1, 2)
    viz.heatmap(np.eye(3), ax=axes[0], title="identity")
    assert fig.get_layout_engine() is not None and len(axes) == 2
    assert type(viz.heatmap(np.eye(2)).figure.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
