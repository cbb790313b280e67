"""Train-synthetic-test-real on BANKING77: synthkit's default recipe beside a naive loop, same teacher, seeds and students.

    python benchmarks/tstr_banking77.py [--intents 20] [--seeds 5] [--per-intent 50] [--draws 0,1] [--gen-seeds 0,1]
        [--arms naive,default] [--teacher local[:PATH]] [--threads N] [--fresh] [--synthetic-weights 1,0.25] [--levers]
    python benchmarks/tstr_banking77.py --from-logs benchmarks/results/tstr_banking77_issue14_packed_d*.log

For every intent draw (`--draws`: the `seed` of banking77.subset, which intents and which seeds) and every generation seed
(`--gen-seeds`: the teacher's sampling seed and the recipe's choices), each arm makes `--per-intent` rows per intent with
the same LocalTeacher and is scored by two students trained on seeds + its rows and tested on the real test rows: the
project's default (`sk.default_student`) and a plain word 1-2-gram TF-IDF + logistic regression. Gap closed: the share of
the seeds-only -> full-real-train macro-F1 gap the rows close. `--synthetic-weights` scores each arm again with its rows
weighed less than a seed (`compare_tstr(..., synthetic_weight=)`), a lever of the student, the same for every arm.

Arms:
  naive           one few-shot completion per row: the intent's name in words and its seeds shuffled as a bullet list,
                  temperature 0.9, the first line kept, no filter (what a user writes in ten lines)
  openers         the naive loop with each row begun with the first word of a seed drawn from every intent's seeds
                  (diverse openings: "When", "Can", "My", ...), the continuation written by the teacher
  default         `sk.generate(seeds, teacher, n=...)`, as a newcomer types it, judged by `sk.judge`'s defaults inside the
                  generation loop (as `synthkit run` does); its seconds include the judging. For a base model each
                  shuffled seed set serves 8 asks (`samples=8`), which the LocalTeacher decodes side by side
  default-hot     the default with the teacher sampling at temperature 1.1 (its default is 0.8)
  default-cold    the default at temperature 0.6: fewer rows drift off their label, more are thrown out as copies
  default-openers the default with `openers=True`: the openers arm's opening words inside `sk.generate`, each ask of
                  a shuffled seed set with its own opener; the LocalTeacher packs those asks and evaluates their shared
                  seeds once (before the packing, openers asked each set once, `samples=1`, and decoded it alone)
  one-set-per-ask the default with `samples=1` (the previous default): every ask its own shuffled seeds (packed
                  side by side with other asks since the LocalTeacher packs prompts of their own)
  default-m0      the default showing no earlier kept rows in the prompt (`m=0`; the default shows 2), as the naive
                  loop shows seeds alone
  default-fit     the default with LabelFit among the judges inside the loop (the teacher reads each row after its own
                  and the seed classifier's likeliest other labels' seeds, and drops it when another label fits better),
                  so generation refills what label fit drops: selection by the label reading at generation time
  default-crosscheck the default with LabelCrossCheck among the judges inside the loop (a default student trained on
                  the seeds and the other folds of the round's rows, and the rows kept before, reads each row; a row
                  whose own label is not its likeliest is dropped and refilled): selection by the batch's own reading
  quotas, rephrase, rephrase-seeds   the older recipes (strategy quotas with ROUGE-L 0.7; evol rephrase; rephrase of
                  the seeds alone with no filter), default judges likewise
  raw             the default prompt with no filter and 1.5x over-generation, one round: the batch `--levers` reads

`--levers` scores selections of every candidate of the default (or raw) batch after the fact (no filter, exact dedup,
ROUGE-L 0.7 and a length-fitted ROUGE-L, the default judges, the seed classifier's reading used to keep each intent's
best rows), and label readers as filters after the default judges (the seed classifier; the default student trained on
the seeds and the other folds' candidates; a classifier trained on the real train rows, a bound no user has), each at
the quota.

Each (arm, draw, generation seed) has its own call cache file in `--cache-dir`; `--fresh` deletes it before the arm runs, so
its seconds are from scratch (without `--fresh`, a repeated run reads its calls from the cache and says so). After the
runs, the summary: each arm's mean and spread, the default against the naive loop run by run, and their paired difference
(mean ± standard error) with the runs that meet the target; `--from-logs` prints that summary for runs logged before,
several logs at once (runs read from the cache count without seconds). Prints, and asserts nothing."""
import argparse, math, random, re, statistics, time, warnings
from collections import Counter
from pathlib import Path
import polars as pl
import synthkit as sk
from synthkit.teachers import Request
from banking77 import subset

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = ['default', 'bigram']

