"""The lessons that await, or call into asyncio, run in a real Jupyter kernel too.

`test_notebooks.py` runs every notebook under nbdev's tester (execnb), which has no event loop. A Jupyter kernel
has one running in every cell, so code that starts a loop of its own (`asyncio.run`) or must not block a running one
(`blocking`, `complete` from a cell) can pass there and fail for a user. These lessons run here in an ipykernel, as
JupyterLab, Notebook 7, VS Code and Colab run them; the cells nbdev's tester skips are skipped here too."""
import configparser, re
import nbclient, nbformat, pytest   # nbclient (and nbformat with it) come with the dev extras
from conftest import ROOT

cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
FLAGS = [f for f in cfg['DEFAULT'].get('tst_flags', '').split('|') if f] + ['eval: false']
ASYNC = ['00_core', '02_teachers', '02a_claude', '02c_openai', '03_calls', '03a_limits']
_directive = re.compile(r'^\s*#\s*\|\s*(.+?)\s*$')

def skipped(cell)->bool:
    "A cell nbdev's tester would skip (a tst_flags flag or `eval: false`), or the lesson's closing `nbdev_export()`."
    lines = cell.source.splitlines()
    heads = [m.group(1) for l in lines[:3] if (m := _directive.match(l))]
    return any(h in FLAGS for h in heads) or 'nbdev_export()' in cell.source

def test_skipped_reads_the_directives():
    cell = nbformat.v4.new_code_cell
    assert skipped(cell('#| eval: false\nClaudeTeacher()')) and skipped(cell('#| claude\nrun()'))
    assert skipped(cell('#| hide\nimport nbdev; nbdev.nbdev_export()'))
    assert not skipped(cell('#| export\ndef f(): pass')) and not skipped(cell('x = 1  # eval: false'))

@pytest.mark.parametrize('name', ASYNC)
def test_lesson_runs_in_a_kernel(name, monkeypatch):
    for k in ('ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY'): monkeypatch.delenv(k, raising=False)
    nb = nbformat.read(ROOT/'nbs'/f'{name}.ipynb', as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type != 'code' or not skipped(c)]
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                                     resources={'metadata': {'path': str(ROOT/'nbs')}})
    try: client.execute()
    except nbclient.exceptions.CellExecutionError as e: pytest.fail(f'{name} fails in a Jupyter kernel:\n{str(e)[-4000:]}')
