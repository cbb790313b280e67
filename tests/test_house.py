"The house rules that a reader of the code relies on: stages load no widgets, rooms stay small, methods are patched."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest
from conftest import ROOT

def python(code:str, cwd=None)->subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd, timeout=300)

def test_stage_modules_load_no_widgets():
    r = python("""
        import sys
        import synthkit.generate, synthkit.judge, synthkit.seeds, synthkit.cli
        import synthkit as sk
        assert callable(sk.generate) and callable(sk.judge)
        assert 'ipywidgets' not in sys.modules, 'a stage module imported ipywidgets'
        sk.SeedEditor                      # a widget loads on first use
        assert 'ipywidgets' in sys.modules
        print('ok')""")
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr

def test_synthkit_run_loads_no_widgets(tmp_path):
    (tmp_path/'writer.py').write_text(textwrap.dedent('''
        import itertools
        _n = itertools.count()
        def write(prompt):
            return "\\n".join(f"My card number {next(_n)} was blocked at the shop on day {next(_n)}, what now?" for _ in range(4))
    '''))
    r = python(f"""
        import sys, synthkit.cli
        code = synthkit.cli.main(['run', 'support_requests', '--teacher', 'scripted:writer.write', '--n', '18',
                                  '--out', {str(tmp_path/'out')!r}])
        assert not code, code
        assert 'ipywidgets' not in sys.modules, 'synthkit run imported ipywidgets'
        print('ok')""", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip().endswith('ok'), r.stdout[-2000:] + r.stderr[-2000:]
    assert (tmp_path/'out'/'accepted.parquet').exists()

def test_the_house_in_figures():
    "No room over 600 lines, export cells small (median <= 15, none over 60), no method bodies in `__all__`."
    r = subprocess.run([sys.executable, str(ROOT/'.ci'/'house.py')], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

def test_patched_methods_are_documented_as_methods():
    from synthkit._modidx import d
    syms = {k for mod in d['syms'].values() for k in mod}
    for name in ['synthkit.local_logprobs.LocalTeacher.logprobs', 'synthkit.calls.Teacher.complete',
                 'synthkit.widgets.review.ReviewWidget.decide', 'synthkit.widgets.seed_editor.SeedEditor.filter']:
        assert name in syms, f'{name} is not in _modidx.py'
