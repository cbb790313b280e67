"""LabelCrossCheck inside the generation loop, on real BANKING77 requests: a scripted teacher answers each ask with real
requests of the asked intent, one in five of them from another intent (the drift a small teacher shows). The judge drops
mostly those, generation refills the quotas, and later rounds are read against the rows kept before."""
import itertools, json, random, re
import polars as pl
import synthkit as sk
from synthkit.teachers import Request, ScriptedTeacher

def teacher_of(pools:dict, wrong_share:float=0.2, seed:int=0):
    "A scripted teacher writing real requests of the asked intent, `wrong_share` of them another intent's; and the truth."
    rng, truth = random.Random(seed), {}
    streams = {l: itertools.cycle(ts) for l, ts in pools.items()}
    def fn(req:Request)->str:
        label = re.search(r'with the label "([^"]+)"', req.prompt).group(1)
        n = int(re.search(r'Write (\d+) new', req.prompt).group(1))
        out = []
        for _ in range(n):
            src = rng.choice([l for l in pools if l != label]) if rng.random() < wrong_share else label
            t = next(streams[src]); truth[t] = src; out.append(t)
        return json.dumps(out)
    return ScriptedTeacher(fn, model='drifting'), truth

def banking(shared, intents:int=10, seeds:int=5):
    train = pl.read_csv(shared/'banking77'/'train.csv').rename({'category': 'label'})
    big = train['label'].value_counts().filter(pl.col('count') >= 100)['label']   # enough requests that none repeats
    names = sorted(random.Random(1).sample(sorted(big.to_list()), intents))
    train = train.filter(pl.col('label').is_in(names))
    shown = train.group_by('label', maintain_order=True).head(seeds)
    rest = train.filter(~pl.col('text').is_in(shown['text'].to_list()))
    return sk.load_seeds(shown), {l: rest.filter(pl.col('label') == l)['text'].to_list() for l in names}

def wrong_share(df, truth): return sum(truth.get(t) != l for t, l in zip(df['text'], df['label'])) / max(1, df.height)

def test_crosscheck_in_the_loop_drops_drift_and_refills_quotas(shared):
    seeds, pools = banking(shared)
    teacher, truth = teacher_of(pools)
    cc = sk.LabelCrossCheck()
    batch = sk.generate(seeds, teacher, n=300, seed=0,
                        judge=lambda df: sk.judge(df, sk.default_judges(seeds) + [cc], seeds=seeds))
    kept, made = batch.filter(pl.col('keep')), batch.filter(pl.col('text').is_in(list(truth)))
    assert kept['label'].value_counts()['count'].to_list() == [30] * 10           # every quota met
    assert wrong_share(made, truth) > 0.15                                         # the teacher drifted
    assert wrong_share(kept, truth) < wrong_share(made, truth) / 3, (wrong_share(kept, truth), wrong_share(made, truth))
    dropped = batch.filter(pl.col('dropped_by') == 'label_crosscheck')
    assert dropped.height > 0 and wrong_share(dropped, truth) > 0.6               # its drops are mostly the drift
    assert all(r.startswith('label_crosscheck: the other rows read it as "') for rs in dropped['reasons'] for r in rs[:1])
    assert len(cc.seen) >= 300                                                     # later rounds read against the rows kept

def test_without_the_crosscheck_the_drift_stays(shared):
    seeds, pools = banking(shared)
    teacher, truth = teacher_of(pools)
    batch = sk.generate(seeds, teacher, n=300, seed=0, judge=lambda df: sk.judge(df, sk.default_judges(seeds), seeds=seeds))
    assert wrong_share(batch.filter(pl.col('keep')), truth) > 0.15
