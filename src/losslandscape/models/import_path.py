"""A model of the user's own, named by import path ``package.module:factory`` (config
``model.name``): where its source lies, and a digest of that source and of the modules of
the same project it imports, so that editing them reruns training and nothing upstream.

The factory is called as ``factory(activation, input_shape, n_classes, **kwargs)``:

- ``activation``: a zero-argument callable returning a fresh activation module
  (``nn.ReLU()``, …), to call at every place the architecture has an activation;
- ``input_shape``: one sample's input shape, a tuple (``(40,)``, ``(3, 32, 32)``);
- ``n_classes``: the data set's class count, the length of the logits it must return;
- ``kwargs``: the config's ``model.kwargs``.

It returns an ``nn.Module`` mapping inputs ``(batch, *input_shape)`` to logits
``(batch, n_classes)``; its parameters are initialized from torch's global generator,
which training seeds per run.

The module is looked up under the working directory first (a study's own folder, where
Snakemake runs every job), then on ``sys.path`` (an installed package). Standard library
only: the workflow loads this file by path while planning, before importing torch.
"""

import ast
import hashlib
import os
import re
import sys
from pathlib import Path

# ``package.module:factory``: dotted Python identifiers, a colon, one identifier
IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


def is_import_path(name: str) -> bool:
    """Whether model name ``name`` is an import path ``package.module:factory``."""
    return re.match(IMPORT_PATH, name) is not None


def search_roots() -> list[Path]:
    """Where a model's module is looked up, in order: the working directory, then
    ``sys.path`` (empty entries meaning the working directory too)."""
    roots = [Path.cwd()]
    for entry in sys.path:
        root = Path(entry or os.curdir).resolve()
        if root.is_dir() and root not in roots:
            roots.append(root)
    return roots


def _file_under(root: Path, module: str) -> Path | None:
    candidate = root.joinpath(*module.split("."))
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_source(module: str, roots: list[Path] | None = None) -> tuple[Path, Path]:
    """``(root, file)``: the source file of ``module`` and the search root it lies under
    (:func:`search_roots` by default).

    Raises:
        ValueError: no root holds ``module`` as ``a/b.py`` or ``a/b/__init__.py``; the
            message names the module, the files looked for and the roots.
    """
    roots = search_roots() if roots is None else roots
    for root in roots:
        found = _file_under(root, module)
        if found is not None:
            return root, found
    relative = Path(*module.split("."))
    shown = ", ".join(str(r) for r in roots[:3]) + (", …" if len(roots) > 3 else "")
    raise ValueError(
        f"module {module!r}: expected {relative}.py or {relative / '__init__.py'} under the "
        f"working directory or on sys.path; found neither under {shown}"
    )


def _imports(path: Path, package: str | None) -> set[str]:
    """Module names ``path`` imports (absolute, and relative ones resolved against
    ``package``, the dotted package ``path`` belongs to), with the ``a.b.c`` of each
    ``from a.b import c`` since ``c`` may be a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = (package or "").split(".")
                parent = parts[: len(parts) - (node.level - 1)] if package else []
                base = ".".join([*parent, *([base] if base else [])])
            if base:
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def source_files(module: str, roots: list[Path] | None = None) -> list[Path]:
    """The source of ``module`` and of every module it imports, transitively, that lies
    under the same search root (the user's project; installed libraries such as torch
    lie elsewhere and are left out), with the ``__init__.py`` of their packages, which
    Python runs first. Raises as :func:`module_source`."""
    root, first = module_source(module, roots)
    seen: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        path = first if name == module else _file_under(root, name)
        if name in seen or path is None:
            continue
        seen[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        pending.extend(_imports(path, package or None))
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return sorted(set(seen.values()))


def source_digest(module: str, roots: list[Path] | None = None) -> str:
    """sha256 over :func:`source_files` (their paths relative to the root, and contents),
    hex, 16 characters: a rule's params entry, so an edit reruns the rule."""
    root, _ = module_source(module, roots)
    digest = hashlib.sha256()
    for path in source_files(module, roots):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
