"""Every diversity measure on 100,000 synthetic texts, seconds per measure, beside the naive ways in the same run.

    python benchmarks/diversity.py [--n 100000] [--seeds-per-label 10] [--naive-hyps 100] [--vendi-rows 5000]

The texts are BANKING77 queries (../shared/data/banking77, or the bundled support_requests seeds when it is absent)
spliced the way a teacher borrows phrasing: the start of one query joined to the end of another with the same intent,
with a word swapped now and then; rows carry a label, a round (1-4), a keep flag and a judge score. The seeds are
`--seeds-per-label` real queries per intent.

Yardsticks, timed in the same run on the same rows:
- self-BLEU the usual way: each hypothesis scored against every other row of a 2,000-row sample by the definition
  (reference n-gram counts precomputed, which is kinder than calling nltk's sentence_bleu per row). `--naive-hyps`
  hypotheses are timed; the cost is extrapolated to the whole sample (linear in hypotheses) and to the whole batch
  (quadratic in rows), and their scores are checked against the fast version.
- the Vendi score the usual way: the `vendi-score` package's kernel form (build K = XXᵀ, eigendecompose n×n) on
  `--vendi-rows` rows, against the dual form on the same rows; the n×n eigendecomposition is extrapolated as n³. When
  the package is absent, the same n×n eigendecomposition with numpy stands in.

Prints; asserts nothing. Times follow a warm-up call (imports excluded). BLAS runs on one thread inside synthkit (see
`_one_thread`), and so it does for the kernel yardstick."""
import argparse, math, os, random, re, time, warnings
from collections import Counter
from pathlib import Path
import numpy as np
import polars as pl
import synthkit as sk
from synthkit.diversity import (Ngrams, _distinct, compression_ratio, _self_bleu, _bleus, _novelty, _tfidf_svd, vendi_score,
                                mean_cosine, coverage, label_balance, diversity, diversity_by_round, DiversityWarning)
from synthkit.charts import report_charts

DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'banking77'

