"""'Did you mean …?': the valid names closest to a misspelt one.

The registries below ``commands/`` (variants, problems and their parameters, arithmetics,
studies, derivations, proof chains, …) refuse an unknown name with an
:class:`~amsgrad_theory.errors.InputError` whose message lists the registry's names
(:func:`~amsgrad_theory.errors.unknown_name`: ``unknown; valid names: a, b, …``; a problem's
parameters: ``not a parameter of NAME; valid: a, b, …``). :func:`with_suggestion` reads that
list back and puts the closest names (:data:`CUTOFF`, case ignored) in the message; the
command line prints it for every such error, whatever the command.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from ..errors import InputError

#: the error messages that list the valid names: an unknown name, an unknown parameter
_LISTED = re.compile(r"^(?P<kind>unknown|not a parameter of )[^;]*; valid[^:]*: (?P<names>.+)$",
                     re.S)
#: where a name's variable part starts: ``mpmath:DPS``, ``torch[:DEVICE[:DTYPE]]``
_HEAD = re.compile(r"[:\[]")


#: a name is suggested when difflib's similarity ratio with the misspelt one (2·matches /
#: total length) is at least CUTOFF, and within TIE of the best one's
CUTOFF, TIE = 0.6, 0.05


def close_names(word: str, names: Iterable[str], most: int = 3) -> list[str]:
    """The names closest to ``word``, best first (at most ``most``, see :data:`CUTOFF`). A
    name with a variable part (``mpmath:DPS``) is compared by its head, and the suggestion
    keeps the user's tail (``mpmth:30`` → ``mpmath:30``)."""
    word = str(word)
    head, colon, tail = word.partition(":")
    heads: dict[str, str] = {}
    for name in names:
        key = _HEAD.split(name, 1)[0] if _HEAD.search(name) else name
        heads.setdefault(key.lower(), key + (colon + tail if key != name else ""))
    probe = (head if colon else word).lower()
    scored = sorted(((difflib.SequenceMatcher(None, probe, key).ratio(), key) for key in heads),
                    key=lambda pair: -pair[0])
    best = scored[0][0] if scored else 0.0
    return [heads[key] for ratio, key in scored[:most]
            if ratio >= max(CUTOFF, best - TIE) and heads[key] != word]


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """``did you mean X?`` (``X or Y``), or '' where no name is close."""
    close = close_names(word, names)
    return f"did you mean {' or '.join(close)}?" if close else ""


def with_suggestion(exc: InputError) -> str:
    """The error's text, with ``(did you mean …?)`` after the misspelt name where its message
    lists the valid names and one of them is close; else the text unchanged."""
    match = _LISTED.match(exc.message)
    if match is None:
        return str(exc)
    names = [name.strip() for name in match["names"].split(",")]
    misspelt = exc.value if match["kind"] == "unknown" else exc.argument
    hint = did_you_mean(str(misspelt), names)
    if not hint:
        return str(exc)
    text = str(exc)
    at = text.index("; valid", len(text) - len(exc.message))
    return f"{text[:at]} ({hint}){text[at:]}"