def bigram_student():
    "A plain word 1-2-gram TF-IDF + logistic regression."
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))

def words(label:str)->str: return ' '.join(label.replace('_', ' ').split())

def naive(seeds, teacher, per_intent:int, gen_seed:int, openers:bool=False)->pl.DataFrame:
    "The naive loop: one shuffled few-shot completion per row, no filter; `openers`: each row begun with a seed's first word."
    rng, reqs, labels, heads = random.Random(gen_seed), [], [], []
    first = [t.split()[0] for t in seeds['text'].to_list()]     # every intent's seeds: openings, not topics
    for label in sorted(set(seeds['label'].to_list())):
        texts = seeds.filter(pl.col('label') == label)['text'].to_list()
        for i in range(per_intent):
            shown = rng.sample(texts, len(texts))
            head = rng.choice(first) if openers else ''
            reqs.append(Request(prompt=f'Messages about {words(label)}:\n' + ''.join(f'- {t}\n' for t in shown)
                                + (f'- {head}' if openers else '-'), max_tokens=64, stop=['\n'], temperature=0.9, sample=i))
            labels.append(label); heads.append(head)
    texts = [(h + r.text).strip().splitlines()[0].strip() if r.ok and r.text.strip() else ''
             for h, r in zip(heads, teacher.complete(reqs))]
    return pl.DataFrame({'text': texts, 'label': labels}).with_columns(keep=pl.col('text').str.len_chars() > 0)

def hot(arm, temperature:float=1.1):
    "`arm` with the teacher sampling at `temperature` (the LocalTeacher's default is 0.8)."
    def run(seeds, teacher, per_intent, gen_seed):
        teacher.temperature = temperature
        return arm(seeds, teacher, per_intent, gen_seed)
    return run

def recipe(**how):
    "An arm that runs `sk.generate` with `how`, judged by the default judges inside the loop unless `how` says not."
    judged, fit, cross = how.pop('judged', True), how.pop('fit', False), how.pop('crosscheck', False)
    def arm(seeds, teacher, per_intent, gen_seed):
        kw, extra = dict(how), [sk.LabelFit(teacher)] if fit else []   # one LabelFit a run: it keeps its calibration
        if cross: extra.append(sk.LabelCrossCheck())                     # one a run: it remembers the rows it kept
        if judged: kw['judge'] = lambda df: sk.judge(df, sk.default_judges(seeds) + extra, seeds=seeds)
        return sk.generate(seeds, teacher, n=per_intent * seeds['label'].n_unique(), seed=gen_seed, **kw)
    return arm

ARMS = {'naive': naive,
        'openers': lambda *a: naive(*a, openers=True),
        'default': recipe(),
        'default-hot': hot(recipe()),
        'default-cold': hot(recipe(), temperature=0.6),
        'default-openers': recipe(openers=True),
        'one-set-per-ask': recipe(samples=1),
        'default-m0': recipe(m=0),
        'default-fit': recipe(fit=True),
        'default-crosscheck': recipe(crosscheck=True),
        'quotas': recipe(strategy='quotas', quota='uniform', topic='Customer messages to a bank', similarity=0.7),
        'rephrase': recipe(strategy='evol', evolutions=['rephrase'], quota='uniform', topic='Customer messages to a bank'),
        'rephrase-seeds': recipe(strategy='evol', evolutions=['rephrase'], quota='uniform', similarity=None, max_rounds=1,
                                 overgenerate=1.0, topic='Customer messages to a bank'),
        'raw': recipe(similarity=None, overgenerate=1.5, max_rounds=1, judged=False)}

def scores(test, seeds, rows, real, weights=(1.0,))->dict:
    "Gap closed by `rows` for each student and each synthetic row weight ('bigram', 'bigram w0.25', ...)."
    out = {}
    for w in weights:
        for s in STUDENTS:
            cmp = sk.compare_tstr(test, seeds=seeds, synthetic=rows, real=real, synthetic_weight=w,
                                  student=None if s == 'default' else bigram_student)
            out[s if w == 1 else f'{s} w{w:g}'] = cmp.gap_closed
    return out

