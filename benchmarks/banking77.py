"""The BANKING77 subset the benchmarks share: which intents, which seeds, the real train and test rows."""
import random
from pathlib import Path
import polars as pl
import synthkit as sk

DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'banking77'

def subset(intents:int=20, seeds:int=5, seed:int=0):
    "(intent names, seed rows, real train rows, real test rows) for `intents` intents drawn with `seed`; labels in `label`."
    train, test = pl.read_csv(DATA/'train.csv'), pl.read_csv(DATA/'test.csv')
    names = sorted(train['category'].unique().to_list())
    random.Random(seed).shuffle(names)
    names = sorted(names[:intents])
    train, test = train.filter(pl.col('category').is_in(names)), test.filter(pl.col('category').is_in(names))
    shown = train.group_by('category', maintain_order=True).map_groups(lambda g: g.sample(seeds, seed=seed)).sort('category')
    return (names, sk.load_seeds(shown, text='text', label='category'),
            train.rename({'category': 'label'}), test.rename({'category': 'label'}))
