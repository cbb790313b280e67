"Generation across shapes and teacher styles, with teachers whose answers are known."
import json, re, hashlib, warnings
import polars as pl
import pytest
import synthkit as sk
from synthkit.generate import generate, plan_quotas
from synthkit.shapes import split_items, Shape
from synthkit.strategies import prompt_for, Ask
from synthkit.teachers import ScriptedTeacher, Request

class BaseModelStandIn(ScriptedTeacher):
    "A scripted teacher that is prompted like the embedded base model (completion style)."
    kind = 'local'

V = ['Describe', 'Summarise', 'Explain', 'List', 'Compare', 'Translate', 'Rewrite', 'Classify']
N = ['recipe', 'contract', 'poem', 'bus timetable', 'tax form', 'bird song', 'chess opening', 'garden plan']
Q = ['for a child', 'in one line', 'as a table', 'with examples', 'politely', 'in French', 'step by step', 'briefly']

def continuation(text):
    "Continues a numbered list / block the way a base model would (one new item), varied by the prompt."
    h = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    w = lambda xs, shift: xs[(h >> shift) % len(xs)]
    if text.rstrip().endswith('Instruction:'): return f' {w(V, 0)} the {w(N, 4)} {w(Q, 8)}.\nInput: <none>\nOutput: Here it is, {w(Q, 12)}.'
    if text.rstrip().endswith('User:'): return f' Could you {w(V, 0).lower()} my {w(N, 4)} {w(Q, 8)}?\nAssistant: Gladly, {w(Q, 12)}.'
    return f' {w(V, 0)} my {w(N, 4)} problem {w(Q, 8)}, then {w(V, 12).lower()} the {w(N, 16)} {w(Q, 20)} ({h % 1000})'

def test_completion_style_text_is_one_item_per_call():
    seeds = sk.load_seeds('support_requests')
    t = BaseModelStandIn(continuation)
    b = generate(seeds, t, n=18, strategy='quotas')
    kept = b.filter(pl.col('keep'))
    assert kept.height == 18 and kept['text'].str.contains(' problem ').all()
    assert (kept['label'].value_counts()['count'] == 2).all()

def test_completion_style_instruction_and_chat_shapes():
    tasks = sk.load_seeds('instruction_tasks', label=False)
    b = generate(tasks, BaseModelStandIn(continuation), n=5)
    k = b.filter(pl.col('keep'))
    assert k.height == 5 and k['output'].str.starts_with('Here it is').all() and (k['input'] == '').all()
    chats = sk.load_seeds([{'messages': [{'role': 'user', 'content': f'Where is my order {i}?'}, {'role': 'assistant', 'content': f'It ships in {i} days.'}]} for i in range(4)])
    c = generate(chats, BaseModelStandIn(continuation), n=3).filter(pl.col('keep'))
    assert c.height == 3 and c['messages'].list.len().to_list() == [2, 2, 2] and c['kind'].unique().to_list() == ['chat']

def test_instruction_style_chat_json():
    chats = sk.load_seeds([{'messages': [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}], 'label': 'greet'},
                           {'messages': [{'role': 'user', 'content': 'bye'}, {'role': 'assistant', 'content': 'see you'}], 'label': 'greet'}])
    def writer(text):
        h = hashlib.sha256(text.encode()).hexdigest()
        return json.dumps([[{'role': 'user', 'content': f'hello there {h[i:i+5]} {i}'}, {'role': 'assistant', 'content': 'hi!'}] for i in range(5)])
    b = generate(chats, ScriptedTeacher(writer), n=4)
    assert b.filter(pl.col('keep')).height == 4 and b.filter(pl.col('keep'))['label'].unique().to_list() == ['greet']

@pytest.mark.parametrize('answer,items', [
    ('```json\n["a", "b"]\n```', ['a', 'b']),
    ('1. alpha\n2. beta', ['1. alpha', '2. beta']),
    ('{"items": ["x", "y"]}', ['x', 'y']),
    ('Sure! Here they are:\n["p", "q"]', ['p', 'q']),
])
def test_split_items(answer, items): assert split_items(answer) == items

def test_teacher_failure_becomes_a_reasoned_reject(tmp_path):
    calls = []
    def sometimes(text):
        calls.append(1)
        if len(calls) == 1: raise RuntimeError('boom')
        h = hashlib.sha256(text.encode()).hexdigest()
        return json.dumps([f'unique request {h[i:i + 8]} about cards {i}' for i in range(5)])
    seeds = sk.load_seeds('support_requests').filter(pl.col('label') == 'card_lost')
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); b = generate(seeds, ScriptedTeacher(sometimes), n=5, max_rounds=2)
    failed = b.filter(pl.col('reasons').list.join(';').str.contains('teacher failed'))
    assert failed.height == 1 and 'RuntimeError: boom' in failed['reasons'][0][0]
    assert b.filter(pl.col('keep')).height == 5

