"""Partial evaluation of the lane code: :func:`specialize` turns a function built from small
closures into one flat Python function that computes the same thing.

The update rule, the problems' lane functions and the statistics are written once, as small
pure functions composed through closures (:mod:`amsgrad_theory.kernels`). Compiled by numba they
cost nothing; interpreted (mpmath, arb balls, Python floats) or driving whole arrays (numpy,
torch), every call, tuple and closure lookup is paid again at every step, and loop-invariant work
(1 − β1 for a constant β1, the casts of the problem's parameters) is redone at every step.
:func:`specialize` removes that cost without a second copy of the rule — it reads the
functions' own source and

1. folds the closures' constants (the variant's and the problem's fields, module constants) and
   prunes the branches they decide;
2. inlines every call to a function marked as lane code (:func:`~amsgrad_theory.lanecode.
   lane_code`: the rule, the problems' lane functions, the statistics, the namespaces'
   operations), recursively, renaming the callee's locals; each early ``return`` becomes an
   assignment to the call's target; a ``NamedTuple`` built from positional arguments becomes a
   tuple display, read by field name or index, and is built as the ``NamedTuple`` again
   wherever it is not taken apart;
3. splits tuple assignments whose value is a tuple display, forwards single-use temporaries,
   takes apart tuples that are built only to be unpacked or indexed, coalesces copies
   (``t = n``; ``n = t``) and drops assignments nobody reads;
4. hoists loop-invariant assignments, and invariant operands of operators, out of ``for``
   loops — only from the statements every iteration runs, never a value changed in place.

**Contract.** The functions it inlines are lane code, marked as such by whoever builds them: pure —
no side effects, results that depend only on the arguments and the closure, the contract numba
already imposes on the lane functions (a callee may change arrays it allocated itself). Nothing
unmarked is inlined: a user's own problem method stays a call. Under it every value is computed by
the same operations on the same operands as in the original (only independent operations change
order, and loop invariants are computed once); the tests compare specialised and plain kernels bit
for bit, for every variant, problem family and arithmetic. The function being specialised (the
kernel's own loop) is not assumed pure: its calls stay where they are and may change what they are
given. A numba dispatcher of a marked function is inlined from that function (what numba's
``inline="always"`` would do at its IR level). What cannot be read or proven — builtins, C
methods, other numba dispatchers, calls inside
conditional expressions or ``and``/``or``, functions with loops or ``*args`` — stays a call.
:func:`specialize` raises :class:`NotSpecializable` when the function itself cannot be read.
Fallbacks are loud: a marked callee that cannot be inlined is listed in the result's
``__specialization_fallbacks__``, and :func:`flatten` (what the engines call) records it, or the
whole function's fallback to the original, in the notes it is given (a run's ``Result.notes``).

The generated source is kept on the result as ``__specialized_source__`` (and registered with
:mod:`linecache`, so tracebacks show it).
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import itertools
import linecache
import math
import textwrap
import types
from typing import Any

from ..lanecode import marked_function

MAX_DEPTH = 12
_PLAIN = (bool, int, str, type(None))
_FORBIDDEN_IN_CALLEE = (ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith,
                        ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                        ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await,
                        ast.Delete, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                        ast.Match, ast.Raise, ast.Assert, ast.Import, ast.ImportFrom)
_OPAQUE_EXPR = (ast.IfExp, ast.BoolOp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                ast.GeneratorExp)


class NotSpecializable(Exception):
    """The function (or a callee) cannot be read or transformed safely."""


# ------------------------------------------------------------------------------------------
# reading a function
# ------------------------------------------------------------------------------------------

class _Source:
    """A function's parameters, body (as statements) and free-name resolution."""

    def __init__(self, fn, callee: bool):
        if not isinstance(fn, types.FunctionType):
            raise NotSpecializable(f"{fn!r} is not a Python function")
        code = fn.__code__
        if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
                            | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
            raise NotSpecializable(f"{fn.__qualname__}: *args, **kwargs or a generator")
        if code.co_kwonlyargcount or code.co_posonlyargcount:
            raise NotSpecializable(f"{fn.__qualname__}: keyword-only or positional-only")
        self.fn = fn
        self.params = list(code.co_varnames[:code.co_argcount])
        defaults = fn.__defaults__ or ()
        self.defaults = dict(zip(self.params[len(self.params) - len(defaults):], defaults))
        parsed = _PARSED.get(code)
        if parsed is None:
            parsed = _PARSED[code] = _parse(fn, self.params)
        if isinstance(parsed, NotSpecializable):
            raise NotSpecializable(*parsed.args)
        # shared by every specialisation that reads fn: never changed (they copy it first)
        body, stored, forbidden = parsed
        self.body: list[ast.stmt] = body
        self.stored: frozenset[str] = stored
        if callee and forbidden:
            raise NotSpecializable(f"{fn.__qualname__}: {forbidden} is not inlined")
        self.locals = set(self.params) | self.stored
        cells = fn.__closure__ or ()
        self.closure = {}
        for name, cell in zip(code.co_freevars, cells):
            try:
                self.closure[name] = cell.cell_contents
            except ValueError:
                pass        # an empty cell: resolving it fails below
        self.globals = fn.__globals__

    def resolve(self, name):
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise NotSpecializable(f"{self.fn.__qualname__}: cannot resolve {name!r}")


#: code object → (body, names it stores, the first construct a callee may not hold, or "") or
#: the NotSpecializable it raised: a function's source is read and checked once per process
_PARSED: dict[types.CodeType, tuple[list[ast.stmt], frozenset[str], str] | NotSpecializable] = {}


def _parse(fn, params):
    try:
        if fn.__name__ == "<lambda>":
            body = [ast.Return(value=_lambda_body(fn, params))]
        else:
            body = _without_docstring(_def_node(fn).body)
    except NotSpecializable as exc:
        return exc
    forbidden = next((type(node).__name__ for node in _walk_body(body)
                      if isinstance(node, _FORBIDDEN_IN_CALLEE)), "")
    stored = frozenset(node.id for node in _walk_body(body) if isinstance(node, ast.Name)
                       and isinstance(node.ctx, (ast.Store, ast.Del)))
    return body, stored, forbidden


