"""Execute the notebooks in ``notebooks/`` with nbclient, each in its own working directory.

Used by ``test_notebooks.py``; run it as a script to refresh the outputs committed with the notebooks::

    python tests/notebooks/notebook_runner.py                  # every notebook
    python tests/notebooks/notebook_runner.py 02_registry_production_rollback.ipynb

(Needs ``nbclient``, ``nbformat`` and ``ipykernel``.) Each notebook runs in a fresh temporary folder,
so the stores it creates never land in the repository.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT_S = 240


def notebook_paths() -> list[Path]:
    """The committed notebooks, in order."""
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def execute(path: Path, workdir: Path, cell_timeout: int = CELL_TIMEOUT_S) -> tuple[Any, float]:
    """Run every cell of ``path`` with ``workdir`` as the kernel's working directory.

    Returns:
        `tuple[nbformat.NotebookNode, float]`: the executed notebook and the seconds it took.

    Raises:
        `nbclient.exceptions.CellExecutionError`: a cell raised; the message holds the traceback.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


def stream_text(nb: Any) -> str:
    """Everything the cells printed (stdout and stderr), concatenated."""
    return "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def refresh(names: list[str]) -> None:
    """Re-execute notebooks and write them back with their outputs."""
    import nbformat

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for path in notebook_paths():
        if names and path.name not in names:
            continue
        with tempfile.TemporaryDirectory(prefix=f"nbrun-{path.stem}-") as tmp:
            nb, seconds = execute(path, Path(tmp))
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path.name}: executed in {seconds:.1f} s")


if __name__ == "__main__":
    refresh(sys.argv[1:])
