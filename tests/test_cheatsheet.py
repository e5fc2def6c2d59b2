"""CHEATSHEET.md says only what it can show: every ```python block runs, self-contained, and its asserts hold.

The pitfalls that lessons link to (``CHEATSHEET.md#pitfall-...``) must exist as headings, and the glossary is a
list of ``### term`` headings, each followed by a short definition.
"""
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
CHEATSHEET = (ROOT / "CHEATSHEET.md").read_text()
GLOSSARY = (ROOT / "GLOSSARY.md").read_text()
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
BLOCKS = CODE_BLOCK.findall(CHEATSHEET)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", CODE_BLOCK.sub("", text), re.M)}


def test_there_are_code_blocks():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_code_block_runs(index):
    dtype = torch.get_default_dtype()
    try:
        exec(compile(BLOCKS[index], f"CHEATSHEET.md block {index}", "exec"), {"__name__": "__cheatsheet__"})
    finally:
        torch.set_default_dtype(dtype)


@pytest.mark.parametrize("anchor", [
    "pitfall-float32-by-default", "pitfall-normalization", "pitfall-cdist-self-loops",
    "pitfall-even-activation-on-a-pseudoscalar", "pitfall-loading-a-whole-module", "pitfall-import-e3nn",
    "pitfall-the-500-fold-augmentation-figure",
])
def test_pitfall_anchor_exists(anchor):
    assert anchor in anchors(CHEATSHEET), sorted(a for a in anchors(CHEATSHEET) if a.startswith("pitfall"))


def test_links_to_cheatsheet_anchors_resolve():
    """Every ``CHEATSHEET.md#anchor`` link in the course lands on a heading."""
    known = anchors(CHEATSHEET)
    missing = []
    for path in sorted(list(ROOT.glob("*.md")) + list(ROOT.glob("*/*.ipynb"))):
        for anchor in re.findall(r"CHEATSHEET\.md#([\w-]+)", path.read_text()):
            if anchor not in known:
                missing.append(f"{path.relative_to(ROOT)}: #{anchor}")
    assert not missing, missing


def test_glossary_terms():
    terms = re.findall(r"^### (.+)$", GLOSSARY, re.M)
    assert len(terms) >= 35
    assert len(set(terms)) == len(terms), "a term is defined twice"
    for entry in re.split(r"^### ", GLOSSARY, flags=re.M)[1:]:
        term, _, body = entry.partition("\n")
        body = body.strip()
        assert body, f"{term}: no definition"
        assert len(body.split()) <= 110, f"{term}: keep a glossary entry to 1-3 sentences"
