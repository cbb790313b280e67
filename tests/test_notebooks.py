"Every notebook (nbs/ and index.ipynb) executes under nbdev's tester, so one pytest run is the whole verdict."
import configparser, contextlib, io
import pytest
from nbdev.test import test_nb as run_nb
from conftest import ROOT

cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
SKIP = cfg['DEFAULT'].get('tst_flags', '').split('|')
NOTEBOOKS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb')) + [ROOT/'index.ipynb']

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(nb):
    err = io.StringIO()
    with contextlib.redirect_stderr(err): ok, secs = run_nb(nb, skip_flags=SKIP)
    assert ok, f'{nb.name} failed:\n{err.getvalue()}'
