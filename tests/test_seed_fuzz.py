"Property tests: whatever bytes or rows come in, load_seeds returns seeds or raises SeedError, never anything else."
import json, tempfile, warnings
from pathlib import Path
import polars as pl
from hypothesis import given, settings, strategies as st, HealthCheck
import synthkit as sk
from synthkit.core import SeedError

SUFFIXES = ['.jsonl', '.json', '.csv', '.tsv', '.parquet', '.ndjson']
KEYS = ['text', 'label', 'intent', 'instruction', 'input', 'output', 'messages', 'response', 'id', 'role', 'content', 'x']
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.sampled_from(KEYS), ch, max_size=3), max_leaves=8)
rows = st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4) | st.text(max_size=20), max_size=8)

def loads_or_seed_error(src, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: df = sk.load_seeds(src, **kw)
        except SeedError as e:
            assert str(e)
            return None
    assert isinstance(df, pl.DataFrame) and df.height > 0
    assert df['id'].n_unique() == df.height
    return df

settings.register_profile('ci', deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile('ci')

@given(st.binary(max_size=300), st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/f'seeds{suffix}'; p.write_bytes(data)
        loads_or_seed_error(p)

@given(st.lists(st.text(max_size=30), max_size=6).map(lambda ls: '\n'.join(ls)), st.sampled_from(SUFFIXES))
def test_random_text_files(text, suffix):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/f'seeds{suffix}'; p.write_text(text, encoding='utf-8')
        loads_or_seed_error(p)

@given(rows)
def test_random_rows(rs):
    loads_or_seed_error(rs)

@given(rows, st.sampled_from([None, 'text', 'instruction', 'chat']))
def test_random_rows_as_jsonl(rs, kind):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'s.jsonl'
        p.write_text('\n'.join(json.dumps(r if isinstance(r, dict) else {'text': r}) for r in rs))
        loads_or_seed_error(p, kind=kind)