def shortfall(batch, per_intent:int)->list[tuple]:
    "(intent, kept, why) for intents more than 10% short of their quota, with the commonest reasons of their drops."
    kept = Counter(batch.filter(pl.col('keep'))['label'].to_list())
    out = []
    for l in sorted(set(batch['label'].to_list())):
        if kept.get(l, 0) >= 0.9 * per_intent: continue
        first = lambda r: str((r or ['?'])[0]).split('(')[0].split(':')[0]        # a drop's first reason, ids left out
        why = Counter(re.sub(r'\b[0-9a-f]{16}\b', 'a kept row or seed', first(r)).strip() for r in
                      batch.filter((pl.col('label') == l) & ~pl.col('keep'))['reasons'].to_list())
        out.append((l, kept.get(l, 0), ', '.join(f'{k} x{v}' for k, v in why.most_common(3))))
    return out

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--intents', type=int, default=20); p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--per-intent', type=int, default=50)
    p.add_argument('--draws', default='0', help='intent draws (the seed of banking77.subset), comma-separated')
    p.add_argument('--seed', type=int, help='a single draw (the old flag): same as --draws SEED')
    p.add_argument('--gen-seeds', default='0', help='generation seeds (teacher sampling and recipe), comma-separated')
    p.add_argument('--arms', default='naive,default', help='comma-separated among ' + ', '.join(ARMS))
    p.add_argument('--strategies', help='the old flag: arms among quotas,rephrase,rephrase-seeds (added to --arms)')
    p.add_argument('--teacher', default='local', help='local (the bundled Gemma 3 270M) or local:PATH.gguf')
    p.add_argument('--threads', type=int, default=None, help="llama.cpp threads (default: every core; 1 is faster on a "
                   "machine where other work holds the cores)")
    p.add_argument('--cache-dir', default=str(ROOT/'benchmarks'/'.cache'))
    p.add_argument('--fresh', action='store_true', help='delete each arm\'s call cache first: seconds from scratch')
    p.add_argument('--synthetic-weights', default='1', help='also score each arm with its rows weighed this much '
                   'beside a seed (compare_tstr synthetic_weight), comma-separated, e.g. 1,0.5,0.25')
    p.add_argument('--levers', action='store_true', help='score selections of the raw arm after the fact')
    p.add_argument('--against', default='default', help='the arm the summary pairs with the naive loop, run by run')
    p.add_argument('--from-logs', nargs='+', metavar='LOG', help='generate nothing: read the run lines of these logs '
                   '(later lines win for the same draw, seed and arm) and print their summary')
    a = p.parse_args()
    if a.from_logs: return summary(from_logs(a.from_logs), a.against)
    draws = [a.seed] if a.seed is not None else [int(x) for x in a.draws.split(',')]
    gens = [int(x) for x in a.gen_seeds.split(',')]
    weights = [float(x) for x in a.synthetic_weights.split(',')]
    arms = [x.strip() for x in a.arms.split(',')] + ([x.strip() for x in a.strategies.split(',')] if a.strategies else [])
    kind, _, path = a.teacher.partition(':')
    if kind != 'local': raise SystemExit('--teacher: local or local:PATH.gguf')
    results = []   # (draw, gen, arm, rows, seconds, {student: gap closed})
    for d in draws:
        intents, seeds, real, test = subset(a.intents, a.seeds, d)
        print(f'\n#### draw {d}: {len(intents)} intents, {a.seeds} seeds each, {a.per_intent} rows per intent asked; '
              f'real train {real.height} rows, test {test.height} rows')
        for g in gens:
            for arm in arms:
                cache = Path(a.cache_dir)/f'tstr_{arm}_i{a.intents}_d{d}_g{g}_{Path(path).stem if path else "bundled"}.sqlite'
                cache.parent.mkdir(parents=True, exist_ok=True)
                if a.fresh: cache.unlink(missing_ok=True)
                teacher = sk.LocalTeacher(path or None, seed=g, cache=cache, progress=False, n_threads=a.threads)
                teacher.load()
                t0 = time.time()
                with warnings.catch_warnings(record=True) as ws:
                    warnings.simplefilter('always')
                    batch = ARMS[arm](seeds, teacher, a.per_intent, g)
                secs = time.time() - t0
                led = teacher.ledger.to_frame()
                kept = batch.filter(pl.col('keep'))
                sc = scores(test, seeds, kept.select('text', 'label'), real, weights)
                results.append((d, g, arm, kept.height, secs, sc))
                print(f'draw {d} gen {g} {arm:<18} kept {kept.height:5d} of {batch.height:5d}  {secs:6.0f}s of generation '
                      f'({int(led["calls"].sum())} calls, {int(led["cached"].sum())} from the cache)  gap closed: '
                      + '  '.join(f'{s} {v:.1%}' for s, v in sc.items()), flush=True)
                for w in ws: print('   warning:', str(w.message)[:300])
                for l, n, why in shortfall(batch, a.per_intent):
                    print(f'   short: {l} kept {n} of {a.per_intent}: dropped by {why}')
                if arm in ('raw', 'default') and a.levers: levers(batch, seeds, real, test, a.per_intent)
    summary(results, a.against)

