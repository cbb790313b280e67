"Export: round trips of every format for text, instruction and chat rows, the exact training-record shapes, the dataset card, blending, and the optional Hugging Face path."
import json, re, sys, warnings
import polars as pl
import pytest
from synthkit.core import COLUMNS, ExportError
from synthkit.seeds import load_seeds
from synthkit.judge import judge, RuleJudge
from synthkit.blend import blend
from synthkit.export import (ExportWarning, Exported, export, format_of, load_export, messages_of, training_records)
from synthkit.cards import dataset_card, mix_table

CHATS = [{'messages': [{'role': 'system', 'content': 'Answer in one word.'}, {'role': 'user', 'content': 'Capital of France?'},
                       {'role': 'assistant', 'content': 'Paris'}]},
         {'messages': [{'role': 'user', 'content': '2+2?'}, {'role': 'assistant', 'content': '4'},
                       {'role': 'user', 'content': 'and 3+3? «ünïcode» \u2028 line'}, {'role': 'assistant', 'content': '6'}]},
         {'messages': [{'role': 'user', 'content': 'Say "hi" | with a pipe'}, {'role': 'assistant', 'content': 'hi'}]}]

def synthetic_rows(seeds:pl.DataFrame, per_label:int, keep_every:int|None=None)->pl.DataFrame:
    "Hand-made synthetic text rows: `per_label` per seed label, with provenance; every `keep_every`-th row dropped by a judge."
    rows, i = [], 0
    for lab in sorted(set(seeds['label'].to_list())):
        for k in range(per_label):
            drop = keep_every is not None and i % keep_every == 0
            rows.append({'kind': 'text', 'text': f'synthetic {lab} request number {k}', 'label': lab, 'source': 'synthetic',
                         'parent_ids': seeds.filter(pl.col('label') == lab)['id'].head(2).to_list(), 'strategy': 'quotas', 'round': 1 + k % 2,
                         'teacher': 'claude-haiku-4-5', 'prompt_hash': f'p{i // 3}', 'input_tokens': 100, 'output_tokens': 20, 'cost_usd': 0.0005,
                         'keep': not drop, 'reasons': ['heuristics: too short'] if drop else []})
            i += 1
    from synthkit.core import with_ids
    schema = {c: COLUMNS[c][0] for c in rows[0] if c in COLUMNS} | {'keep': pl.Boolean, 'reasons': pl.List(pl.String)}
    return with_ids(pl.DataFrame(rows, schema=schema))

@pytest.fixture(scope='module')
def support(): return load_seeds('support_requests')

@pytest.fixture(scope='module')
def tasks():
    t = load_seeds('instruction_tasks')
    reasoning = [f'Step {i}: read the task, then answer.' if i % 3 == 0 else None for i in range(t.height)]
    return t.with_columns(pl.Series('reasoning', reasoning, dtype=pl.String), keep=pl.Series([i != 5 for i in range(t.height)]))

@pytest.fixture(scope='module')
def chats(): return load_seeds(CHATS)

@pytest.fixture(scope='module')
def text_batch(support):
    "Seeds and judged synthetic rows together, the shape of a blended, judged batch."
    return pl.concat([support, synthetic_rows(support, 3, keep_every=4)], how='diagonal_relaxed')

def frames(support, tasks, chats, text_batch):
    return {'text': text_batch, 'instruction': tasks, 'chat': chats}

# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize('kind', ['text', 'instruction', 'chat'])
@pytest.mark.parametrize('name', ['x.jsonl', 'x.parquet'])
def test_lossless_formats_read_back_the_identical_frame(tmp_path, support, tasks, chats, text_batch, kind, name):
    df = frames(support, tasks, chats, text_batch)[kind]
    out = export(df, tmp_path/name, only_kept=False)
    back = load_export(out.path)
    assert back.schema == df.schema
    assert back.equals(df), (back, df)

