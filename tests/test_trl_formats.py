"Files for TRL: DPO pairs (standard and conversational, JSONL, parquet, HF) and chat JSONL load with `datasets` as TRL's trainers expect."
import json
import datasets
import polars as pl
import pytest
import synthkit as sk
from synthkit.core import ExportError
from synthkit.export import export, load_export
from synthkit.cards import card_info
from synthkit.recipes.preferences import ASPECTS, Pairwise, PreferenceError, Rubric
from synthkit.teachers import Request, ScriptedTeacher

COLUMNS = ['prompt', 'chosen', 'rejected']
STRING = datasets.Value('string')
MESSAGES = datasets.List({'role': STRING, 'content': STRING})   # the feature of TRL's conversational datasets

def writer(req: Request) -> str:
    "Careful persona: a checked answer (unicode, a pipe, a line separator); careless: a guess."
    if req.system and 'hurry' in req.system: return 'No idea.'
    return f'A checked answer «ü» | to: {req.prompt.splitlines()[0]}\u2028done'

def rate(req: Request) -> str:
    good = 'checked answer' in req.prompt.split('<response>')[1]
    return json.dumps({a: {'score': 5 if good else 1, 'reason': 'checked' if good else 'a guess'} for a in ASPECTS})

def first(req: Request) -> str:
    "A pairwise judge that always prefers the answer it reads first: pure position bias."
    return json.dumps({'better': '1', 'reason': 'first'})

@pytest.fixture(scope='module')
def pairs():
    "Four kept pairs and one dropped as a tie (both answers are guesses)."
    t = ScriptedTeacher(writer, model='scripted-writer')
    kept = sk.recipes.preferences(['Say hi.', 'Add 2 and 3.', 'Name a colour.', 'Spell "cat".'], teacher=t,
                                  personas=True, judge=Rubric(ScriptedTeacher(rate, model='scripted-judge')))
    tie = sk.recipes.preferences(['Guess.'], teacher=ScriptedTeacher(lambda text: 'No idea.', model='guesser'),
                                 samples=2, judge=Rubric(ScriptedTeacher(rate, model='scripted-judge')))
    return pl.concat([kept, tie], how='diagonal_relaxed')

def load(path, tmp_path):
    "The file as a trainer loads it: `datasets.load_dataset('json' | 'parquet', ...)`."
    kind = 'parquet' if path.suffix == '.parquet' else 'json'
    return datasets.load_dataset(kind, data_files=str(path), split='train', cache_dir=str(tmp_path/'hf_cache'))

def assert_trl_preference(ds, conversational: bool, system: str | None = None):
    "Exactly TRL's explicit-prompt preference format: the columns, their types, and the roles in each record."
    assert ds.column_names == COLUMNS
    assert ds.features == datasets.Features({c: MESSAGES if conversational else STRING for c in COLUMNS})
    for r in ds:
        if not conversational:
            assert all(isinstance(r[c], str) and r[c] for c in COLUMNS)
            continue
        assert [m['role'] for m in r['prompt']] == (['system'] if system else []) + ['user']
        assert [m['role'] for m in r['chosen']] == [m['role'] for m in r['rejected']] == ['assistant']
        assert all(isinstance(m['content'], str) and set(m) == {'role', 'content'} for c in COLUMNS for m in r[c])

@pytest.mark.parametrize('name', ['pairs.dpo.jsonl', 'pairs.dpo.parquet'])
def test_standard_dpo_file_loads_as_trl_expects(tmp_path, pairs, name):
    out = export(pairs, tmp_path/name)
    assert (out.format, out.rows, out.dropped) == ('dpo', 4, 1)
    ds = load(out.path, tmp_path)
    assert_trl_preference(ds, conversational=False)
    kept = pairs.filter(pl.col('keep'))
    assert ds.to_list() == kept.select(COLUMNS).to_dicts()       # the texts byte for byte, the tie left out
    assert '\u2028' in ds[0]['chosen'] and '«ü» |' in ds[0]['chosen']
    assert load_export(out.path).to_dicts() == kept.select(COLUMNS).to_dicts()

@pytest.mark.parametrize('name', ['pairs.dpo.jsonl', 'pairs.dpo.parquet'])
@pytest.mark.parametrize('system', [None, 'You are a careful assistant.'])
def test_conversational_dpo_file_loads_as_trl_expects(tmp_path, pairs, name, system):
    out = export(pairs, tmp_path/name, conversational=True, system=system)
    ds = load(out.path, tmp_path)
    assert_trl_preference(ds, conversational=True, system=system)
    kept = pairs.filter(pl.col('keep'))
    assert [r['prompt'][-1]['content'] for r in ds] == kept['prompt'].to_list()
    assert [r['chosen'][0]['content'] for r in ds] == kept['chosen'].to_list()
    assert card_info(out.path)['shape'] == 'conversational'

def test_a_system_turn_makes_pairs_conversational(tmp_path, pairs):
    out = export(pairs, tmp_path/'s.dpo.jsonl', system='Be brief.')       # the standard format has no place for it
    assert_trl_preference(load(out.path, tmp_path), conversational=True, system='Be brief.')

