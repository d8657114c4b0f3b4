"""A griffe extension (mkdocs.yml: mkdocstrings' ``extensions``): the package's docstrings are
reStructuredText-flavoured prose; this renders its idioms as Markdown before mkdocstrings does.

* a role — ``:func:`~amsgrad_theory.engine.sweep.run_sweep``` (also ``:class:``, ``:mod:``,
  ``:meth:``, ``:attr:``, ``:data:``, ``:exc:``, ``:obj:``) — becomes a cross-reference shown as
  Sphinx shows it (``run_sweep`` with ``~``, the whole name without); it is *optional*: a link
  where the target is documented on the site, plain code where it is not (a relative or short
  name is looked up in the docstring's own module);
* an underlined section title (``Parameters`` over ``----------``) becomes a bold line, not a
  heading of the page;
* a paragraph ending in ``::`` and its indented block become a paragraph ending in ``:`` and a
  code block; a ``>>>`` session becomes a fenced ``pycon`` block.
"""

from __future__ import annotations

import html
import re

import griffe

UNDERLINE = re.compile(r"-{3,}|={3,}|~{3,}")
ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(?P<text>[^`]+)`")


def reference(text: str, module: str) -> str:
    """The Markdown (inline HTML) of a role's target ``text`` in a docstring of ``module``."""
    text = text.strip()
    label = None
    if "<" in text and text.endswith(">"):               # :func:`label <target>`
        label, text = text[:-1].split("<", 1)
        label = label.strip()
    short = text.startswith("~")
    target = text.lstrip("~").rstrip("()")
    if target.startswith("."):
        identifier = module + target
    elif target.split(".")[0] == module.split(".")[0]:
        identifier = target
    else:
        identifier = f"{module}.{target}"
    shown = label or (target.lstrip(".").rsplit(".", 1)[-1] if short else target.lstrip("."))
    return (f'<autoref identifier="{html.escape(identifier)}" optional>'
            f"<code>{html.escape(shown)}</code></autoref>")


def markdown(doc: str, module: str) -> str:
    """``doc`` (reStructuredText idioms) as Markdown: roles, ``::`` blocks, ``>>>`` sessions."""
    out: list[str] = []
    doc = ROLE.sub(lambda m: reference(" ".join(m["text"].split()), module), doc)
    lines = doc.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while k < len(lines) and lines[k].strip() and lines[k].startswith(indent):
                block.append(lines[k][len(indent):])
                k += 1
            out += [indent + "```pycon", *(indent + b for b in block), indent + "```"]
            continue
        if (k + 1 < len(lines) and line.strip() and UNDERLINE.fullmatch(lines[k + 1].strip())
                and len(lines[k + 1].strip()) >= len(line.strip())):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}**{line.strip()}**")      # a section title, not a page heading
            k += 2
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(stripped + ":" if stripped else "")
            k += 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            base = len(line) - len(line.lstrip())
            block = []
            while k < len(lines) and (not lines[k].strip()
                                      or len(lines[k]) - len(lines[k].lstrip()) > base):
                block.append(lines[k])
                k += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                cut = min(len(b) - len(b.lstrip()) for b in block if b.strip())
                pad = " " * base
                out += ["", pad + "```text", *(pad + b[cut:] for b in block), pad + "```", ""]
            continue
        out.append(line)
        k += 1
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of the loaded package as :func:`markdown` has it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            module = obj.path if obj.is_module else obj.module.path
            obj.docstring.value = markdown(obj.docstring.value, module)
