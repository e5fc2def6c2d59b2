"""Showing a figure: one output with the interactive figure, its PNG twin and its text alternative."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ._common import TWIN_DPI, _plain
from ._twin import static_twin


def png_bytes(picture: Any, *, dpi: int = TWIN_DPI) -> bytes:
    """PNG bytes of a matplotlib Figure, or of a plotly figure's :func:`static_twin`."""
    import io

    if isinstance(picture, (go.Figure, dict)):
        picture = static_twin(picture, dpi=dpi)
    buffer = io.BytesIO()
    picture.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def mimebundle(fig: go.Figure, *, static: Any = None) -> dict:
    """One output holding the interactive figure (plotly's mimetype) and its PNG twin.

    JupyterLab renders the richest type it knows (the plotly figure); GitHub and nbviewer, which do not
    run plotly, show the PNG. ``static``: a matplotlib Figure to use as the twin instead of
    :func:`static_twin`.
    """
    import base64

    import plotly.io as pio

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())
    bundle["image/png"] = base64.b64encode(png_bytes(fig if static is None else static)).decode("ascii")
    bundle["text/plain"] = f"<plotly figure: {_plain(fig.layout.title.text or 'untitled')}>"
    return bundle


def show(fig: Any, *, static: Any = None, alt: str | None = None) -> None:
    """Display a figure with its text alternative, as one output.

    ``fig``: a plotly figure (shown with its static twin, see :func:`mimebundle`) or a matplotlib
    Figure (shown as a PNG, then closed so that the inline backend does not draw it twice).
    ``alt``: one or two sentences saying what the figure shows and what it finds; it travels with the
    picture as its alternative text (output metadata ``alt`` and the ``text/plain`` form).
    """
    import base64

    from IPython.display import display

    if isinstance(fig, go.Figure):
        bundle = mimebundle(fig, static=static)
    elif hasattr(fig, "savefig"):
        import matplotlib.pyplot as plt

        bundle = {"image/png": base64.b64encode(png_bytes(fig)).decode("ascii"),
                  "text/plain": "<figure>"}
        plt.close(fig)
    else:
        raise TypeError(f"show expects a plotly go.Figure or a matplotlib Figure, got {type(fig).__name__}")
    metadata = None
    if alt is not None:
        alt = " ".join(str(alt).split())
        bundle["text/plain"] = alt
        metadata = {"image/png": {"alt": alt}}
    display(bundle, raw=True, metadata=metadata)