def levers(batch, seeds, real, test, per_intent:int):
    "Selections of every readable candidate of one batch, each cut to the quota per intent, scored by both students."
    from synthkit.generate import Novelty
    readable = ~pl.col('reasons').list.join(' ').str.contains('unreadable|teacher failed|no items')
    batch = batch.with_columns(keep=readable & (pl.col('text').str.len_chars() > 0), reasons=pl.lit([], dtype=pl.List(pl.String)),
                               dropped_by=pl.lit(None, dtype=pl.String))
    batch = batch.select([c for c in batch.columns if c in ('id', 'text', 'label', 'kind', 'source', 'keep', 'reasons', 'dropped_by')])
    def cut(df): return df.filter(pl.col('keep')).group_by('label', maintain_order=True).head(per_intent)
    def rouge(df, fit):
        nov, keep = Novelty(0.7), []
        for r in seeds.to_dicts(): nov.add(r['text'], r['id'])
        for t in df['text'].to_list():
            n = len(t.split()); thr = 0.7 if not fit else min(1.0, 0.7 + 0.3 * max(0, 12 - n) / 10)
            s, _ = nov.check(t); ok = s < thr; keep.append(ok)
            if ok: nov.add(t, str(len(keep)))
        return df.with_columns(keep=pl.Series(keep) & pl.col('keep'))
    from synthkit.labels import _seed_classifier
    clf = _seed_classifier(seeds); classes = list(clf.classes_)
    P = clf.predict_proba(batch['text'].to_list())
    own = [P[i, classes.index(l)] for i, l in enumerate(batch['label'].to_list())]
    ranked = batch.with_columns(fit=pl.Series(own)).sort('fit', descending=True)
    sel = {'all rows, no filter': batch,
           'exact dedup': batch.with_columns(keep=~pl.col('text').str.to_lowercase().is_duplicated() | pl.col('text').str.to_lowercase().is_first_distinct()),
           'ROUGE-L 0.7': rouge(batch, False), 'ROUGE-L fitted to length': rouge(batch, True),
           'default judges': sk.judge(batch, seeds=seeds),
           'seed classifier best per intent': ranked,
           'default judges, then seed classifier best': sk.judge(ranked, seeds=seeds)}
    judged = sel['default judges']
    for name, read in readers(seeds, real).items():          # label readers as filters after the default judges
        sel[f'default judges, then {name} agrees'] = judged.with_columns(keep=pl.col('keep') & pl.Series(read(judged)))
    for name, df in sel.items():
        rows = cut(df)
        print(f'   lever {name:<62} rows {rows.height:5d}  ' + '  '.join(f'{s} {v:.1%}' for s, v in
                                                                      scores(test, seeds, rows.select('text', 'label'), real).items()))

def readers(seeds, real)->dict:
    "Ways to read each candidate's label, each a function frame -> [label read == label given]; the last is a bound."
    from sklearn.model_selection import StratifiedKFold
    from synthkit.labels import _seed_classifier
    def seed_clf(df): return list(_seed_classifier(seeds).predict(df['text'].to_list()) == df['label'].to_numpy())
    def out_of_fold(df, k=5):
        "The default student trained on the seeds and the other folds' candidates, for the candidates of each fold."
        texts, labs, read = df['text'].to_list(), df['label'].to_list(), [None] * df.height
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=0).split(texts, labs):
            s = sk.default_student().fit(seeds['text'].to_list() + [texts[i] for i in tr],
                                         seeds['label'].to_list() + [labs[i] for i in tr])
            for i, l in zip(te, s.predict([texts[i] for i in te])): read[i] = l == labs[i]
        return read
    def real_train(df):
        return list(bigram_student().fit(real['text'].to_list(), real['label'].to_list()).predict(df['text'].to_list())
                    == df['label'].to_numpy())
    return {'seed classifier': seed_clf, 'out-of-fold default student': out_of_fold,
            'real-train classifier (a bound)': real_train}