def test_jsonl_round_trip_keeps_all_null_and_nested_columns(tmp_path, chats):
    df = chats.with_columns(pl.lit(None, dtype=pl.Float64).alias('score'), pl.lit(None, dtype=pl.String).alias('teacher'),
                            pl.Series('reasons', [[], ['a|b'], None], dtype=pl.List(pl.String)))
    export(df, tmp_path/'c.jsonl')
    back = load_export(tmp_path/'c.jsonl')
    assert back.equals(df) and back.schema == df.schema

def test_jsonl_without_a_card_still_types_the_schema_columns(tmp_path, text_batch):
    export(text_batch, tmp_path/'t.jsonl', only_kept=False, card=False)
    back = load_export(tmp_path/'t.jsonl')
    assert back.schema == text_batch.schema
    assert back.equals(text_batch)

@pytest.mark.parametrize('fmt', ['chat', 'prompt_completion'])
def test_training_formats_map_text_rows_back_to_text_and_label(tmp_path, text_batch, fmt):
    out = export(text_batch, tmp_path/f'train.{fmt}.jsonl', system='Route the request.')
    back = load_export(out.path)
    kept = text_batch.filter(pl.col('keep').fill_null(True))
    assert back.select('id', 'kind', 'text', 'label').to_dicts() == kept.select('id', 'kind', 'text', 'label').to_dicts()

@pytest.mark.parametrize('fmt', ['chat', 'prompt_completion'])
@pytest.mark.parametrize('reasoning', [False, True])
def test_training_formats_map_instruction_rows_back(tmp_path, tasks, fmt, reasoning):
    out = export(tasks, tmp_path/f'tasks.{fmt}.jsonl', reasoning=reasoning)
    back = load_export(out.path)
    kept = tasks.filter(pl.col('keep'))
    cols = ['kind', 'instruction', 'input', 'output'] + (['reasoning'] if reasoning else [])
    assert back.select(cols).to_dicts() == kept.select(cols).to_dicts()
    assert ('reasoning' in back.columns) == reasoning

@pytest.mark.parametrize('fmt', ['chat', 'prompt_completion'])
def test_training_formats_map_chat_rows_back_with_their_ids(tmp_path, chats, fmt):
    out = export(chats, tmp_path/f'c.{fmt}.jsonl', system='Be kind.')
    back = load_export(out.path)
    assert back['messages'].to_list() == chats['messages'].to_list()
    assert back['id'].to_list() == chats['id'].to_list()

def test_without_a_card_the_kind_is_given_or_rows_come_back_as_chat(tmp_path, support):
    export(support, tmp_path/'s.chat.jsonl', card=False)
    as_chat = load_export(tmp_path/'s.chat.jsonl')
    assert set(as_chat['kind']) == {'chat'} and as_chat['messages'][0].to_list()[1]['content'] == support['label'][0]
    as_text = load_export(tmp_path/'s.chat.jsonl', kind='text')
    assert as_text.select('id', 'text', 'label').equals(support.select('id', 'text', 'label'))

def test_hf_round_trip(tmp_path, text_batch):
    ds = export(text_batch, format='hf')
    kept = text_batch.filter(pl.col('keep').fill_null(True))
    assert ds.num_rows == kept.height and ds.column_names == kept.columns
    ds2 = export(text_batch, tmp_path/'hfset', format='hf')
    assert (tmp_path/'hfset'/'README.md').exists() and ds2.num_rows == kept.height
    assert load_export(tmp_path/'hfset').equals(kept)
    chat = export(text_batch, format='hf', layout='chat', system='S')
    assert chat.column_names == ['messages'] and chat[0]['messages'][0] == {'role': 'system', 'content': 'S'}

# ---------------------------------------------------------------- keep

@pytest.mark.parametrize('name', ['k.chat.jsonl', 'k.prompt_completion.jsonl', 'k.jsonl', 'k.parquet'])
def test_rows_with_keep_false_are_left_out_unless_asked(tmp_path, text_batch, name):
    dropped = text_batch.filter(~pl.col('keep').fill_null(True))
    assert dropped.height > 0
    out = export(text_batch, tmp_path/name)
    assert (out.rows, out.dropped) == (text_batch.height - dropped.height, dropped.height)
    back = load_export(out.path, kind='text')
    assert not set(back['text']) & set(dropped['text'])
    everything = export(text_batch, tmp_path/('all_' + name), only_kept=False)
    assert everything.rows == text_batch.height and len(load_export(everything.path, kind='text')) == text_batch.height