#: fields whose values are never nodes that a transformation here looks for or changes: names
#: and the marks of a context or an operator (``Load``, ``Add``, ``Lt``, …, leaves shared freely)
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "kind", "type_comment"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls) -> tuple[str, ...]:
    """The fields of an AST class that may hold the nodes under it (all but the leaf ones)."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = () if cls is ast.Constant else tuple(
            f for f in cls._fields if f not in _LEAF_FIELDS)
    return fields


def _walk(node):
    """Every node of the tree under ``node``, itself included, but for the context and
    operator marks — what :func:`ast.walk` yields, depth first instead of breadth first (every
    use here is a set, a count or ``any``/``all`` over statements and expressions); ≈ 3×
    faster, and the transformations walk statements thousands of times."""
    stack = [node]
    pop, push, extend, AST, get = stack.pop, stack.append, stack.extend, ast.AST, \
        _CHILD_FIELDS.get
    while stack:
        n = pop()
        if not isinstance(n, AST):      # None in a dict display's keys, a name in `global`
            continue
        yield n
        cls = type(n)
        for field in get(cls) or _child_fields(cls):
            v = getattr(n, field, None)
            if type(v) is list:
                extend(v)
            elif v is not None:
                push(v)


def _clone(node):
    """A deep copy of an AST node or a list of them (what :func:`copy.deepcopy` makes, in a
    third of its time: the transformations copy substituted arguments and expressions, and the
    statements that follow an early ``return``, thousands of times per kernel; a callee's body
    is copied by :class:`_Rename` as it renames it). Field values that are not nodes — names,
    constants, the marks set here (``_pure``, ``_namedtuple``) — are immutable and shared."""
    if type(node) is list:
        return [_clone(x) for x in node]
    if not isinstance(node, ast.AST):
        return node
    new = type(node).__new__(type(node))
    fields = new.__dict__
    for key, value in node.__dict__.items():
        fields[key] = _clone(value) if type(value) is list or isinstance(value, ast.AST) \
            else value
    return new


#: ast.NodeVisitor's own visit_Constant, which only forwards to the visit_Num/visit_Str/…
#: methods of Python < 3.8 (none here): skipped (None where a Python has dropped it)
_DEPRECATED_VISIT_CONSTANT = getattr(ast.NodeVisitor, "visit_Constant", None)


class _Transformer(ast.NodeTransformer):
    """:class:`ast.NodeTransformer` as the transformations here use it, faster: the visit
    method is found once per node class, and the context and operator marks are not visited
    (no transformation here has a method for them). Same results otherwise: a method's None
    removes the node, a list replaces it by several."""

    _methods: dict[type, Any]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node):
        cls = type(node)
        method = self._methods.get(cls)
        if method is None:
            method = getattr(type(self), "visit_" + cls.__name__, None)
            if method is None or method is _DEPRECATED_VISIT_CONSTANT:
                method = type(self).generic_visit
            self._methods[cls] = method
        return method(self, node)

    def generic_visit(self, node):
        for field in _CHILD_FIELDS.get(type(node)) or _child_fields(type(node)):
            old = getattr(node, field, None)
            if type(old) is list:
                old[:] = self.visit_list(old)
            elif isinstance(old, ast.AST):
                new_node = self.visit(old)
                if new_node is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new_node)
        return node

    def visit_list(self, items: list) -> list:
        """The visited nodes of a list field, as a new list (None dropped, lists spliced)."""
        out: list = []
        AST = ast.AST
        for value in items:
            if isinstance(value, AST):
                value = self.visit(value)
                if value is None:
                    continue
                if not isinstance(value, AST):
                    out.extend(value)
                    continue
            out.append(value)
        return out


class _Rename(_Transformer):
    """:meth:`_Specializer.rename`: a transformer that copies each node it visits (one pass
    instead of a copy, then a renaming of the copy)."""

    def __init__(self, spec, src, prefix, subst):
        self.spec, self.src, self.prefix, self.subst = spec, src, prefix, subst
        self.pure = prefix != ""

    def generic_visit(self, node):
        cls = type(node)
        new = cls.__new__(cls)
        fields = new.__dict__
        children = _CHILD_FIELDS.get(cls) or _child_fields(cls)
        for key, value in node.__dict__.items():
            if key in children:
                if type(value) is list:
                    value = self.visit_list(value)
                elif isinstance(value, ast.AST):
                    value = self.visit(value)
                    if value is None:
                        continue
            elif type(value) is list:       # a leaf list (a comparison's operators)
                value = list(value)
            fields[key] = value
        return new

    def visit_Call(self, node):
        node = self.generic_visit(node)
        if self.pure:
            node._pure = True
        return node

    def visit_Name(self, node):
        name, src = node.id, self.src
        if name in self.subst and type(node.ctx) is ast.Load:
            return _clone(self.subst[name])
        if name in src.locals:
            return ast.Name(self.prefix + name, node.ctx)
        if type(node.ctx) is not ast.Load:
            raise NotSpecializable(f"{src.fn.__qualname__}: stores to free {name!r}")
        return self.spec.ref(src.resolve(name), name)


def _walk_body(stmts):
    for s in stmts:
        yield from _walk(s)


def _def_node(fn):
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError, IndentationError) as exc:
        raise NotSpecializable(f"{fn.__qualname__}: no readable source ({exc})") from None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        raise NotSpecializable(f"{fn.__qualname__}: source is not its def")
    _same_code(fn, "\n".join(text.splitlines()[node.lineno - 1:]))     # from `def`, no decorators
    return node


def _without_docstring(body):
    body = list(body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body or [ast.Pass()]


def _plain_args(names):
    return ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])


@functools.cache
def _imported(filename):
    """Names a module binds by ``import`` at its top level (from its current source)."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)))
    except SyntaxError:
        return frozenset()
    names = set()
    for node in _walk(tree):      # column 0: the module's own scope, not a function's
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset == 0:
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return frozenset(names)


