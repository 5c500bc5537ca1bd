"""A model of the user's own, named by import path ``package.module:factory`` (config
``model.name``): where its source lies, and a digest of that source and of the modules of
the same project it imports, so that editing them reruns training and nothing upstream.

The factory is called by keyword, as
``factory(activation=…, input_shape=…, n_classes=…, **kwargs)``:

- ``activation``: a zero-argument callable returning a fresh activation module
  (``nn.ReLU()``, …), to call at every place the architecture has an activation;
- ``input_shape``: one sample's input shape, a tuple (``(40,)``, ``(3, 32, 32)``);
- ``n_classes``: the data set's class count, the length of the logits it must return;
- ``kwargs``: the config's ``model.kwargs``.

It returns an ``nn.Module`` mapping inputs ``(batch, *input_shape)`` to logits
``(batch, n_classes)``, which every build checks (a forward pass of 2 zero inputs), as it
checks that the factory called ``activation()`` (else every activation would train the
same network); its parameters are initialized from torch's global generator, which
training seeds per run. The inputs are the data set's, standardized with the training
set's mean and standard deviation (per channel for colour images).

The module is looked up under the working directory first (a study's own folder, where
Snakemake runs every job), then under the ``PYTHONPATH`` entries, then in the Python
installation's site-packages (an installed package). The same roots at planning and in
every job: Snakemake's own ``sys.path`` additions (the Snakefile's folder) are not among
them. Standard library only: the workflow loads this file by path while planning, before
importing torch.
"""

import ast
import hashlib
import importlib.metadata
import os
import re
import site
import sysconfig
from pathlib import Path

# ``package.module:factory``: dotted Python identifiers, a colon, one identifier
IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


def is_import_path(name: str) -> bool:
    """Whether model name ``name`` is an import path ``package.module:factory``."""
    return re.match(IMPORT_PATH, name) is not None


def installed_roots() -> list[Path]:
    """The Python installation's site-packages folders (installed packages)."""
    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"], *site.getsitepackages()]
    return list(dict.fromkeys(Path(p).resolve() for p in found if Path(p).is_dir()))


def search_roots() -> list[Path]:
    """Where a model's module is looked up, in order: the working directory, the
    ``PYTHONPATH`` entries, then :func:`installed_roots`."""
    entries = [Path.cwd(), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    roots = [Path(e).resolve() for e in entries if e and Path(e).is_dir()]
    return list(dict.fromkeys([*roots, *installed_roots()]))


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
    Python runs first. A module of an installed package (under :func:`installed_roots`)
    is its own file only: its package's version stands for the rest
    (:func:`source_digest`). Raises as :func:`module_source`."""
    root, first = module_source(module, roots)
    if root in installed_roots():
        return [first]
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


def _installed_version(module: str) -> str:
    """The version of the distribution that installs ``module``'s top-level package, or
    ``""`` where none is recorded."""
    top = module.split(".")[0]
    names = importlib.metadata.packages_distributions().get(top, [])
    return ",".join(f"{name} {importlib.metadata.version(name)}" for name in sorted(set(names)))


def source_digest(module: str, roots: list[Path] | None = None) -> tuple[list[Path], str]:
    """:func:`source_files` and the sha256 over them (their paths relative to the root,
    and contents; for an installed package, with its version), hex, 16 characters: a
    rule's params entry, so an edit reruns the rule."""
    root, _ = module_source(module, roots)
    files = source_files(module, roots)
    digest = hashlib.sha256()
    if root in installed_roots():
        digest.update(_installed_version(module).encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return files, digest.hexdigest()[:16]


def _top_level_names(path: Path) -> set[str] | None:
    """The names a module's source binds at its top level (functions, classes, assignments,
    imports), or None where it cannot be told without running it (a star import, a
    module-level ``__getattr__``)."""
    names = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return None
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return None if "__getattr__" in names else names


def check_import_path(name: str, roots: list[Path] | None = None) -> Path:
    """The source file of model ``name`` = ``package.module:factory``, after checking,
    without importing anything, that it exists and binds ``factory`` at its top level.

    Raises:
        ValueError: no such module (as :func:`module_source`), or a module that binds no
            ``factory`` (naming the callables it does define).
    """
    module, factory = name.split(":")
    _, path = module_source(module, roots)
    names = _top_level_names(path)
    if names is not None and factory not in names:
        public = sorted(n for n in names if not n.startswith("_"))
        raise ValueError(
            f"expected {factory} (the model's factory) at the top level of {path}; found "
            f"{', '.join(public) if public else 'no names'}"
        )
    return path