def corpus(n:int, per_label:int, seed:int=0):
    "n spliced synthetic rows and the seed rows they grew from."
    rng = random.Random(seed)
    if (DATA/'train.csv').exists():
        real = pl.read_csv(DATA/'train.csv').rename({'category': 'label'})
        where = 'BANKING77 train'
    else:
        real = sk.load_seeds('support_requests').select('text', 'label')
        where = 'bundled support_requests seeds (BANKING77 absent)'
    by = {l: g['text'].to_list() for (l,), g in real.group_by('label', maintain_order=True)}
    seeds = pl.DataFrame([{'text': t, 'label': l} for l, ts in by.items() for t in ts[:per_label]])
    vocab = ' '.join(real['text'].to_list()).split()
    labels = list(by)
    rows = []
    for i in range(n):
        l = labels[i % len(labels)]
        a, b = (t.split() for t in rng.sample(by[l], 2))
        w = a[:rng.randint(2, max(2, len(a)))] + b[rng.randint(1, max(1, len(b) - 1)):]
        if rng.random() < 0.5: w[rng.randrange(len(w))] = rng.choice(vocab)
        rows.append((' '.join(w), l))
    keep = [rng.random() > 0.15 for _ in range(n)]
    batch = pl.DataFrame({'text': [t for t, _ in rows], 'label': [l for _, l in rows], 'source': 'synthetic',
                          'round': [1 + i * 4 // n for i in range(n)], 'keep': keep,
                          'quality': [rng.random() for _ in range(n)], 'quality_reason': [None] * n,
                          'reasons': [[] if k else ['quality: weak'] for k in keep]},
                         schema_overrides={'quality_reason': pl.String, 'reasons': pl.List(pl.String)})
    return batch, seeds, where

def naive_bleu(words, refs_counts, i, max_n=4, eps=0.1):
    "BLEU of row i against all the others by the definition; reference n-gram counts precomputed."
    h = words[i]
    logp, m = 0.0, min(len(h), max_n)
    for n in range(1, m + 1):
        c = Counter(tuple(h[k:k + n]) for k in range(len(h) - n + 1))
        best = Counter()
        for j, rc in enumerate(refs_counts):
            if j == i: continue
            for g in c:
                v = rc[n].get(g, 0)
                if v > best[g]: best[g] = v
        num = sum(min(v, best[g]) for g, v in c.items())
        logp += math.log((num or eps) / sum(c.values())) / m
    r = min((len(x) for j, x in enumerate(words) if j != i and x), key=lambda l: (abs(l - len(h)), l))
    return (1.0 if len(h) >= r else math.exp(1 - r / len(h))) * math.exp(logp)

class Clock:
    def __init__(self): self.rows = []
    def __call__(self, name, fn, note=''):
        t0 = time.perf_counter(); out = fn(); dt = time.perf_counter() - t0
        self.rows.append((name, dt, note)); print(f'  {name:<34} {dt:8.2f}s  {note}', flush=True)
        return out

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=100_000); p.add_argument('--seeds-per-label', type=int, default=10)
    p.add_argument('--sample', type=int, default=2000); p.add_argument('--naive-hyps', type=int, default=100)
    p.add_argument('--vendi-rows', type=int, default=5000)
    a = p.parse_args()
    warnings.simplefilter('ignore', DiversityWarning)
    batch, seeds, where = corpus(a.n, a.seeds_per_label)
    kept = batch.filter(pl.col('keep'))
    print(f'{batch.height:,} synthetic rows ({kept.height:,} accepted) spliced from {where}; {seeds.height:,} seeds; '
          f'{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}')

    diversity(batch.head(500), seeds)          # warm-up: the imports (scikit-learn, scipy) are not what is measured
    print('\nEach measure on its own (accepted rows and the seeds):')
    clock = Clock()
    texts = kept['text'].to_list() + seeds['text'].to_list()
    rows = np.arange(len(texts)) < kept.height
    g = clock('tokenise, n-gram ids (1-4)', lambda: Ngrams(texts, 4))
    print(f'    {len(g.ids[1]):,} words, {g.vocab:,} different')
    clock('distinct-1/2/3', lambda: [_distinct(g, n, rows) for n in (1, 2, 3)])
    clock('compression ratio (zlib 9)', lambda: compression_ratio(kept['text'].to_list()))
    bleu, used = clock(f'self-BLEU-4, {a.sample:,}-row sample', lambda: _self_bleu(g, rows, a.sample, 0))
    clock('3-gram novelty vs seeds', lambda: _novelty(g, rows, ~rows, 3))
    X = clock('embedding (TF-IDF + SVD, 64 dims)', lambda: _tfidf_svd(g, 64, 0))
    Xr, S = X[rows], X[~rows]
    vd = clock('Vendi score (dual, d×d)', lambda: vendi_score(Xr))
    clock('mean pairwise cosine (‖Σx‖²)', lambda: mean_cosine(Xr))
    clock('coverage (rows × seeds)', lambda: coverage(Xr, S))
    clock('balance and lengths', lambda: (label_balance(kept['label'].to_list()), np.percentile(g.lens[rows], [10, 50, 90])))
    parts = sum(t for _, t, _ in clock.rows)
    print(f'  {"sum of the parts":<34} {parts:8.2f}s')

    print('\nEnd to end:')
    t0 = time.perf_counter(); rep = diversity(batch, seeds); card = time.perf_counter() - t0
    print(f'  {"diversity(batch, seeds): the card":<34} {card:8.2f}s  target < 30 s: {"met" if card < 30 else "MISSED"}')
    print(f'    {rep!r}; self-BLEU on {rep.self_bleu_rows:,} rows, Vendi {rep.vendi:.1f}, coverage {rep.seed_coverage:.0%}, far {rep.far_share:.0%}')
    wr = random.Random(1)
    noise = pl.DataFrame({'text': [' '.join(f'w{wr.randrange(50_000)}' for _ in range(wr.randint(6, 30))) for _ in range(a.n)]})
    t0 = time.perf_counter(); rep2 = diversity(noise, seeds); worst = time.perf_counter() - t0
    print(f'  {"the card, worst case":<34} {worst:8.2f}s  {a.n:,} rows of 6-30 random words from 50,000: '
          f'{rep2.distinct_2:.3f} distinct-2, millions of different pairs')
    t0 = time.perf_counter(); table = diversity_by_round(batch, seeds); by_round = time.perf_counter() - t0
    print(f'  {"diversity_by_round (4 rounds)":<34} {by_round:8.2f}s  each round on {table["rows_measured"][0]:,} rows')
    t0 = time.perf_counter(); charts = report_charts(batch, seeds, rounds=table); specs = [c.to_dict() for c in charts.values()]
    print(f'  {"report_charts + to_dict":<34} {time.perf_counter() - t0:8.2f}s  {len(specs)} charts, '
          f'{sum(len(s["data"]["values"]) for s in specs):,} data points in all')

    print(f'\nYardstick 1: self-BLEU by the definition on the same {a.sample:,}-row sample')
    words = [re.findall(r'\w+', t.lower()) for t in texts]
    rng = np.random.default_rng(0)
    ok = np.nonzero(rows & (g.lens > 0))[0]
    samp = ok[rng.choice(len(ok), min(a.sample, len(ok)), replace=False)]
    sw = [words[i] for i in samp]
    t0 = time.perf_counter()
    fast_mask = np.zeros(g.n_texts, bool); fast_mask[samp] = True
    fast = _bleus(g, fast_mask)[samp]
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = [{n: Counter(tuple(w[k:k + n]) for k in range(len(w) - n + 1)) for n in range(1, 5)} for w in sw]
    t_counts = time.perf_counter() - t0
    k = min(a.naive_hyps, len(sw))
    t0 = time.perf_counter()
    slow = [naive_bleu(sw, counts, i) for i in range(k)]
    t_k = time.perf_counter() - t0
    per_hyp = t_k / k
    sample_naive = t_counts + per_hyp * len(sw)
    full_naive = per_hyp * len(sw) * (kept.height / len(sw)) ** 2     # every row against every other row
    t0 = time.perf_counter(); every = np.nanmean(_bleus(g, rows)); t_every = time.perf_counter() - t0
    print(f'  {"fast, whole sample:":<36}{t_fast:8.3f}s')
    print(f'  {f"fast, exact on all {kept.height:,} rows:":<36}{t_every:8.2f}s  (self-BLEU {every:.3f} against {kept.height - 1:,} references each; '
          f'{np.nanmean(fast):.3f} on the sample: it grows with the references, hence the fixed sample)')
    print(f'  {f"naive, {k} hypotheses timed:":<36}{t_k:8.2f}s  ({per_hyp * 1e3:.1f} ms each against {len(sw) - 1:,} references)')
    print(f'  {"naive, whole sample (extrapolated):":<36}{sample_naive:8.1f}s  = {sample_naive / t_fast:,.0f}× the fast version')
    print(f'  naive, all {kept.height:,} rows (extrapolated, quadratic): {full_naive / 3600:,.1f} hours')
    print(f'  largest difference between the two on the {k} rows: {max(abs(x - y) for x, y in zip(fast[:k], slow)):.2e}')

    print(f'\nYardstick 2: Vendi score, kernel form vs dual form, on {a.vendi_rows:,} rows')
    Xv = Xr[:a.vendi_rows]
    t0 = time.perf_counter(); ours = vendi_score(Xv); t_dual = time.perf_counter() - t0
    try:
        from vendi_score import vendi
        from threadpoolctl import threadpool_limits
        import importlib.metadata as md
        name = f'vendi-score {md.version("vendi-score")} score_K(X Xᵀ)'
        def kernel():
            with threadpool_limits(1, user_api='blas'), warnings.catch_warnings():
                warnings.simplefilter('ignore', DeprecationWarning)
                return float(vendi.score_K(Xv @ Xv.T))
    except ImportError:
        name = 'numpy n×n eigvalsh (vendi-score not installed)'
        def kernel():
            lam = np.linalg.eigvalsh(Xv @ Xv.T / len(Xv)); lam = lam[lam > 1e-12]
            return float(np.exp(-(lam * np.log(lam)).sum()))
    t0 = time.perf_counter(); theirs = kernel(); t_kernel = time.perf_counter() - t0
    print(f'  {"dual form (synthkit):":<44}{t_dual:8.3f}s  Vendi {ours:.6f}')
    print(f'  {name + ":":<44}{t_kernel:8.3f}s  Vendi {theirs:.6f}  ({t_kernel / t_dual:,.0f}× slower; |difference| {abs(ours - theirs):.1e})')
    print(f'  kernel form on all {kept.height:,} rows: a {kept.height:,}² kernel is {kept.height ** 2 * 8 / 1e9:,.0f} GB in float64; '
          f'eigendecomposition extrapolated as n³: {t_kernel * (kept.height / len(Xv)) ** 3 / 3600:,.1f} hours. '
          f'Dual form on all rows: {dict((n, t) for n, t, _ in clock.rows)["Vendi score (dual, d×d)"]:.2f}s')
