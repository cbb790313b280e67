"""How well and how fast the label-likelihood judge reads real BANKING77 rows.

    python benchmarks/label_likelihood.py [--intents 20] [--seeds 5] [--rows 200] [--seed 0]

The intents and seeds are chosen as in tstr_banking77.py. On `--rows` real test rows (all correctly labelled):
how often the judge's top label is the true one (and the true one among its top three), the share of these
good rows it drops at its default threshold, and the share it drops of the same rows given a wrong label
(each row's label moved seven intents over). Prints rows/s of the judge (calibration is paid once per seed set
and is timed apart). Wrap it in `flock /tmp/llama.lock` on a shared machine. Asserts nothing."""
import argparse, time
import numpy as np
import polars as pl
import synthkit as sk

from banking77 import subset

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--intents', type=int, default=20); p.add_argument('--seeds', type=int, default=5)
    p.add_argument('--rows', type=int, default=200); p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    intents, seeds, _, test = subset(a.intents, a.seeds, a.seed)
    rows = test.sample(min(a.rows, test.height), seed=a.seed)
    judge = sk.LabelLikelihood()
    t0 = time.time(); judge.shares(rows.head(1), seeds); calib = time.time() - t0        # loads the model, pays the calibration
    t0 = time.time(); right = sk.judge(rows, [judge], seeds=seeds); secs = time.time() - t0
    moved = dict(zip(intents, intents[7:] + intents[:7]))
    wrong = sk.judge(rows.with_columns(pl.col('label').replace(moved)), [judge], seeds=seeds)
    sh = judge.shares(rows, seeds)
    names, pr = sh.columns, sh.to_numpy()
    own = pr[np.arange(rows.height), [names.index(l) for l in rows['label']]]
    rank = (pr > own[:, None]).sum(1)
    print(f'{len(intents)} intents, {seeds.height} seeds ({judge.shots} shown per intent, up to {judge.refs} more calibrate), {rows.height} real test rows')
    print(f'top label is the true one: {np.mean(rank == 0):.1%} (chance {1 / len(intents):.1%}); true one in the top three: {np.mean(rank < 3):.1%}')
    print(f'dropped at the default threshold (min_ratio {judge.ratio(len(intents)):.2g}): {1 - right["keep"].mean():.1%} of the correctly labelled rows, '
          f'{1 - wrong["keep"].mean():.1%} of the same rows with a wrong label')
    print(f'speed: {rows.height / secs:.1f} rows/s with {len(intents)} labels ({secs:.1f}s for {rows.height} rows; calibration and load {calib:.1f}s once)')

if __name__ == '__main__': main()
