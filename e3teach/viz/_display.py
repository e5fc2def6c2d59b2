"""Showing a figure: one output with the interactive figure, its PNG twin and its text alternative."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ._common import TWIN_DPI, _plain
from ._twin import static_twin


def png_bytes(picture: Any, *, dpi: int = TWIN_DPI) -> bytes:
    """PNG bytes of a matplotlib Figure (cropped to what it draws, as Jupyter's inline backend does, so a
    tick label outside the axes is never cut), or of a plotly figure's :func:`static_twin` (its own size)."""
    import io

    crop = {"bbox_inches": "tight"}
    if isinstance(picture, (go.Figure, dict)):
        picture, crop = static_twin(picture, dpi=dpi), {}
    buffer = io.BytesIO()
    picture.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, **crop)
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


def picture_html(png_base64: str, alt: str | None, *, css_class: str = "e3teach-picture",
                 caption: str | None = None) -> str:
    """A PNG as an HTML ``<img>`` that carries its text alternative, for JupyterLab.

    JupyterLab draws an ``image/png`` output as an ``<img>`` without ``alt`` (it ignores the output's
    metadata), but it prefers ``text/html`` to ``image/png`` and keeps ``alt`` and ``data:`` pictures through
    its sanitizer (untrusted notebooks too, see ``tests/test_browser_lab.py``): this is how the alt text
    reaches a screen reader there. ``caption``: a visible line under the picture."""
    import html

    image = (f'<img class="{css_class}" src="data:image/png;base64,{png_base64}" '
             f'alt="{html.escape(alt or "", quote=True)}">')
    if caption is None:
        return image
    return f'<figure class="{css_class}">{image}<figcaption>{html.escape(caption)}</figcaption></figure>'


#: output metadata that marks :func:`show`'s caption under a plotly figure (the website drops it: there
#: the figure itself is named by the same text)
CAPTION_KEY = "e3teach_caption"


def caption_html(alt: str) -> str:
    """A plotly figure's text alternative as a visible caption, the one form JupyterLab can give it."""
    import html

    return f'<p class="e3teach-caption"><em>Figure: {html.escape(alt)}</em></p>'


def show(fig: Any, *, static: Any = None, alt: str | None = None) -> None:
    """Display a figure with its text alternative: one output, and for a plotly figure with ``alt`` a
    caption output under it.

    ``fig``: a plotly figure (shown with its static twin, see :func:`mimebundle`) or a matplotlib
    Figure (shown as a PNG, then closed so that the inline backend does not draw it twice).
    ``alt``: one or two sentences saying what the figure shows and what it finds; it travels with the
    picture as its alternative text: output metadata ``{"image/png": {"alt": ...}}`` (the website reads it),
    the ``text/plain`` form, and for a matplotlib figure an HTML ``<img alt=...>`` (:func:`picture_html`),
    the form JupyterLab shows. A plotly figure is drawn by JupyterLab's plotly renderer, which reads no alt
    and wins over any other form in its output: its alt text is in ``text/plain``, in a second output right
    under it, a visible caption (:func:`caption_html`) that a screen reader reads in JupyterLab too, and on
    the website the figure's accessible name (the site leaves the caption out).
    """
    import base64

    from IPython.display import display

    if alt is not None:
        alt = " ".join(str(alt).split())
    if isinstance(fig, go.Figure):
        bundle = mimebundle(fig, static=static)
    elif hasattr(fig, "savefig"):
        import matplotlib.pyplot as plt

        png = base64.b64encode(png_bytes(fig)).decode("ascii")
        bundle = {"image/png": png, "text/plain": "<figure>"}
        if alt:
            bundle["text/html"] = picture_html(png, alt)
        plt.close(fig)
    else:
        raise TypeError(f"show expects a plotly go.Figure or a matplotlib Figure, got {type(fig).__name__}")
    metadata = None
    if alt is not None:
        bundle["text/plain"] = alt
        metadata = {"image/png": {"alt": alt}}
    display(bundle, raw=True, metadata=metadata)
    if alt and isinstance(fig, go.Figure):
        display({"text/html": caption_html(alt), "text/plain": f"Figure: {alt}"}, raw=True,
                metadata={CAPTION_KEY: True})

