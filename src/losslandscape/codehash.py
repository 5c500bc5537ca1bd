"""Content digests of the package modules a stage depends on, so that Snakemake reruns the
rules whose code changed (Snakemake's own "code" rerun trigger hashes the rule's script
only, not the package modules that script imports).

Standard library only: the Snakefile loads this file by path at planning time, before
(and without) importing torch or the package.
"""

import ast
import hashlib
from pathlib import Path

PACKAGE = "losslandscape"
# Left out of every digest: the typed settings hold the config's defaults and descriptions,
# and the workflow passes every key to every stage, so no job's result depends on them
# (a changed description must not rerun the study)
UNHASHED = ("losslandscape.settings",)


def module_file(package_dir: Path, module: str) -> Path | None:
    """The source file of ``losslandscape.<...>`` under ``package_dir``, if it exists."""
    parts = module.split(".")[1:]
    candidate = package_dir.joinpath(*parts)
    for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(path: Path, package_dir: Path) -> set[str]:
    """Package modules a source file imports (``import x.y``, ``from x.y import z`` where
    ``x.y.z`` may itself be a module), at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {
            n
            for n in names
            if n.split(".")[0] == PACKAGE
            and not n.startswith(UNHASHED)
            and module_file(package_dir, n)
        }
    return found


def dependencies(package_dir: str | Path, module: str) -> list[Path]:
    """Source files of ``module`` and every package module it imports, transitively."""
    package_dir = Path(package_dir)
    seen: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        path = module_file(package_dir, name)
        if name in seen or path is None:
            continue
        seen[name] = path
        pending.extend(imported_modules(path, package_dir))
    return sorted(set(seen.values()))


def code_hash(package_dir: str | Path, module: str) -> str:
    """sha256 over the relative paths and contents of :func:`dependencies` (hex, 16 chars:
    a params entry, not a security digest)."""
    package_dir = Path(package_dir)
    digest = hashlib.sha256()
    for path in dependencies(package_dir, module):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
