"README.md is the rendered form of index.ipynb; they must agree."
import subprocess, sys
from conftest import ROOT

def test_readme_matches_index():
    r = subprocess.run([sys.executable, str(ROOT/'.ci'/'readme.py'), '--check'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr

def test_readme_has_the_two_commands():
    txt = (ROOT/'README.md').read_text()
    assert 'pip install -e ".[local]" && synthkit demo' in txt
    assert 'pip install -e ".[dev]" && pytest' in txt