def test_no_part_files_are_left_behind(tmp_path, support):
    for name in ['a.chat.jsonl', 'a.jsonl', 'a.parquet']: export(support, tmp_path/name)
    assert not list(tmp_path.glob('*.part'))

# ---------------------------------------------------------------- exact shapes

def lines(path): return [json.loads(l) for l in path.read_text(encoding='utf-8').splitlines()]

def test_chat_shape_of_a_text_row(tmp_path):
    df = pl.DataFrame({'kind': ['text'], 'text': ['I lost my card'], 'label': ['card_lost']})
    export(df, tmp_path/'t.chat.jsonl')
    assert lines(tmp_path/'t.chat.jsonl') == [{'messages': [{'role': 'user', 'content': 'I lost my card'}, {'role': 'assistant', 'content': 'card_lost'}]}]
    export(df, tmp_path/'s.chat.jsonl', system='Route it.')
    assert lines(tmp_path/'s.chat.jsonl')[0]['messages'][0] == {'role': 'system', 'content': 'Route it.'}
    export(df, tmp_path/'p.prompt_completion.jsonl')
    assert lines(tmp_path/'p.prompt_completion.jsonl') == [{'prompt': 'I lost my card', 'completion': 'card_lost'}]

def test_chat_shape_of_instruction_rows(tmp_path):
    df = pl.DataFrame({'kind': ['instruction'] * 2, 'text': ['Add them.', 'Name a colour.'], 'instruction': ['Add them.', 'Name a colour.'],
                       'input': ['2, 3', ''], 'output': ['5', 'Blue'], 'reasoning': ['2 + 3 = 5', None]})
    export(df, tmp_path/'i.chat.jsonl')
    assert lines(tmp_path/'i.chat.jsonl') == [
        {'messages': [{'role': 'user', 'content': 'Add them.\n\n2, 3'}, {'role': 'assistant', 'content': '5'}]},
        {'messages': [{'role': 'user', 'content': 'Name a colour.'}, {'role': 'assistant', 'content': 'Blue'}]}]
    export(df, tmp_path/'r.chat.jsonl', reasoning=True)
    assert lines(tmp_path/'r.chat.jsonl')[0]['messages'][1] == {'role': 'assistant', 'content': '<think>\n2 + 3 = 5\n</think>\n\n5'}
    assert lines(tmp_path/'r.chat.jsonl')[1]['messages'][1] == {'role': 'assistant', 'content': 'Blue'}

def test_chat_rows_are_written_as_they_are(tmp_path, chats):
    export(chats, tmp_path/'c.chat.jsonl', system='Be kind.')
    got = lines(tmp_path/'c.chat.jsonl')
    assert got[0] == {'messages': CHATS[0]['messages']}                       # has its own system turn: left alone
    assert got[1] == {'messages': [{'role': 'system', 'content': 'Be kind.'}] + CHATS[1]['messages']}
    assert all(set(r) == {'messages'} for r in got)
    assert all(set(m) == {'role', 'content'} for r in got for m in r['messages'])

def test_prompt_completion_of_chat_rows_is_conversational():
    recs = training_records(load_seeds(CHATS[1:2]), 'prompt_completion')
    assert recs == [{'prompt': CHATS[1]['messages'][:3], 'completion': [CHATS[1]['messages'][3]]}]

def test_line_separators_inside_text_do_not_split_records(tmp_path, chats):
    for name in ['u.chat.jsonl', 'u.jsonl']:
        export(chats, tmp_path/name)
        raw = (tmp_path/name).read_text(encoding='utf-8')
        assert '\u2028' not in raw and len(raw.splitlines()) == chats.height

