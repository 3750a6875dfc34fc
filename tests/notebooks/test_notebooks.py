"""Every notebook in notebooks/ runs top to bottom in a real kernel, and says what it claims."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def run_notebook(path: Path, workdir: Path) -> nbformat.NotebookNode:
    copy = workdir / path.name
    shutil.copy(path, copy)
    shutil.copytree(path.parent / "data", workdir / "data")
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        store_widget_state=False,  # as a notebook saved without widget state
    )
    client.execute()
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = run_notebook(path, tmp_path)
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
    text = text_of(notebook)
    if path.name == "01-quickstart.ipynb":
        assert "resumed at epoch 15" in text and "resumed at epoch 30" in text
        assert "done: w =" in text
        assert "simulated crash at epoch 15" in text
        assert "EXITED exit status 0" in text
    if path.name == "03-restart-log-analysis.ipynb":
        assert "crashloop    FATAL" in text  # from the real supervisord.log
        assert "Kubernetes" not in text
    if path.name == "04-what-if.ipynb":
        assert "Kubernetes CrashLoopBackOff" in text and "PM2" in text
    if path.name == "02-supervisor-semantics.ipynb":
        assert "counts as a failed start whatever the exit code" in text
        assert "oneshot-fatal" in text and "restart-loop" in text
        assert "FATAL     Exited too quickly (process log may have details)" in text
        assert "tick 1" in text
        assert "stubborn: stopped" in text
        assert "terminated by SIGKILL" in text
        assert (tmp_path / ".nbsup").is_dir()
        # a plain nbconvert to HTML, without widget state, shows the views' static HTML
        page, _ = HTMLExporter().from_notebook_node(notebook)
        assert page.count('class="nbsup-card"') >= 4
        assert '<table class="nbsup-table">' in page
        assert 'data-state="FATAL"' in page


def test_the_quickstart_notebook_is_the_one_make_lab_opens() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "notebooks/01-quickstart.ipynb" in makefile
    assert any(p.name == "01-quickstart.ipynb" for p in NOTEBOOKS)
