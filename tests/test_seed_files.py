"Bad seed files get a SeedError that names the file, the line and the fix; fixable problems are warnings that count."
import json, warnings
import polars as pl
import pytest
import synthkit as sk
from synthkit.core import SeedError

CASES = [  # file name, bytes, what the message must say
    ('malformed.jsonl', b'{"text": "a", "label": "x"}\n{"text": "b" "label": "x"}\n', ['malformed.jsonl line 2', 'malformed JSON', 'one complete JSON object']),
    ('missing.jsonl', b'{"text": "a", "label": "x"}\n{"body": "b", "label": "x"}\n', ['missing.jsonl line 2', 'no "text" field (found: "body", "label")', 'pass text="body"']),
    ('nocol.csv', b'body,intent\nhello,greet\n', ['nocol.csv line 2', 'no "text" field (found: "body", "intent")', 'pass text="body"']),
    ('empty.jsonl', b'', ['empty.jsonl: no rows']),
    ('blank_lines.jsonl', b'\n\n  \n', ['blank_lines.jsonl: no rows']),
    ('header_only.csv', b'text,label\n', ['header_only.csv: no rows']),
    ('latin1.jsonl', '{"text": "caf\xe9"}\n'.encode('latin-1'), ['latin1.jsonl line 1', 'not UTF-8', 'save the file as UTF-8']),
    ('number.jsonl', b'{"text": "ok", "label": "a"}\n{"text": 3.5, "label": "a"}\n', ['number.jsonl line 2', '"text" is a number (3.5), not text']),
    ('list.jsonl', b'{"text": ["a", "b"]}\n', ['list.jsonl line 1', '"text" is a list']),
    ('array_line.jsonl', b'["a"]\n', ['array_line.jsonl line 1', 'not a JSON object']),
    ('nolabel.csv', b'text,label\na,x\nb,\n', ['nolabel.csv line 3', '"label" is empty', 'label=False']),
    ('bad_chat.jsonl', b'{"messages": [{"role": "robot", "content": "hi"}]}\n', ['bad_chat.jsonl line 1', 'turn 0 of "messages"']),
    ('no_user.jsonl', b'{"messages": [{"role": "assistant", "content": "hi"}]}\n', ['no_user.jsonl line 1', 'no user turn']),
    ('ragged.tsv', b'text\tlabel\na\tb\tc\n', ['ragged.tsv line 2', '3 fields but the header has 2']),
    ('bad.json', b'[{"text": "a"},]', ['bad.json line 1', 'malformed JSON']),
    ('notes.xlsx', b'PK\x03\x04', ['notes.xlsx', 'unknown file type ".xlsx"', 'use .jsonl']),
    ('utf16_odd.csv', b'\xff\xfet\x00e\x00x', ['utf16_odd.csv', 'starts like UTF-16']),
    ('broken.parquet', b'PAR1 not really', ['broken.parquet', 'not a readable parquet file']),
]

@pytest.mark.parametrize('name,data,says', CASES, ids=[c[0] for c in CASES])
def test_bad_file_names_line_and_fix(tmp_path, name, data, says):
    (tmp_path/name).write_bytes(data)
    with pytest.raises(SeedError) as e: sk.load_seeds(tmp_path/name)
    for s in says: assert s in str(e.value), f'{s!r} not in {str(e.value)!r}'

def test_missing_file_says_so(tmp_path):
    with pytest.raises(SeedError, match='no such file; check the path'): sk.load_seeds(tmp_path/'nope.jsonl')

def test_wrong_column_override_lists_found_columns(tmp_path):
    (tmp_path/'s.csv').write_text('utterance,intent\nhi,greet\n')
    with pytest.raises(SeedError, match='label="category" names no column \\(found: "utterance", "intent"\\)'):
        sk.load_seeds(tmp_path/'s.csv', label='category')
    df = sk.load_seeds(tmp_path/'s.csv')
    assert df.select('text', 'label').to_dicts() == [{'text': 'hi', 'label': 'greet'}]

def warns(f):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always'); out = f()
    return out, [str(w.message) for w in ws]

def test_blank_and_duplicate_rows_dropped_with_counts(tmp_path):
    rows = [{'text': 'a', 'label': 'x'}, {'text': 'a', 'label': 'x'}, {'text': 'a', 'label': 'x'}, {'text': '', 'label': 'x'},
            {'text': None, 'label': 'x'}, {'text': 'b', 'label': 'x'}]
    (tmp_path/'s.jsonl').write_text('\n'.join(json.dumps(r) for r in rows))
    df, msgs = warns(lambda: sk.load_seeds(tmp_path/'s.jsonl'))
    assert df['text'].to_list() == ['a', 'b']
    assert 'dropped 2 blank row(s): s.jsonl line 4, s.jsonl line 5' in msgs
    assert 'dropped 2 duplicate row(s): s.jsonl line 2, s.jsonl line 3' in msgs

def test_label_per_row_warns(tmp_path):
    _, msgs = warns(lambda: sk.load_seeds({'text': ['a', 'b', 'c', 'd'], 'label': ['1', '2', '3', '4']}))
    assert any('every label has exactly one row (4 labels for 4 rows)' in m for m in msgs)
    _, msgs = warns(lambda: sk.load_seeds({'text': ['a', 'b', 'c'], 'label': ['x', 'x', 'y']}))
    assert any('1 label(s) have a single seed (y)' in m for m in msgs)

def test_all_blank_is_an_error():
    with pytest.raises(SeedError, match='every row is blank'): warns(lambda: sk.load_seeds(['', '  ']))

def test_formats_agree(tmp_path):
    "The same seeds give the same ids from jsonl, json, csv, tsv, parquet, pandas and polars."
    rows = [{'text': 'My card is gone', 'label': 'card_lost'}, {'text': 'Refund, please', 'label': 'refund'},
            {'text': 'Card stolen "today"', 'label': 'card_lost'}, {'text': 'Money back?\tNow', 'label': 'refund'}]
    (tmp_path/'s.jsonl').write_text('\n'.join(json.dumps(r) for r in rows))
    (tmp_path/'s.json').write_text(json.dumps(rows))
    pl.DataFrame(rows).write_csv(tmp_path/'s.csv'); pl.DataFrame(rows).write_csv(tmp_path/'s.tsv', separator='\t')
    pl.DataFrame(rows).write_parquet(tmp_path/'s.parquet')
    import pandas as pd
    srcs = [tmp_path/f's.{x}' for x in ['jsonl', 'json', 'csv', 'tsv', 'parquet']] + [pd.DataFrame(rows), pl.DataFrame(rows), rows]
    ids = [sk.load_seeds(s)['id'].to_list() for s in srcs]
    assert all(i == ids[0] for i in ids) and len(ids[0]) == 4

def test_self_instruct_loads(shared):
    df = sk.load_seeds(shared/'self_instruct'/'seed_tasks.jsonl')
    assert df.height == 175 and df['kind'].unique().to_list() == ['instruction']
    raw = [json.loads(l) for l in (shared/'self_instruct'/'seed_tasks.jsonl').read_text().splitlines()]
    assert df['instances'].list.len().to_list() == [len(r['instances']) for r in raw]
    assert df['instruction'].to_list() == [r['instruction'].strip() for r in raw]
    assert df['is_classification'].to_list() == [r['is_classification'] for r in raw]

def test_banking77_loads(shared):
    df = sk.load_seeds(shared/'banking77'/'train.csv')
    assert df['label'].n_unique() == 77 and df.height > 9000