def _same_code(fn, text):
    """The source found is the source ``fn`` was compiled from: compiled again (``text``, a
    def or a lambda expression) in a scope that gives it the same free variables, it yields the
    same bytecode. (The file may have changed since it was imported; then the function is not
    read, and runs as it is.)"""
    code = fn.__code__
    cells = "".join(f"    {v} = None\n" for v in code.co_freevars)
    # CPython 3.11 compiles `m.f(…)` differently when m is a name the module imports
    imports = "".join(f"    import _ as {name}\n" for name in _imported(code.co_filename)
                      if name in code.co_names)
    if text.lstrip().startswith("lambda"):
        body = f"    return ({text})\n"
    else:
        body = textwrap.indent(text, "    ") + f"\n    return {fn.__name__}\n"
    try:
        namespace = {}
        head = "if False:\n" + imports if imports else ""
        exec(compile(head + "def _outer():\n" + cells + body, code.co_filename,  # noqa: S102
                     "exec"), namespace)
        again = namespace["_outer"]().__code__
    except Exception:       # noqa: BLE001 - any failure means: do not trust this source
        raise NotSpecializable(f"{fn.__qualname__}: its source does not compile alone") from None
    if again.co_code != code.co_code or again.co_freevars != code.co_freevars:
        raise NotSpecializable(f"{fn.__qualname__}: the source on disk is not the code running")


def _lambda_body(fn, params):
    """The body expression of a lambda, located through its code positions (Python ≥ 3.11)."""
    code = fn.__code__
    spans = [p for p in getattr(code, "co_positions", lambda: [])()
             if p[0] is not None and p[2] is not None and not (p[2] == 0 and p[3] == 0)]
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename)
    if not spans or not lines:
        raise NotSpecializable(f"{fn!r}: lambda without positions or source")
    start = min((p[0], p[2]) for p in spans)
    end = max((p[1], p[3]) for p in spans)
    raw = [ln.encode() for ln in lines[start[0] - 1:end[0]]]
    if len(raw) == 1:
        text = raw[0][start[1]:end[1]]
    else:
        text = raw[0][start[1]:] + b"".join(raw[1:-1]) + raw[-1][:end[1]]
    try:
        body = text.decode()
        expr = ast.parse("(" + body + ")", mode="eval").body
    except (SyntaxError, UnicodeDecodeError):
        raise NotSpecializable(f"{fn!r}: lambda body not found") from None
    _same_code(fn, f"lambda {', '.join(params)}: ({body})")
    return expr


def _names(node, ctx=ast.Load):
    """The names ``node`` reads (``ctx`` Load), or binds (Store) or deletes (Del)."""
    loads, others = _name_sets(node)
    if ctx is ast.Load:
        return loads
    return {name for name, c in others if issubclass(c, ctx)}


def _reads_writes(node):
    """(names ``node`` reads, names it binds or deletes), in one walk."""
    loads, others = _name_sets(node)
    return loads, {name for name, _ in others}


def _name_sets(node):
    """(loaded names, {(name, its Store or Del context)}) of the tree under ``node``: the
    names the transformations ask for thousands of times, without :func:`_walk`'s generator
    (a Name has no children to walk)."""
    loads: set[str] = set()
    others: set = set()
    for n in _name_nodes(node):
        if type(n.ctx) is ast.Load:
            loads.add(n.id)
        else:
            others.add((n.id, type(n.ctx)))
    return loads, others


def _name_nodes(node) -> list[ast.Name]:
    """The ``Name`` nodes under ``node`` (a node or a list of statements): :func:`_walk`'s
    loop, without a generator, keeping only the names."""
    stack = list(node) if type(node) is list else [node]
    out: list[ast.Name] = []
    pop, push, extend, keep = stack.pop, stack.append, stack.extend, out.append
    AST, Name, get = ast.AST, ast.Name, _CHILD_FIELDS.get
    while stack:
        n = pop()
        cls = type(n)
        if cls is Name:
            keep(n)
            continue
        if not isinstance(n, AST):
            continue
        for field in get(cls) or _child_fields(cls):
            v = getattr(n, field, None)
            if type(v) is list:
                extend(v)
            elif v is not None:
                push(v)
    return out


# ------------------------------------------------------------------------------------------
# transformations
# ------------------------------------------------------------------------------------------

def _literal(value):
    """An AST literal for a value that unparses to itself (bools, ints, finite floats, …)."""
    t = type(value)
    if t in _PLAIN or (t is float and math.isfinite(value)):
        return ast.Constant(value)
    if t is tuple and all(_literal(v) is not None for v in value):
        return ast.Tuple([_literal(v) for v in value], ast.Load())
    return None


class _Fold(_Transformer):
    """Evaluate operators on constants; prune ``if`` and conditional expressions they decide."""

    def _const(self, node):
        self.generic_visit(node)
        kids = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.LShift)):
            return node                  # 10 ** 10 ** 9 is not worth computing here
        if all(isinstance(c, (ast.Constant, ast.Tuple)) and _is_const(c) for c in kids):
            try:
                value = eval(compile(ast.fix_missing_locations(ast.Expression(node)),
                                     "<fold>", "eval"), {"__builtins__": {}})
            except Exception:       # noqa: BLE001 - leave it to run time
                return node
            lit = _literal(value)
            return lit if lit is not None else node
        return node

    visit_BinOp = visit_UnaryOp = visit_Compare = _const

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        values = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                decides = bool(v.value) if isinstance(node.op, ast.Or) else not v.value
                if decides:              # `x or True…`: the first deciding constant ends it
                    values.append(v)
                    break
                if v is not node.values[-1]:
                    continue             # a non-deciding constant is skipped
            values.append(v)
        if len(values) == 1:
            return values[0]
        node.values = values
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return (node.body if node.test.value else node.orelse) or [ast.Pass()]
        node.body = node.body or [ast.Pass()]
        return node


def _is_const(node):
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Tuple) and all(_is_const(e) for e in node.elts)


def _contains_return(stmts):
    return any(isinstance(n, ast.Return) for n in _walk_body(stmts))