def test_templates(tmp_path, support):
    row = support.row(0, named=True)
    assert messages_of(row, template='Intent of: {text}')[0]['content'] == 'Intent of: ' + row['text']
    gen = messages_of(row, template={'user': 'Write a request about {label}', 'assistant': '{text}'})
    assert gen == [{'role': 'user', 'content': 'Write a request about card_lost'}, {'role': 'assistant', 'content': row['text']}]
    unlabelled = support.drop('label')
    out = export(unlabelled, tmp_path/'g.chat.jsonl', template={'user': 'Write a bank customer message.', 'assistant': '{text}'})
    assert out.rows == support.height
    fn = export(support, tmp_path/'f.chat.jsonl', template=lambda r: [{'role': 'user', 'content': r['text']}, {'role': 'assistant', 'content': r['label'].upper()}])
    assert fn.head()[0]['messages'][1]['content'] == 'CARD_LOST'
    assert load_export(fn.path)['kind'].unique().to_list() == ['chat']       # a template cannot be undone: rows come back as chat

# ---------------------------------------------------------------- errors

def test_errors_say_what_and_how(tmp_path, support, text_batch):
    with pytest.raises(ExportError, match='unknown format "alpaca"'): export(support, tmp_path/'x.jsonl', format='alpaca')
    with pytest.raises(ExportError, match='cannot tell the format from the name "x.csv"'): export(support, tmp_path/'x.csv')
    with pytest.raises(ExportError, match='the batch is empty'): export(support.head(0), tmp_path/'x.jsonl')
    with pytest.raises(ExportError, match='all 2 rows have keep=False; pass only_kept=False'):
        export(text_batch.head(2).with_columns(keep=pl.lit(False)), tmp_path/'x.jsonl')
    with pytest.raises(ExportError, match='85 of 85 text rows have no label.*pass template='): export(support.drop('label'), tmp_path/'x.chat.jsonl')
    with pytest.raises(ExportError, match='the template names {topic}'): export(support, tmp_path/'x.chat.jsonl', template='About {topic}')
    with pytest.raises(ExportError, match='no such file'): load_export(tmp_path/'missing.jsonl')
    assert not (tmp_path/'x.chat.jsonl').exists()

def test_missing_datasets_error(monkeypatch, support, tmp_path):
    monkeypatch.setitem(sys.modules, 'datasets', None)   # import datasets now raises ImportError, installed or not
    with pytest.raises(ExportError) as e: export(support, format='hf')
    assert 'needs the Hugging Face datasets library' in str(e.value) and 'pip install "synthkit[hf]"' in str(e.value)
    assert e.value.fix == 'pip install "synthkit[hf]"'

def test_format_from_name():
    assert [format_of(n) for n in ['a.chat.jsonl', 'a.pc.jsonl', 'a.prompt_completion.jsonl', 'a.JSONL', 'a.ndjson', 'a.parquet']] == \
        ['chat', 'prompt_completion', 'prompt_completion', 'jsonl', 'jsonl', 'parquet']
    assert format_of(None, 'hf') == 'hf'

# ---------------------------------------------------------------- card

def cells(line:str)->list[str]:
    "A markdown table row's cells, split on pipes that are not escaped."
    return [c.strip() for c in re.split(r'(?<!\\)\|', line.strip())[1:-1]]

def test_card_has_the_funnel_the_share_and_the_privacy_statement(tmp_path, support):
    syn = synthetic_rows(support, 4)
    judged = judge(syn, [RuleJudge(lambda t: not t.endswith(('0', '1')), name='length')])   # drops numbers 0 and 1 of each label
    batch = pl.concat([support, judged.filter(pl.col('keep'))], how='diagonal_relaxed')
    out = export(batch, tmp_path/'mix.chat.jsonl', seeds=support, judged=judged, diversity={'distinct_2': 0.5123, 'self|bleu': 0.3})
    assert out.card == tmp_path/'mix.chat.jsonl.card.md'
    card = out.card.read_text(encoding='utf-8')
    assert '| generated | 36 | 100% |' in card and '| passed length | 18 | 50% |' in card and '| accepted | 18 | 50% |' in card
    assert f'**{support.height + 18} rows**: {support.height} real (human-written) and 18 synthetic, **{18 / (support.height + 18):.1%} synthetic**' in card
    assert '| synthetic | 18 |' in card
    assert 'a net, not a guarantee' in card and 'No differential privacy' in card and 'no formal privacy guarantee' in card
    assert '| seeds | 85 human-written rows, 9 labels |' in card
    assert 'claude-haiku-4-5 (18 rows)' in card
    assert '| distinct\\_2 | 0.5123 |' in card and 'self\\|bleu' in card
    assert '| these rows | 1,800 | 360 | \\$0.0090 |' in card              # 18 synthetic rows of 100/20 tokens, $0.0005 each
    assert '| all generated rows (kept and dropped) | 3,600 | 720 | \\$0.0180 |' in card

