"""The house in figures: module sizes, export-cell sizes, long lines, method bodies in __all__.
Prints the figures; exits 1 when a rule of the house is broken (tests/test_house.py runs it)."""
import ast, json, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE, MAX_CELL, MAX_MEDIAN, MAX_LINE = 600, 60, 15, 120

def export_cells():
    for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):
        for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] == 'code' and src.lstrip().startswith(('#| export', '#|export')):
                yield nb.relative_to(ROOT), c.get('id'), len(src.strip().splitlines())

def modules():
    return [p for p in sorted((ROOT/'synthkit').rglob('*.py')) if p.name != '_modidx.py']

def generated(lines:list[str])->set[int]:
    "Indexes of the lines nbdev writes itself: the module docstring (the notebook's summary), `__all__`, cell markers."
    out = {0} if lines and lines[0].startswith('"""') else set()
    inside = False
    for i, l in enumerate(lines):
        if l.startswith('__all__'): inside = True
        if inside: out.add(i)
        if inside and l.rstrip().endswith(']'): inside = False
        if l.startswith('# %% '): out.add(i)
    return out

def methods_in_all(p:Path)->list[str]:
    "Names in `__all__` that are functions whose first parameter is `self`."
    tree = ast.parse(p.read_text(encoding='utf-8'))
    names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, 'id', None) == '__all__' for t in n.targets)), [])
    fns = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
           and n.args.args and n.args.args[0].arg == 'self'}
    return [n for n in names if n in fns]

def main()->int:
    bad = []
    cells = list(export_cells())
    lens = [n for *_, n in cells]
    med, longest = statistics.median(lens), max(cells, key=lambda c: c[2])
    print(f'export cells: {len(cells)}, median {med:g} lines, longest {longest[2]} ({longest[0]} cell {longest[1]})')
    if med > MAX_MEDIAN: bad.append(f'export-cell median {med:g} > {MAX_MEDIAN}')
    bad += [f'{nb} cell {cid}: {n} lines > {MAX_CELL}' for nb, cid, n in cells if n > MAX_CELL]
    for p in modules():
        lines = p.read_text(encoding='utf-8').splitlines()
        long = [i + 1 for i, l in enumerate(lines) if len(l) > MAX_LINE and i not in generated(lines)]
        rel = p.relative_to(ROOT)
        print(f'{str(rel):36} {len(lines):4} lines, {len(long):3} over {MAX_LINE} characters')
        if len(lines) > MAX_MODULE: bad.append(f'{rel}: {len(lines)} lines > {MAX_MODULE}')
        if long: bad.append(f'{rel}: lines over {MAX_LINE} characters at {long[:8]}')
        if m := methods_in_all(p): bad.append(f'{rel}: method bodies in __all__: {m}')
    for b in bad: print('BROKEN:', b)
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