def _lift(stmts, emit):
    """Statements without ``return``: each ``return e`` becomes ``emit(e)`` and what follows an
    ``if`` that returns on some path is copied into its branches (single exit)."""
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            return out + emit(s.value if s.value is not None else ast.Constant(None))
        if isinstance(s, ast.If) and _contains_return([s]):
            rest = stmts[i + 1:]
            body = _lift(_clone(s.body) + _clone(rest), emit)
            orelse = _lift(_clone(s.orelse) + _clone(rest), emit)
            return out + [ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse)]
        out.append(s)
    return out + emit(ast.Constant(None))


def _flat_pairs(target, value):
    """(target, value) pairs of a tuple assignment split element by element, or None."""
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, ast.Tuple):
        if len(target.elts) != len(value.elts) or any(
                isinstance(e, ast.Starred) for e in target.elts + value.elts):
            return None
        pairs = []
        for t, v in zip(target.elts, value.elts):
            sub = _flat_pairs(t, v)
            if sub is None:
                return None
            pairs += sub
        return pairs
    return [(target, value)]


def _split(stmt):
    """``a, (b, c) = x, (y, z)`` → ``a = x; b = y; c = z`` where no later value reads an
    earlier target (else one flat tuple assignment, which evaluates every value first)."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.value, ast.Tuple)
            and isinstance(stmt.targets[0], (ast.Tuple, ast.List))):
        return [stmt]
    pairs = _flat_pairs(stmt.targets[0], stmt.value)
    if pairs is None:
        return [stmt]
    stored = set()
    for t, v in pairs:
        if _names(v) & stored:
            return [ast.Assign([ast.Tuple([t for t, _ in pairs], ast.Store())],
                               ast.Tuple([v for _, v in pairs], ast.Load()))]
        stored |= _names(t, ast.Store)
        if not isinstance(t, ast.Name):
            stored |= _names(t)      # a subscript target: keep the order strictly
    return [ast.Assign([t], v) for t, v in pairs]


def _map_blocks(stmts, fn):
    """Apply ``fn`` (list → list) to every statement list, innermost first; each list is
    updated in place (and returned)."""
    for s in stmts:
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _map_blocks(inner, fn)
                if not inner:
                    inner.append(ast.Pass())
    stmts[:] = fn(stmts)
    return stmts


def _counts(stmts):
    loads: dict[str, int] = {}
    stores: dict[str, int] = {}
    for node in _name_nodes(stmts):
        d = loads if type(node.ctx) is ast.Load else stores
        d[node.id] = d.get(node.id, 0) + 1
    return loads, stores


def _forward(stmts, temporary):
    """Substitute a temporary assigned once and read once, later in the same block, by its
    value — when nothing in between rebinds or mutates a name the value reads."""
    changed = True
    while changed:
        changed = False
        loads, stores = _counts(stmts)
        seen: dict[int, tuple] = {}     # a statement's names, read once per pass (below)

        def one_block(block):
            nonlocal changed
            i = 0
            while i < len(block):
                s = block[i]
                if (isinstance(s, ast.Assign) and len(s.targets) == 1
                        and isinstance(s.targets[0], ast.Name) and temporary(s.targets[0].id)
                        and stores.get(s.targets[0].id) == 1
                        and loads.get(s.targets[0].id) == 1
                        and _pure_value(s.value)
                        and _forwarded_into(block, i, s.targets[0].id, s.value, seen)):
                    del block[i]
                    changed = True
                    continue
                i += 1
            return block

        _map_blocks(stmts, one_block)
    return stmts


def _statement_names(u, seen):
    """(names ``u`` reads, names it binds or deletes, names whose objects it may mutate),
    kept in ``seen`` under the statement's identity until the statement is changed."""
    hit = seen.get(id(u))
    if hit is None or hit[0] is not u:
        hit = seen[id(u)] = (u, *_reads_writes(u), _mutates(u))
    return hit[1:]


def _forwarded_into(block, i, name, value, seen):
    reads = _names(value)
    for j in range(i + 1, len(block)):
        u = block[j]
        loaded, bound, mutated = _statement_names(u, seen)
        if name in loaded:
            if not isinstance(u, (ast.Assign, ast.Expr, ast.Return)) or u.value is None \
                    or name not in _names(u.value):
                return False
            u.value = _Subst({name: value}).visit(u.value)
            del seen[id(u)]
            block[j:j + 1] = _split(u)
            return True
        if bound & reads or mutated & reads:
            return False
    return False


def _is_pure(call):
    """Calls that come from inlined (pure, by contract) functions carry the mark."""
    return getattr(call, "_pure", False)


def _pure_value(node):
    return all(_is_pure(c) for c in _walk(node) if isinstance(c, ast.Call))


_IN_PLACE = {"fill", "sort", "put", "resize", "partition", "itemset", "setfield", "copy_",
             "add_", "sub_", "mul_", "div_", "clamp_", "zero_", "fill_"}