RUN = re.compile(r'^draw (\d+) gen (\d+) (\S+)\s+kept\s+(\d+) of\s+\d+\s+(\d+)s of generation \((\d+) calls, (\d+) from the '
                 r'cache\)\s+gap closed: default (-?[\d.]+)%\s+bigram (-?[\d.]+)%')

def from_logs(paths:list)->list:
    "The runs the logs printed, as `main` collects them; a run read from the cache has no seconds of its own (None)."
    runs = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if m := RUN.match(line):
                d, g, arm, kept, secs, calls, cached, x, y = m.groups()
                runs[(int(d), int(g), arm)] = (int(d), int(g), arm, int(kept), None if int(cached) else float(secs),
                                               {'default': float(x) / 100, 'bigram': float(y) / 100})
    return list(runs.values())

def need(x:float)->float:
    "The default's share the target asks for, given the naive loop's share `x`."
    return max(1.3 * x, x + 0.10) if x < 0.30 else 1.3 * x

def secs(r)->str: return 'cached' if r[4] is None else f'{r[4]:.0f}'

def summary(results, against:str='default'):
    "Mean and spread per arm and student over draws and generation seeds, and arm `against` against naive, run by run."
    print('\n#### summary (mean ± sd over draws x generation seeds)')
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    arms = list(dict.fromkeys(r[2] for r in results))
    for arm in arms:
        rs = [r for r in results if r[2] == arm]
        t = [r[4] for r in rs if r[4] is not None]
        line = (f'{arm:<18} runs {len(rs)}  rows {statistics.mean(r[3] for r in rs):6.0f}  seconds '
                + (f'{statistics.mean(t):6.0f} ± {sd(t):4.0f}' if t else '   n/a'))
        for s in rs[0][5]:
            v = [r[5][s] for r in rs if r[5][s] is not None]
            line += f'  {s} {statistics.mean(v):.1%} ± {sd(v):.1%}' if v else f'  {s} n/a'
        print(line)
    pairs = [(n, k) for n in results if n[2] == 'naive' for k in results if k[:2] == n[:2] and k[2] == against]
    if not pairs: return
    print(f'\n#### {against} against naive, per draw and generation seed (target: >= 1.3x the gap share, >= +10 points '
          'where naive < 30%, seconds <=)')
    for n, k in pairs:
        timed = n[4] is not None and k[4] is not None
        for s in n[5]:
            x, y = n[5][s], k[5][s]
            print(f'draw {n[0]} gen {n[1]} {s:<8} naive {x:6.1%}  {against} {y:6.1%}  ({y - x:+.1%}, '
                  f'x{y / x if x > 0 else float("nan"):.2f}; needs {need(x):.1%}: '
                  f'{"met" if y >= need(x) else f"short by {need(x) - y:.1%}"})  seconds {secs(k)} vs {secs(n)}'
                  + (f' ({"met" if k[4] <= n[4] else f"over by {k[4] - n[4]:.0f}s"})' if timed else ''))
    print(f'\n#### {against} minus naive over the {len(pairs)} paired runs (mean ± standard error; runs meeting the target)')
    for s in pairs[0][0][5]:
        diff = [k[5][s] - n[5][s] for n, k in pairs]
        se = statistics.stdev(diff) / math.sqrt(len(diff)) if len(diff) > 1 else float('nan')
        met = sum(k[5][s] >= need(n[5][s]) for n, k in pairs)
        print(f'{s:<8} {statistics.mean(diff):+.1%} ± {se:.1%}   target met in {met} of {len(pairs)}')
    both = sum(all(k[5][s] >= need(n[5][s]) for s in n[5]) for n, k in pairs)
    timed = [(n, k) for n, k in pairs if n[4] is not None and k[4] is not None]
    print(f'both students: target met in {both} of {len(pairs)}' + (
          f'; seconds over {len(timed)} timed pairs: {against} {statistics.mean(k[4] for _, k in timed):.0f}, naive '
          f'{statistics.mean(n[4] for n, _ in timed):.0f}, {against} faster in {sum(k[4] <= n[4] for n, k in timed)}'
          if timed else ''))

if __name__ == '__main__': main()