@pytest.mark.parametrize('conversational', [False, True])
def test_dpo_hf_dataset_saved_with_its_card_and_loaded_back(tmp_path, pairs, conversational):
    ds = export(pairs, tmp_path/'hfpairs', format='hf', layout='dpo', conversational=conversational)
    assert_trl_preference(ds, conversational)
    again = datasets.load_from_disk(str(tmp_path/'hfpairs'))
    assert_trl_preference(again, conversational)
    assert again.to_list() == ds.to_list() and ds.num_rows == 4
    assert '## Preference pairs' in (tmp_path/'hfpairs'/'README.md').read_text(encoding='utf-8')
    assert export(pairs, format='hf', layout='dpo', conversational=conversational).to_list() == ds.to_list()

def test_card_states_teachers_judge_margin_and_figures(tmp_path, pairs):
    card = export(pairs, tmp_path/'p.dpo.jsonl').card.read_text(encoding='utf-8')
    assert '| answers written by | scripted-writer (4), guesser (1) |' in card
    assert '| chosen answers from | careful (4) |' in card and '| rejected answers from | careless (4) |' in card
    assert '| rated by | Rubric (instruction\\_following, helpfulness, truthfulness, honesty) by scripted-judge |' in card
    assert '| smallest margin kept (min\\_margin) | 1 |' in card and '| mean margin of kept pairs | 4 |' in card
    assert '| pairs kept | 4 of 5 |' in card and '| dropped: tie | 1 |' in card
    assert 'position bias | not measured' in card
    biased = sk.recipes.preferences(['Say hi.', 'Add 2 and 3.'], teacher=ScriptedTeacher(writer, model='w'),
                                    personas=True, judge=Pairwise(ScriptedTeacher(first, model='j')), min_margin=0.5)
    out = export(biased, tmp_path/'b.dpo.jsonl', only_kept=False)      # every pair is a position-bias tie
    assert out.rows == 2 and len(load(out.path, tmp_path)) == 2
    card = out.card.read_text(encoding='utf-8')
    assert '| rated by | Pairwise (helpfulness, both orders) by j |' in card
    assert '| pairwise comparisons (each asked in both orders) | 2 |' in card
    assert '| both orders agreed | 0% |' in card and '| first position won (50% is unbiased) | 100% |' in card
    assert '| smallest margin kept (min\\_margin) | 0.5 |' in card

def test_dpo_errors_say_what_and_how(tmp_path, pairs):
    with pytest.raises(ExportError, match='no path was given'): export(pairs, format='dpo')
    with pytest.raises(PreferenceError, match='no prompt, chosen, rejected column'):
        export(pl.DataFrame({'text': ['a'], 'keep': [True]}), tmp_path/'x.dpo.jsonl')
    with pytest.raises(ExportError, match='rows have keep=False'): export(pairs.filter(~pl.col('keep')), tmp_path/'y.dpo.jsonl')
    with pytest.raises(ExportError, match='layout="dpo2"'): export(pairs, format='hf', layout='dpo2')
    assert not (tmp_path/'x.dpo.jsonl').exists() and not (tmp_path/'y.dpo.jsonl').exists()

@pytest.mark.parametrize('name', ['all.jsonl', 'all.parquet', 'hfall'])
def test_the_whole_pairs_frame_round_trips_losslessly(tmp_path, pairs, name):
    "Beside the DPO records, the archive formats keep every column: candidates, scores, reasons, rated_by."
    export(pairs, tmp_path/name, only_kept=False, format='hf' if name == 'hfall' else None)
    back = load_export(tmp_path/name)
    assert back.equals(pairs) and back.schema == pairs.schema

# ---------------------------------------------------------------- chat (TRL's SFT conversational format)

def player(req: Request) -> str:
    asked = req.prefix.count('User: ')
    if req.prompt.endswith('User:'): return 'DONE' if asked >= 2 else f'Question {asked + 1} «ü» | about fees?'
    return f'Answer {asked}.'

@pytest.fixture(scope='module')
def chats():
    return sk.recipes.conversations(ScriptedTeacher(player), topics=['fees', 'fraud'], personas=['a student'],
                                    turns=(2, 6), mode='turns', n=6)

def test_chat_jsonl_loads_as_trl_sft_expects(tmp_path, chats):
    out = export(chats, tmp_path/'train.chat.jsonl', system='You help bank customers.')
    ds = load(out.path, tmp_path)
    assert ds.column_names == ['messages'] and ds.features == datasets.Features({'messages': MESSAGES})
    for r, msgs in zip(ds, chats['messages'].to_list()):
        roles = [m['role'] for m in r['messages']]
        assert roles[0] == 'system' and roles[1:] == ['user', 'assistant'] * (len(roles[1:]) // 2)
        assert r['messages'][1:] == msgs and all(isinstance(m['content'], str) for m in r['messages'])

def test_chat_hf_dataset_is_the_same_records(tmp_path, chats):
    ds = export(chats, tmp_path/'hfchat', format='hf', layout='chat')
    assert ds.features == datasets.Features({'messages': MESSAGES})
    assert datasets.load_from_disk(str(tmp_path/'hfchat')).to_list() == [{'messages': m} for m in chats['messages'].to_list()]
    back = load_export(tmp_path/'hfchat')
    assert back['messages'].to_list() == chats['messages'].to_list()