def test_card_escapes_user_text(support):
    df = pl.DataFrame({'kind': ['text'] * 3, 'text': ['a', 'b', 'c'], 'label': ['yes|no', 'yes|no', '<img src=x onerror=alert(1)>'],
                       'source': ['seed', 'synthetic', 'synthetic'], 'teacher': [None, 'model|x', 'model|x']})
    card = dataset_card(df, title='My | data')
    row = next(l for l in card.splitlines() if l.startswith('| yes'))
    assert cells(row) == ['yes\\|no', '1', '1', '2', '50%']
    assert '<img' not in card and '&lt;img src=x onerror=alert(1)&gt;' in card
    assert 'model\\|x (2 rows)' in card
    assert card.splitlines()[card.splitlines().index('---', 1) + 2] == '# My \\| data'
    for line in card.splitlines():          # every table row has as many cells as its header
        if line.startswith('|'): assert len(cells(line)) in (2, 3, 4, 5), line

def test_card_reads_a_run_manifest(tmp_path, support):
    man = {'seeds': 'support_requests', 'seed_rows': 85, 'model': 'gemma|3', 'judges': ['heuristics', 'pii'], 'calls': 12, 'cached_calls': 4,
           'tokens': {'input_tokens': 1000, 'output_tokens': 200}, 'cost_usd': 0.25, 'topic': 'bank *messages*',
           'funnel': [{'stage': 'generated', 'rows': 10, 'share': 1.0}, {'stage': 'accepted', 'rows': 7, 'share': 0.7}]}
    (tmp_path/'manifest.json').write_text(json.dumps(man))
    card = dataset_card(support.head(3), manifest=tmp_path)
    assert '| seeds | 85 human-written rows (support\\_requests) |' in card
    assert '| accepted | 7 | 70% |' in card and '12 teacher calls (4 from the cache)' in card and '\\$0.2500 in all' in card
    assert 'bank \\*messages\\*' in card and '`pii`' in card and '`leak`' not in card
    with pytest.raises(ExportError, match='cannot read the manifest'): dataset_card(support, manifest=tmp_path/'nope.json')

def test_card_without_provenance_says_so():
    card = dataset_card(pl.DataFrame({'text': ['a']}))
    assert 'their source is not recorded' in card and 'No PII or leak check was recorded' in card and 'No judge was recorded' in card

def test_card_options(tmp_path, support):
    assert export(support, tmp_path/'n.jsonl', card=False).card is None and not list(tmp_path.glob('*.md'))
    out = export(support, tmp_path/'c.parquet', card=tmp_path/'README.md')
    assert out.card == tmp_path/'README.md' and out.card.read_text(encoding='utf-8').startswith('---\n')

# ---------------------------------------------------------------- blend

@pytest.fixture(scope='module')
def real():
    labels = ['a'] * 20 + ['b'] * 10 + ['c|d'] * 4
    return pl.DataFrame({'text': [f'real {i}' for i in range(len(labels))], 'label': labels, 'source': 'seed'})

@pytest.fixture(scope='module')
def synth():
    labels = ['a'] * 30 + ['b'] * 12 + ['c|d'] * 1 + ['e'] * 5
    return pl.DataFrame({'text': [f'syn {i}' for i in range(len(labels))], 'label': labels, 'source': 'synthetic',
                         'keep': [i % 10 != 9 for i in range(len(labels))]})   # 'a' has 27 kept, 'b' 11 (rows 29 and 39 dropped)