def _base_name(node):
    """{n} for ``n``, ``n[…]``, ``n.attr`` (the object written through), else ∅ (a fresh value)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _mutates(stmt):
    """Names whose objects ``stmt`` may mutate: the bases of subscript and attribute targets,
    augmented-assignment targets (``r -= 1`` on an array), ``out=`` arguments, receivers of
    in-place methods, and the receiver and plain-name arguments of every call not known to be
    pure (the function's own calls, not inlined ones: ``cos.append(…)`` may change ``cos``,
    ``write(REC, …)`` may change ``REC``)."""
    out = set()
    for node in _walk(stmt):
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
                node.ctx, (ast.Store, ast.Del)):
            out |= _names(node.value)
        elif isinstance(node, ast.AugAssign):
            out |= _base_name(node.target)
        elif isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg == "out":
                    out |= _base_name(k.value)
            if isinstance(node.func, ast.Attribute) and node.func.attr in _IN_PLACE:
                out |= _base_name(node.func.value)
            if not _is_pure(node):
                for a in node.args + [k.value for k in node.keywords]:
                    if isinstance(a, ast.Name):
                        out.add(a.id)
                if isinstance(node.func, ast.Attribute):
                    out |= _names(node.func.value)
    return out


class _Subst(_Transformer):
    """Replace reads of names by expressions; ``count`` says how many were replaced."""

    def __init__(self, mapping):
        self.mapping = mapping
        self.count = 0

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.mapping:
            self.count += 1
            return _clone(self.mapping[node.id])
        return node


def _dce(stmts, keep):
    """Drop assignments to names nobody reads (repeatedly); ``keep``: names never dropped."""
    # a name the function deletes is used by that `del` (dropping its assignment would leave
    # the `del` to raise UnboundLocalError)
    keep = set(keep) | {n.id for n in _name_nodes(stmts) if type(n.ctx) is ast.Del}
    changed = True
    while changed:
        changed = False
        loads, _ = _counts(stmts)

        def one_block(block):
            nonlocal changed
            out = []
            for s in block:
                if isinstance(s, ast.Assign) and _pure_value(s.value) and all(
                        _dead(t, loads, keep) for t in s.targets):
                    changed = True
                    continue
                if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(
                        s.targets[0], ast.Name) and isinstance(s.value, ast.Name) and \
                        s.value.id == s.targets[0].id:
                    changed = True          # x = x
                    continue
                if isinstance(s, ast.Expr) and isinstance(s.value, (ast.Name, ast.Constant)):
                    changed = True
                    continue
                if isinstance(s, ast.Pass) and len(block) > 1:
                    continue
                out.append(s)
            return out or [ast.Pass()]

        _map_blocks(stmts, one_block)
    return stmts


def _dead(target, loads, keep):
    if isinstance(target, ast.Name):
        return target.id not in loads and target.id not in keep
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_dead(e, loads, keep) for e in target.elts)
    return False


def _hoist_invariants(stmts, protected, fresh):
    """Move what computes the same value at every iteration out of ``for`` loops: whole
    assignments, and the largest invariant operations inside the loop's other statements.

    Only the statements that run on every iteration qualify (those before the first one that
    can leave the iteration: ``break``, ``continue``, ``return``), and nothing inside a
    conditional expression, ``and``/``or`` or an ``if`` — so nothing is computed that the
    original would not have computed on the loop's first iteration.
    """
    _, stores = _counts(stmts)

    def one_block(block):
        out = []
        for s in block:
            if isinstance(s, ast.For):
                out += _hoist_from(s, stores, protected, fresh)
            out.append(s)
        return out

    return _map_blocks(stmts, one_block)


def _always_run(body):
    """The leading statements of a loop body that run on every iteration."""
    for k, s in enumerate(body):
        if any(isinstance(n, (ast.Break, ast.Continue, ast.Return)) for n in _walk(s)):
            return body[:k]
    return list(body)


def _hoist_from(loop, stores, protected, fresh):
    variant = _names(loop.target, ast.Store)
    for node in _walk_body(loop.body):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            variant.add(node.id)
    mutated = set()
    for s in loop.body:
        mutated |= _mutates(s)
    variant |= mutated
    hoisted = []

    def invariant(node):
        return _pure_value(node) and not (_names(node) & variant)

    moved = True
    while moved:
        moved = False
        for s in _always_run(loop.body):
            if (isinstance(s, ast.Assign) and len(s.targets) == 1
                    and isinstance(s.targets[0], ast.Name)
                    and stores.get(s.targets[0].id) == 1
                    and s.targets[0].id not in protected
                    and s.targets[0].id not in mutated and invariant(s.value)):
                loop.body.remove(s)
                hoisted.append(s)
                variant.discard(s.targets[0].id)
                moved = True

    def take(node):
        """An operator's operand: hoisted when invariant (an operand is only read, so the
        value hoisted is never changed in place)."""
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call)) \
                and invariant(node):
            name = fresh()
            hoisted.append(ast.Assign([ast.Name(name, ast.Store())], node))
            return ast.Name(name, ast.Load())
        return node

    extract = _Extract(take)
    for s in _always_run(loop.body):
        if isinstance(s, (ast.Assign, ast.Expr, ast.AugAssign)) and s.value is not None:
            s.value = extract.visit(s.value)
    loop.body = loop.body or [ast.Pass()]
    return hoisted


class _Extract(_Transformer):
    """Operands of operators replaced by ``take(operand)``, inner operators first (outside
    conditional parts)."""

    def __init__(self, take):
        self.take = take

    def generic_visit(self, node):
        if isinstance(node, _OPAQUE_EXPR):
            return node
        node = super().generic_visit(node)
        take = self.take
        if isinstance(node, ast.BinOp):
            node.left, node.right = take(node.left), take(node.right)
        elif isinstance(node, ast.UnaryOp):
            node.operand = take(node.operand)
        elif isinstance(node, ast.Compare):
            node.left = take(node.left)
            node.comparators = [take(c) for c in node.comparators]
        return node


def _propagate_copies(stmts, temporary):
    """Remove copies between names, as a register allocator coalesces them.

    * forward: after ``t = n`` (``t`` a temporary), read ``n`` where ``t`` is read — up to the
      next assignment to ``t`` or to ``n``; the copy goes when no read of it is left;
    * backward: ``t = e; …; n = t`` (``t`` assigned and read only there, ``n`` neither read nor
      assigned in between) becomes ``n = e; …`` with ``n`` read for ``t``.
    """
    for _ in range(3):
        loads, stores = _counts(stmts)
        changed = [False]
        _map_blocks(stmts, lambda block: _forward_copies(block, temporary, loads, changed))
        _map_blocks(stmts, lambda block: _coalesce(block, temporary, loads, stores, changed))
        if not changed[0]:
            break
    return stmts


def _is_copy(s):
    return (isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Name)
            and s.targets[0].id != s.value.id)


def _substitute(node, t, n, loads):
    """Read name ``n`` for ``t`` in ``node``, keeping the read counts up to date."""
    sub = _Subst({t: ast.Name(n, ast.Load())})
    node = sub.visit(node)
    loads[t] = loads.get(t, 0) - sub.count
    loads[n] = loads.get(n, 0) + sub.count
    return node


def _forward_copies(block, temporary, loads, changed):
    both = [_reads_writes(u) for u in block]                # per statement, kept current
    reads = [r for r, _ in both]
    writes = [w for _, w in both]
    i = 0
    while i < len(block):
        s = block[i]
        if not (_is_copy(s) and temporary(s.targets[0].id)):
            i += 1
            continue
        t, n = s.targets[0].id, s.value.id
        killed = False
        for j in range(i + 1, len(block)):
            u = block[j]
            if t in writes[j] or n in writes[j]:
                simple = isinstance(u, ast.Assign) and all(
                    isinstance(x, (ast.Name, ast.Tuple)) for x in u.targets)
                if simple and t in reads[j]:   # its value is read before anything is stored
                    u.value = _substitute(u.value, t, n, loads)
                    reads[j] = _names(u)
                killed = (simple and t in writes[j] and n not in writes[j]
                          and not any(_count_loads(x, t) for x in u.targets))
                break
            if t in reads[j]:
                block[j] = _substitute(u, t, n, loads)
                reads[j] = (reads[j] - {t}) | {n}
        if killed or loads.get(t, 0) <= 0:
            del block[i], reads[i], writes[i]
            loads[n] = loads.get(n, 0) - 1
            changed[0] = True
            continue
        i += 1
    return block


def _coalesce(block, temporary, loads, stores, changed):
    both = [_reads_writes(u) for u in block]
    reads = [r for r, _ in both]
    writes = [w for _, w in both]
    k = 0
    while k < len(block):
        s = block[k]
        if not (_is_copy(s) and temporary(s.value.id) and stores.get(s.value.id) == 1):
            k += 1
            continue
        n, t = s.targets[0].id, s.value.id
        i = next((j for j in range(k - 1, -1, -1) if t in writes[j]), None)
        if (i is None or not (isinstance(block[i], ast.Assign) and len(block[i].targets) == 1
                              and isinstance(block[i].targets[0], ast.Name))
                or t in reads[i]
                or sum(_count_loads(block[j], t) for j in range(i + 1, k + 1)
                       if t in reads[j]) != loads.get(t, 0)
                or any(n in reads[j] or n in writes[j] for j in range(i + 1, k))):
            k += 1
            continue
        # t is assigned once (block[i]) and read only up to the copy, n is untouched in
        # between: assign n directly and read n for t
        block[i].targets[0].id = n
        writes[i] = (writes[i] - {t}) | {n}
        for j in range(i + 1, k):
            if t in reads[j]:
                block[j] = _substitute(block[j], t, n, loads)
                reads[j] = (reads[j] - {t}) | {n}
        del block[k], reads[k], writes[k]
        loads[t] = 0
        stores[t] = 0
        changed[0] = True
    return block


def _scalar_replace(stmts, fresh):
    """Replace a tuple that is built only to be taken apart by its elements.

    ``t = (e0, e1, …)`` (assigned once) whose every read is ``… = t`` (unpacked, same length)
    or ``t[k]`` (a constant index), all later in the same block and before any of the
    elements' names is assigned again: the reads take the elements, each element that is
    not a name or constant is computed once into a temporary first, and the tuple is never
    built.
    """
    loads, stores = _counts(stmts)

    def one_block(block):
        i = 0
        while i < len(block):
            s = block[i]
            if (isinstance(s, ast.Assign) and len(s.targets) == 1
                    and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Tuple)
                    and stores.get(s.targets[0].id) == 1
                    and not any(isinstance(e, ast.Starred) for e in s.value.elts)):
                fields = getattr(s.value, "_namedtuple", (None, ()))[1]
                pre = _take_apart(block, i, s.targets[0].id, s.value.elts, loads, fresh,
                                  fields)
                if pre is not None:
                    block[i:i + 1] = pre
                    i += len(pre)
                    continue
            i += 1
        return block

    return _map_blocks(stmts, one_block)


def _take_apart(block, i, name, elts, loads, fresh, fields=()):
    n = len(elts)
    reads = set()
    for e in elts:
        reads |= _names(e)
    uses = []                         # (statement index, kind)
    for j in range(i + 1, len(block)):
        u = block[j]
        count = _count_loads(u, name)
        if count and not isinstance(u, (ast.Assign, ast.Expr, ast.Return, ast.AugAssign)) \
                and _names(u, (ast.Store, ast.Del)) & reads:
            return None                # read and rebound inside one compound statement
        if count:
            if (isinstance(u, ast.Assign) and isinstance(u.value, ast.Name)
                    and u.value.id == name and len(u.targets) == 1
                    and isinstance(u.targets[0], (ast.Tuple, ast.List))
                    and len(u.targets[0].elts) == n
                    and not any(isinstance(e, ast.Starred) for e in u.targets[0].elts)
                    and count == 1):
                uses.append((j, "unpack"))
            else:
                subs = [x for x in _walk(u) if isinstance(x, ast.Subscript)
                        and isinstance(x.value, ast.Name) and x.value.id == name
                        and isinstance(x.slice, ast.Constant) and type(x.slice.value) is int
                        and -n <= x.slice.value < n]
                attrs = [x for x in _walk(u) if isinstance(x, ast.Attribute)
                         and isinstance(x.value, ast.Name) and x.value.id == name
                         and x.attr in fields]
                if len(subs) + len(attrs) != count:
                    return None
                uses.append((j, "index"))
        if _names(u, (ast.Store, ast.Del)) & (reads | {name}) or _mutates(u) & reads:
            break
    if sum(_count_loads(block[j], name) for j, _ in uses) != loads.get(name, 0):
        return None
    pre, parts = [], []
    for e in elts:
        if isinstance(e, (ast.Name, ast.Constant)):
            parts.append(e)
        else:
            tmp = fresh()
            pre.append(ast.Assign([ast.Name(tmp, ast.Store())], e))
            parts.append(ast.Name(tmp, ast.Load()))

    class Index(_Transformer):
        def visit_Subscript(self, node):
            self.generic_visit(node)
            if isinstance(node.value, ast.Name) and node.value.id == name:
                return _clone(parts[node.slice.value])
            return node

        def visit_Attribute(self, node):
            self.generic_visit(node)
            if isinstance(node.value, ast.Name) and node.value.id == name \
                    and node.attr in fields:
                return _clone(parts[fields.index(node.attr)])
            return node

    for j, kind in uses:
        if kind == "unpack":
            block[j].value = ast.Tuple([_clone(p) for p in parts], ast.Load())
            split = _split(block[j])
            block[j] = split[0] if len(split) == 1 else ast.If(
                test=ast.Constant(True), body=split, orelse=[])
        else:
            block[j] = Index().visit(block[j])
    loads[name] = 0
    return pre


def _count_loads(node, name):
    return sum(1 for x in _name_nodes(node) if x.id == name and type(x.ctx) is ast.Load)


# ------------------------------------------------------------------------------------------
# the specialiser
# ------------------------------------------------------------------------------------------

class _Specializer:
    def __init__(self, top: _Source):
        self.top = top
        self.globals: dict[str, Any] = {}          # generated name → object
        self.by_id: dict[int, str] = {}            # id(object) → generated name
        self.counter = itertools.count()
        #: id(function) → (the function, kept alive so that its id stays its own; its source or
        #: why it cannot be specialised)
        self.sources: dict[int, tuple[Any, _Source | NotSpecializable]] = {}
        self.reserved = set(top.locals)
        self.fallbacks: list[str] = []

    # names ---------------------------------------------------------------------------------
    def ref(self, value, hint):
        lit = _literal(value)
        if lit is not None:
            return lit
        key = id(value)
        if key in self.by_id:
            return ast.Name(self.by_id[key], ast.Load())
        name = hint
        if name.startswith("_s"):
            name = "g" + name
        while name in self.globals or name in self.reserved:
            name = f"{hint}_{len(self.globals)}"
        self.globals[name] = value
        self.by_id[key] = name
        return ast.Name(name, ast.Load())

    def source(self, fn):
        key = id(fn)
        if key not in self.sources:
            try:
                self.sources[key] = (fn, _Source(fn, callee=True))
            except NotSpecializable as exc:
                self.sources[key] = (fn, exc)
        return self.sources[key][1]

    def rename(self, src, stmts, prefix, subst):
        """A copy of ``src``'s statements ``stmts`` (left as they are) with its locals renamed
        ``prefix`` + name, its parameters in ``subst`` replaced by their arguments and its free
        names by references; a callee's calls (``prefix`` not empty) are marked pure."""
        return [_Rename(self, src, prefix, subst).visit(s) for s in stmts]

    # inlining ------------------------------------------------------------------------------
    def callee(self, call):
        """The function object a call refers to, when it can be inlined (else None)."""
        if not isinstance(call.func, ast.Name) or call.func.id not in self.globals:
            return None
        fn = self.globals[call.func.id]
        if isinstance(fn, type):
            return None
        fn = marked_function(fn)
        if fn is None:
            return None
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords):
            return None
        src = self.source(fn)
        if isinstance(src, Exception):
            self.fallback(fn, src)
            return None
        return fn

    def fallback(self, fn, reason):
        """A marked lane function stays a call: say so (once per function)."""
        text = f"{getattr(fn, '__qualname__', fn)!s} stays a call: {reason}"
        if text not in self.fallbacks:
            self.fallbacks.append(text)

    def tuple_display(self, call):
        """``NamedTupleClass(a, b, …)`` (all positional) as the tuple display ``(a, b, …)``."""
        if not isinstance(call.func, ast.Name) or call.func.id not in self.globals:
            return None
        cls = self.globals[call.func.id]
        if (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")
                and not call.keywords and len(call.args) == len(cls._fields)
                and not any(isinstance(a, ast.Starred) for a in call.args)):
            display = ast.Tuple(list(call.args), ast.Load())
            display._namedtuple = (call.func.id, cls._fields)   # for field reads, and rebuilding
            return display
        return None

    def inline(self, call, fn, emit, depth):
        src = self.source(fn)
        bound = dict(zip(src.params, call.args))
        if len(call.args) > len(src.params):
            raise NotSpecializable("too many arguments")
        for k in call.keywords:
            if k.arg not in src.params or k.arg in bound:
                raise NotSpecializable(f"bad keyword {k.arg!r}")
            bound[k.arg] = k.value
        prefix = f"_s{next(self.counter)}_"
        stmts, subst = [], {}
        for p in src.params:
            if p in bound:
                arg = bound[p]
            elif p in src.defaults:
                arg = self.ref(src.defaults[p], f"{fn.__name__}_{p}")
            else:
                raise NotSpecializable(f"{fn.__qualname__}: missing argument {p!r}")
            if p not in src.stored and isinstance(arg, (ast.Name, ast.Constant)):
                subst[p] = arg
            else:
                stmts.append(ast.Assign([ast.Name(prefix + p, ast.Store())], arg))
        body = self.rename(src, src.body, prefix, subst)
        body = _fold_block(body)
        stmts += _lift(body, emit)
        return self.block(stmts, depth + 1)

    def block(self, stmts, depth):
        out = []
        for s in stmts:
            out += self.statement(s, depth)
        return out

    def hoist_calls(self, node, depth, pre):
        """Replace inlinable calls in an expression (outside conditional parts) by temporaries
        whose computation is appended to ``pre``, inner calls first."""
        return _HoistCalls(self, depth, pre).visit(node)

    def statement(self, s, depth):
        pre = []
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.value, ast.Call):
            call = s.value
            call.args = [self.hoist_calls(a, depth, pre) for a in call.args]
            for k in call.keywords:
                k.value = self.hoist_calls(k.value, depth, pre)
            display = self.tuple_display(call)
            if display is not None:
                s.value = display
                return pre + _split(s)
            fn = self.callee(call) if depth < MAX_DEPTH else None
            if fn is not None:
                try:
                    return pre + self.inline(call, fn, _assign_to(s.targets[0]), depth)
                except NotSpecializable as exc:
                    self.fallback(fn, exc)
            return pre + [s]
        if isinstance(s, ast.If):
            s.test = self.hoist_calls(s.test, depth, pre)
            s.body = self.block(s.body, depth) or [ast.Pass()]
            s.orelse = self.block(s.orelse, depth)
            return pre + [s]
        if isinstance(s, (ast.For, ast.AsyncFor)):
            s.iter = self.hoist_calls(s.iter, depth, pre)
            s.body = self.block(s.body, depth) or [ast.Pass()]
            s.orelse = self.block(s.orelse, depth)
            return pre + [s]
        if isinstance(s, ast.While):
            s.body = self.block(s.body, depth) or [ast.Pass()]
            s.orelse = self.block(s.orelse, depth)
            return [s]
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Return)):
            if getattr(s, "value", None) is not None:
                s.value = self.hoist_calls(s.value, depth, pre)
            return pre + _split(s)
        return [s]