def test_same_seed_same_batch_and_rerun_is_cached(tmp_path):
    seeds = sk.load_seeds('support_requests')
    def writer(text):
        h = hashlib.sha256(text.encode()).hexdigest()
        return json.dumps([f'{h[i:i+6]} {h[i+6:i+12]} {h[i+12:i+18]}' for i in range(5)])
    t = ScriptedTeacher(writer, cache=tmp_path/'c.sqlite')
    a = generate(seeds, t, n=20, seed=3)
    calls_before = t.ledger.to_frame()['calls'].sum()
    b = generate(seeds, t, n=20, seed=3)
    assert a['id'].to_list() == b['id'].to_list()
    assert t.ledger.to_frame()['calls'].sum() == calls_before          # the second run made no new calls
    c = generate(seeds, t, n=20, seed=4)
    assert c['id'].to_list() != a['id'].to_list()

def test_budget_stop_returns_what_finished(tmp_path):
    seeds = sk.load_seeds('support_requests')
    def writer(text):
        h = hashlib.sha256(text.encode()).hexdigest()
        return json.dumps([f'{h[i:i+6]} {h[i+6:i+12]} {h[i+12:i+18]}' for i in range(5)])
    t = ScriptedTeacher(writer, max_concurrency=1)
    t.kind = 'metered'; t.pricing = {t.model: (1000.0, 1000.0, 0, 0)}; t.budget_usd = 2.0   # pretend every call costs real money
    with pytest.warns(sk.SynthkitWarning, match='generation stopped early'):
        b = generate(seeds, t, n=90, max_rounds=1)
    assert 0 < b.height < 90 and t.ledger.total_usd <= 2.0

def test_bad_arguments_are_clear():
    seeds = sk.load_seeds('support_requests')
    t = ScriptedTeacher(lambda x: '[]')
    with pytest.raises(sk.GenerateError, match='strategy="magic" is not a strategy'): generate(seeds, t, strategy='magic')
    with pytest.raises(sk.GenerateError, match='unknown evolution'): generate(seeds, t, strategy='evol', evolutions=['sideways'])
    with pytest.raises(sk.GenerateError, match='attributes must be a dict of non-empty lists'): generate(seeds, t, strategy='attributes', attributes={'persona': []})

def test_quota_balance_evens_out_seeds_plus_synthetic():
    seeds = sk.load_seeds('support_requests')
    q = plan_quotas(seeds, 45, 'balance')
    counts = dict(seeds['label'].value_counts().iter_rows())
    totals = {l: counts[l] + q[l] for l in q}
    assert max(totals.values()) - min(totals.values()) <= 1

def test_rephrase_on_a_base_model_shows_pairs_of_the_parents_own_label():
    seeds = sk.load_seeds('support_requests')
    prompts = []
    def parrot(text):
        prompts.append(text)
        return ' ' + ' '.join(reversed(text.rsplit('Original: ', 1)[1].split('\n')[0].split())) + f' ({len(prompts)})'   # novel enough for ROUGE-L
    b = generate(seeds, BaseModelStandIn(parrot), n=12, strategy='evol', evolutions=['rephrase'], quota='uniform', max_rounds=1)
    k = b.filter(pl.col('keep'))
    assert k.height == 12 and (k['evolution'] == 'rephrase').all()
    by_id = dict(zip(seeds['id'].to_list(), seeds['label'].to_list()))
    for row in k.iter_rows(named=True):
        shown = row['parent_ids']
        assert len(shown) == 5 and {by_id[i] for i in shown} == {row['label']}   # 4 seeds in pairs + the parent, all of its label
    assert all(p.count('In other words:') == 3 and p.rstrip().endswith('In other words:') for p in prompts)

def test_rephrase_with_too_few_seeds_falls_back_to_the_plain_rewrite():
    seeds = sk.load_seeds([{'text': 'Where is my parcel?', 'label': 'where'}, {'text': 'Has it shipped?', 'label': 'where'},
                           {'text': 'Cancel my order', 'label': 'cancel'}, {'text': 'Stop that purchase', 'label': 'cancel'}])   # one other seed: no pair to show
    prompts = []
    def rewrite(text):
        prompts.append(text)
        return ['Has my parcel been sent yet', 'Please stop the order I placed', 'Any news on the delivery', 'I no longer want those shoes'][len(prompts) - 1]
    b = generate(seeds, BaseModelStandIn(rewrite), n=2, strategy='evol', evolutions=['rephrase'], max_rounds=1)
    assert b.filter(pl.col('keep')).height == 2
    assert all(p.startswith('Rewrite the example so that it says the same thing in other words') for p in prompts)
