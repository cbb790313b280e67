#!/usr/bin/env python3
"""Render index.ipynb to README.md (Quarto, which nbdev_readme needs, cannot be installed here).

    python .ci/readme.py          # write README.md
    python .ci/readme.py --check  # exit 1 when README.md is not index.ipynb's rendering
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_directive = re.compile(r'^\s*#\s*\|')

def _src(cell): return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def _fence(text, lang=''): return f'```{lang}\n{text.rstrip()}\n```'

def _outputs(cell):
    out = []
    for o in cell.get('outputs', []):
        if o['output_type'] == 'stream': out.append(_fence(''.join(o['text'])))
        elif o['output_type'] in ('execute_result', 'display_data'):
            d = o.get('data', {})
            if 'text/markdown' in d: out.append(''.join(d['text/markdown']).strip())
            elif 'text/plain' in d and 'application/vnd.jupyter.widget-view+json' not in d: out.append(_fence(''.join(d['text/plain'])))
        elif o['output_type'] == 'error': raise SystemExit(f'index.ipynb holds an error output ({o.get("ename")}); re-run it')
    return out

def render(nb_path=ROOT/'index.ipynb')->str:
    "README.md's text: markdown cells as they are, code cells fenced, outputs after them; `#| hide` cells left out."
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    parts = []
    for c in nb['cells']:
        src = _src(c)
        if c['cell_type'] == 'markdown': parts.append(src.strip())
        elif c['cell_type'] == 'code':
            lines = src.splitlines()
            if any(re.match(r'^\s*#\s*\|\s*hide\b', l) for l in lines): continue
            code = '\n'.join(l for l in lines if not _directive.match(l)).strip()
            if code: parts.append(_fence(code, 'python'))
            parts += _outputs(c)
    return '\n\n'.join(p for p in parts if p) + '\n'

if __name__ == '__main__':
    txt, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != txt:
            print('README.md differs from index.ipynb rendered; run: python .ci/readme.py'); sys.exit(1)
        print('README.md matches index.ipynb')
    else: readme.write_text(txt, encoding='utf-8'); print('wrote README.md')
