"""Near-duplicate detection on 100,000 texts with planted near-duplicates: synthkit's Dedup beside datasketch's MinHashLSH.

    python benchmarks/dedup.py [--n 100000] [--planted 5000] [--threshold 0.8] [--num-perm 64]

Texts are made from BANKING77 queries (../shared/data/banking77) recombined into distinct rows, plus planted copies with a
small edit. Both tools see the same character 5-gram shingles and the same threshold and number of permutations.
Recall and precision are of the planted pairs whose true Jaccard is at or above the threshold. Prints; asserts nothing.
datasketch is a yardstick here, not a dependency of synthkit."""
import argparse, random, time
from pathlib import Path
import numpy as np
import polars as pl
from synthkit.core import shingle_hashes, normalize_text as _norm_text
from synthkit.dedup import signatures, near_pairs

DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'banking77'

def corpus(n, planted, seed=0):
    rng = random.Random(seed)
    words = ' '.join(pl.read_csv(DATA/'train.csv')['text'].to_list()).split()
    base = [' '.join(rng.choice(words) for _ in range(rng.randint(8, 20))) for _ in range(n - planted)]
    def edit(t):
        w = t.split()
        op = rng.random()
        if op < 0.4: w[rng.randrange(len(w))] = rng.choice(words)
        elif op < 0.7: w.insert(rng.randrange(len(w)), rng.choice(words))
        else: del w[rng.randrange(len(w))]
        return ' '.join(w)
    src = rng.sample(range(len(base)), planted)
    return base + [edit(base[i]) for i in src], [(i, len(base) + k) for k, i in enumerate(src)]

def grams(t, k=5):
    t = _norm_text(t) or '\x01'
    t = t if len(t) >= k else t.ljust(k, '\x02')
    return {t[i:i + k] for i in range(len(t) - k + 1)}

def score(found, truth):
    found = {tuple(sorted(p)) for p in found}
    hit = len(found & truth)
    return hit / max(1, len(truth)), hit, len(found)

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=100_000); p.add_argument('--planted', type=int, default=5000)
    p.add_argument('--threshold', type=float, default=0.8); p.add_argument('--num-perm', type=int, default=64)
    a = p.parse_args()
    texts, planted = corpus(a.n, a.planted)
    truth = {tuple(sorted(pr)) for pr in planted if len(grams(texts[pr[0]]) & grams(texts[pr[1]])) / len(grams(texts[pr[0]]) | grams(texts[pr[1]])) >= a.threshold}
    print(f'{len(texts):,} texts, {len(planted):,} planted copies, {len(truth):,} of them at Jaccard >= {a.threshold} (the pairs to find)')

    t0 = time.perf_counter()
    sh = shingle_hashes(texts); sig = signatures(*sh, num_perm=a.num_perm)
    i, j, est = near_pairs(sig, a.threshold, shingles=sh)
    ours = time.perf_counter() - t0
    rec, hit, nfound = score(zip(i.tolist(), j.tolist()), truth)
    planted_found = {tuple(sorted(pr)) for pr in zip(i.tolist(), j.tolist())} & {tuple(sorted(pr)) for pr in planted}
    print(f'synthkit    {ours:7.2f}s  recall {rec:.3f} ({hit}/{len(truth)})  pairs reported {nfound:,}  '
          f'precision vs all planted {len(planted_found) / max(1, nfound):.3f}')

    from datasketch import MinHash, MinHashLSH
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.num_perm)
    mhs = []
    for k, t in enumerate(texts):
        m = MinHash(num_perm=a.num_perm); m.update_batch([g.encode() for g in grams(t)]); mhs.append(m)
    with lsh.insertion_session() as s:
        for k, m in enumerate(mhs): s.insert(k, m)
    pairs = set()
    for k, m in enumerate(mhs):
        for other in lsh.query(m):
            if other != k: pairs.add((min(k, other), max(k, other)))
    theirs = time.perf_counter() - t0
    rec2, hit2, nfound2 = score(pairs, truth)
    print(f'datasketch  {theirs:7.2f}s  recall {rec2:.3f} ({hit2}/{len(truth)})  pairs reported {nfound2:,}  '
          f'precision vs all planted {len(pairs & {tuple(sorted(pr)) for pr in planted}) / max(1, nfound2):.3f}')
    print(f'speed-up: {theirs / ours:.1f}x; recall difference {rec - rec2:+.3f}')