def test_blend_shares_are_exact_per_label_when_rows_suffice(real, synth):
    r, y = real.filter(pl.col('label').is_in(['a', 'b'])), synth.filter(pl.col('label').is_in(['a', 'b']))
    with warnings.catch_warnings():
        warnings.simplefilter('error')                                       # enough rows everywhere: no warning
        mix = blend(r, y, synthetic_share=0.5)
        assert {x['label']: (x['real'], x['synthetic']) for x in mix_table(mix).to_dicts()} == {'a': (20, 20), 'b': (10, 10)}
        assert set(mix['source']) == {'seed', 'synthetic'}
        assert not set(mix['text']) & {f'syn {i}' for i in range(len(synth)) if i % 10 == 9}    # rows with keep=False never join
        mix = blend(r, y, synthetic_share=0.25, n=24)
        assert {x['label']: (x['real'], x['synthetic']) for x in mix_table(mix).to_dicts()} == {'a': (12, 4), 'b': (6, 2)}
        assert mix.height == 24                                              # 24 rows spread 2:1 like the real data, a quarter synthetic

def test_blend_warns_with_numbers_and_keeps_the_share_elsewhere(real, synth):
    with pytest.warns(ExportWarning) as ws: mix = blend(real, synth, synthetic_share=0.5)
    msg = str(ws[0].message)
    assert 'b: 10 synthetic rows wanted' not in msg
    assert 'c|d: 4 synthetic rows wanted, 1 found; it gets 4 real + 1 synthetic (20% synthetic, not 50%)' in msg
    assert 'e: no real rows, so its 5 synthetic rows are left out' in msg
    t = {r['label']: (r['real'], r['synthetic']) for r in mix_table(mix).to_dicts()}
    assert t == {'a': (20, 20), 'b': (10, 10), 'c|d': (4, 1)}              # nothing moved to a or b to make up for c|d
    with pytest.warns(ExportWarning, match='a: 20 synthetic rows wanted, 0 found'):
        blend(real.filter(pl.col('label') == 'a'), synth.filter(pl.col('label') == 'b'), synthetic_share=0.5)

def test_blend_is_repeatable_and_checks_its_arguments(real, synth):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert blend(real, synth, seed=3).equals(blend(real, synth, seed=3))
        assert mix_table(blend(real, synth, synthetic_share=0.0), by=None)['synthetic'].to_list() == [0]
        assert mix_table(blend(real, synth, synthetic_share=1.0), by=None)['real'].to_list() == [0]
    with pytest.raises(ExportError, match='not a share between 0 and 1'): blend(real, synth, synthetic_share=-0.1)
    with pytest.raises(ExportError, match='no "label" column'): blend(real.drop('label'), synth)

def test_card_records_the_blend_share(real, synth):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        mix = blend(real, synth, synthetic_share=0.5)
    card = dataset_card(mix)
    assert '**47.7% synthetic**' in card                                      # 31 synthetic of 65 rows
    assert cells(next(l for l in card.splitlines() if l.startswith('| c\\|d'))) == ['c\\|d', '4', '1', '5', '20%']

def test_pii_redaction_reaches_every_field_before_export(tmp_path):
    import warnings
    from synthkit.privacy import PII
    task = pl.DataFrame({'kind': ['instruction'], 'text': ['Write to jo.smith@example.com'], 'instruction': ['Write to jo.smith@example.com'],
                         'input': [''], 'output': ['Done, called 020 7946 0958.']})
    judged = judge(task, [PII('redact')])
    assert 'jo.smith' not in judged['text'][0] and 'jo.smith' not in judged['instruction'][0] and '7946' not in judged['output'][0]
    with warnings.catch_warnings():
        warnings.simplefilter('error', ExportWarning)
        export(judged, tmp_path/'p.chat.jsonl', card=False)
    out = (tmp_path/'p.chat.jsonl').read_text()
    assert 'jo.smith' not in out and '7946' not in out and '[EMAIL]' in out