class _HoistCalls(_Transformer):
    """:meth:`_Specializer.hoist_calls`."""

    def __init__(self, spec, depth, pre):
        self.spec, self.depth, self.pre = spec, depth, pre

    def visit_Call(self, call):
        self.generic_visit(call)
        spec = self.spec
        display = spec.tuple_display(call)
        if display is not None:
            return display
        fn = spec.callee(call) if self.depth < MAX_DEPTH else None
        if fn is None:
            return call
        tmp = f"_s{next(spec.counter)}_r"
        try:
            self.pre.extend(spec.inline(call, fn, _assign_to(ast.Name(tmp, ast.Store())),
                                        self.depth))
        except NotSpecializable as exc:
            spec.fallback(fn, exc)
            return call
        return ast.Name(tmp, ast.Load())

    def generic_visit(self, node):
        if isinstance(node, _OPAQUE_EXPR):
            return node
        return super().generic_visit(node)


def _assign_to(target):
    def emit(value):
        return _split(ast.Assign([_clone(target)], value))
    return emit


def _fold_block(stmts):
    folder = _Fold()
    out = []
    for s in stmts:
        r = folder.visit(s)
        if isinstance(r, list):
            out += r
        elif r is not None:
            out.append(r)
    return out


def specialize(fn, *, hoist: bool = True):
    """One flat function computing what ``fn`` computes (see the module docstring)."""
    top = _Source(fn, callee=False)
    spec = _Specializer(top)
    body = spec.rename(top, top.body, "", {})
    body = _fold_block(body)
    body = spec.block(body, 0)

    def temporary(name):
        return name.startswith("_s")

    body = _forward(body, temporary)
    fresh = itertools.count()
    body = _scalar_replace(body, lambda: f"_s_e{next(fresh)}")
    body = _fold_block(body)           # the `if True:` holding split unpackings
    body = _propagate_copies(body, temporary)
    body = _fold_block(body)           # what forwarding made constant
    body = _map_blocks(body, _index_unpacks)
    keep = set(top.params)
    body = _dce(body, keep)
    if hoist:
        invariants = itertools.count()
        body = _hoist_invariants(body, set(top.params), lambda: f"_s_inv{next(invariants)}")
    body = [_Rebuild().visit(s) for s in body]
    node = ast.FunctionDef(
        name=fn.__name__,
        args=_plain_args(top.params),
        body=body or [ast.Pass()], decorator_list=[], returns=None, type_comment=None)
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    text = ast.unparse(module) + "\n"
    filename = f"<specialized {fn.__qualname__} {next(_FILES)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = dict(spec.globals)
    namespace["__builtins__"] = builtins
    # the function's module is the original's (numba's on-disk cache imports it by name when
    # it loads a kernel compiled from the flat function)
    namespace["__name__"] = fn.__module__
    exec(compile(text, filename, "exec"), namespace)     # noqa: S102 - our own generated code
    new = namespace[fn.__name__]
    new.__defaults__ = fn.__defaults__
    new.__doc__ = fn.__doc__
    new.__qualname__ = fn.__qualname__
    new.__specialized_source__ = text
    new.__wrapped__ = fn
    new.__specialization_fallbacks__ = tuple(spec.fallbacks)
    return new


