"""Train-synthetic-test-real on BANKING77 with the embedded teacher.

    python benchmarks/tstr_banking77.py [--intents 20] [--seeds 5] [--per-intent 50] [--seed 0] [--strategies quotas,rephrase,rephrase-seeds]

Few seeds per intent from ../shared/data/banking77/train.csv (fixed seed); synthetic rows per intent from LocalTeacher in
three batches (few-shot quotas; evol with the rephrase evolution only; the same from the seeds alone, one round, no novelty
filter); a TF-IDF + logistic-regression student scored on test.csv. For each batch, with no judges, the default ones and each
opt-in label judge, it prints macro-F1 for seeds-only, seeds+synthetic and the full real train set (same intents), the share
of the seeds-only -> full-real gap the synthetic rows close, the judging time, and the generation time. The call cache lives in benchmarks/.cache (delete it to
measure generation from scratch). Asserts nothing."""
import argparse, time, warnings
from pathlib import Path
import polars as pl
import synthkit as sk
from banking77 import subset

ROOT = Path(__file__).resolve().parents[1]

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--intents', type=int, default=20); p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--per-intent', type=int, default=50); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--strategies', default='quotas,rephrase,rephrase-seeds', help='which batches to make (comma-separated)')
    p.add_argument('--cache', default=str(ROOT/'benchmarks'/'.cache'/'tstr_banking77.sqlite'))
    p.add_argument('--teacher', default='local', help='local (the bundled base model) or local:PATH.gguf (an instruct GGUF too)')
    a = p.parse_args()
    intents, seeds, real, test = subset(a.intents, a.seeds, a.seed)
    print(f'{len(intents)} intents, {a.seeds} seeds each ({seeds.height} seed rows), {a.per_intent} synthetic rows per intent asked; '
          f'real train {real.height} rows, test {test.height} rows')
    kind, _, path = a.teacher.partition(':')
    if kind != 'local': p.error(f'--teacher {a.teacher}: use local or local:PATH.gguf')
    teacher = sk.LocalTeacher(model_path=path or None, cache=a.cache)
    print(f'teacher {teacher.model} ({teacher.style} prompts)')
    strategies = {'quotas': ('quotas (few-shot rows per intent)', dict(strategy='quotas')),
                  'rephrase': ('evol, rephrase only (each seed said again)', dict(strategy='evol', evolutions=['rephrase'])),
                  'rephrase-seeds': ('evol, rephrase only, seeds as parents, no novelty filter',
                                     dict(strategy='evol', evolutions=['rephrase'], similarity=None, max_rounds=1, overgenerate=1.0))}
    strategies = dict(strategies[k.strip()] for k in a.strategies.split(','))
    for label, how in strategies.items():
        print(f'\n== {label}')
        run(seeds, real, test, teacher, a, **how)

def run(seeds, real, test, teacher, a, **how):
    "Generate one batch with `how` and print its TSTR with and without judges, its label accuracy and the ceilings of a perfect judge."
    t0, before = time.time(), teacher.ledger.to_frame()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        batch = sk.generate(seeds, teacher, n=a.per_intent * seeds['label'].n_unique(), quota='uniform',
                            topic='Customer messages to a bank', seed=a.seed, **how)
    gen_s = time.time() - t0
    for w in ws: print('warning:', w.message)
    kept, led = batch.filter(pl.col('keep')), teacher.ledger.to_frame()
    print(f'generated {batch.height} candidates, kept {kept.height} in {gen_s:.0f}s '
          f'({led["calls"].sum() - before["calls"].sum()} calls, {led["cached"].sum() - before["cached"].sum()} from the cache)')
    settings = {'no judges': [], 'default judges': sk.default_judges(seeds),
                'default + label consistency': sk.default_judges(seeds) + [sk.LabelConsistency()],
                'default + label likelihood': sk.default_judges(seeds) + [sk.LabelLikelihood(teacher)],
                'default + label fit': sk.default_judges(seeds) + [sk.LabelFit(teacher, topic='Customer messages to a bank')]}
    for name, js in settings.items():
        t1 = time.time()
        syn = sk.judge(kept, js, seeds=seeds).filter(pl.col('keep')) if js else kept
        took = time.time() - t1
        cmp = sk.compare_tstr(test, seeds=seeds, synthetic=syn, real=real)
        f1 = dict(zip(cmp.table['setting'].to_list(), cmp.table['macro_f1'].to_list()))
        print(f'{name:<28} synthetic rows {syn.height:5d}  macro-F1: ' + '  '.join(f'{k} {v:.3f}' for k, v in f1.items())
              + f'  gap closed {cmp.gap_closed:.1%}  (judged in {took:.0f}s)')
    # How good could any judge make these rows? A classifier trained on the full real train set (which no judge has) reads
    # each synthetic row; the share it files under the intended intent is the rows' label accuracy. Keeping only those rows
    # is the ceiling a perfect label filter could reach; moving every row to the label it reads as, the ceiling of a perfect relabeller.
    oracle = sk.default_student(a.seed).fit(real['text'].to_list(), real['label'].to_list())
    read = oracle.predict(kept['text'].to_list())
    agree = pl.Series([p == l for p, l in zip(read, kept['label'].to_list())])
    keep_only = sk.compare_tstr(test, seeds=seeds, synthetic=kept.filter(agree), real=real)
    relabel = sk.compare_tstr(test, seeds=seeds, synthetic=kept.with_columns(label=pl.Series(list(read))), real=real)
    print(f'label accuracy of the kept rows (read by a classifier trained on all real rows): {agree.mean():.1%}; '
          f'ceilings no judge can beat: keeping only those ({int(agree.sum())} rows) closes {keep_only.gap_closed:.1%}, '
          f'relabelling every row as it reads closes {relabel.gap_closed:.1%}')
    print(f'generation time {gen_s:.0f}s for {kept.height} kept rows')

if __name__ == '__main__': main()