def _index_unpacks(block):
    """``a, b, … = n`` (n a name: a tuple built elsewhere, e.g. a ``NamedTuple`` read from a
    list) → ``a = n[0]; b = n[1]; …``, so that the elements nobody reads are dropped and a
    tuple subclass is not unpacked element by element through its iterator (CPython's fast
    unpacking takes exact tuples only). Lane code unpacks tuples of the right length: the
    length check of the unpacking is the only thing given up."""
    out = []
    for s in block:
        if (isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Tuple) and isinstance(s.value, ast.Name)
                and len(s.targets[0].elts) > 2
                and all(isinstance(e, ast.Name) for e in s.targets[0].elts)
                and s.value.id not in {e.id for e in s.targets[0].elts}):
            source = s.value.id
            for k, e in enumerate(s.targets[0].elts):
                out.append(ast.Assign([ast.Name(e.id, ast.Store())],
                                      ast.Subscript(ast.Name(source, ast.Load()),
                                                    ast.Constant(k), ast.Load())))
            continue
        out.append(s)
    return out


class _Rebuild(_Transformer):
    """A ``NamedTuple`` display that was not taken apart is built as the ``NamedTuple`` again
    (so that field reads of it, here or by whoever receives it, keep working)."""

    def visit_Tuple(self, node):
        self.generic_visit(node)
        tagged = getattr(node, "_namedtuple", None)
        if tagged is None or not isinstance(node.ctx, ast.Load):
            return node
        return ast.Call(func=ast.Name(tagged[0], ast.Load()), args=node.elts, keywords=[])


def flatten(fn, notes: list[str]):
    """``specialize(fn)``, or ``fn`` itself where it cannot be read; every fallback (the whole
    function, or a lane function inside it that stays a call) is appended to ``notes``."""
    try:
        new = specialize(fn)
    except NotSpecializable as exc:
        notes.append(f"specialisation of {fn.__qualname__} fell back to the plain functions: "
                     f"{exc}")
        return fn
    for text in new.__specialization_fallbacks__:
        notes.append(f"specialisation of {fn.__qualname__}: {text}")
    return new


_FILES = itertools.count()
