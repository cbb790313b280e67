"""Preference pairs through an OpenAI-compatible server (the fake OpenAI API on 127.0.0.1, the real `openai` SDK), exported
for TRL and loaded back; and a designed frame going straight into the stages after it (judge, diversity, export, the
ReviewWidget)."""
import json, re
import polars as pl
import pytest
import synthkit as sk
from synthkit.recipes.preferences import Rubric
from fake_openai import FakeOpenAI, said

KEY = 'sk-proj-prefs-SECRET-9z8y7x'

def reply(body:dict)->str:
    "Careful answers under the careful persona, short ones otherwise; the rubric rates careful answers 5 and others 2."
    turns = {m['role']: said(m.get('content')) for m in body.get('messages', [])}
    user, system = turns.get('user', ''), turns.get('system', '')
    if 'Rate the response' in user:
        good = 'checked' in user.split('<response>')[-1]
        return json.dumps({a: {'score': 5 if good else 2, 'reason': 'ok'} for a in re.findall(r'^- (\w+):', user, re.M)})
    if 'hurry' in system: return 'Dunno.'
    return f'A full, checked answer to: {user}'

def test_preferences_through_an_openai_server_export_dpo_and_load_back(tmp_path, monkeypatch):
    datasets = pytest.importorskip('datasets')
    monkeypatch.setenv('OPENAI_API_KEY', KEY)
    prompts = ['Explain an overdraft.', 'How do I freeze my card?', 'What is APR?']
    with FakeOpenAI(reply=reply, keys=[KEY]) as fake:
        t = sk.OpenAITeacher('gpt-test', base_url=fake.url, cache=tmp_path/'calls.sqlite', progress=False)
        pairs = sk.recipes.preferences(prompts, teacher=t, personas=True, judge=Rubric(t))
        sent = len(fake.requests)
        again = sk.recipes.preferences(prompts, teacher=t, personas=True, judge=Rubric(t))
        assert len(fake.requests) == sent                        # a re-run pays nothing
    kept = pairs.filter(pl.col('keep'))
    assert kept.height == 3 and again.filter(pl.col('keep')).height == 3
    assert all('checked' in c and r == 'Dunno.' for c, r in zip(kept['chosen'], kept['rejected']))
    path = tmp_path/'pairs.dpo.jsonl'
    sk.export(pairs, path, format='dpo')
    ds = datasets.load_dataset('json', data_files=str(path), split='train')
    assert ds.column_names == ['prompt', 'chosen', 'rejected'] and ds.num_rows == 3
    assert sorted(ds['prompt']) == sorted(prompts) and all(isinstance(x, str) for x in ds['chosen'])
    back = sk.load_export(path)
    assert back.height == 3
    for f in tmp_path.rglob('*'):
        if f.is_file(): assert KEY.encode() not in f.read_bytes(), f'the key reached {f.name}'

def test_a_designed_frame_goes_into_judge_diversity_export_and_review(tmp_path):
    "The design's text column is `text` (what judges, charts and exports read); its frame needs nothing in between."
    said = {'student': 'Why was I charged an overdraft fee on my student account?',
            'retiree': 'My pension arrived late and now there is a <b>fee</b> on the statement.',
            'owner': 'The card reader in my shop keeps adding a monthly rental charge.'}
    teacher = sk.ScriptedTeacher(lambda p: next(v for k, v in said.items() if k in p))
    d = sk.Design(teacher).category('persona', list(said))
    d.llm('text', 'A {{persona}} writes to the bank about <b>fees</b>.')
    batch = d.run(6)
    judged = sk.judge(batch, [sk.Dedup()])
    personas = set(judged['persona'])                       # the sampled column rides along
    assert judged.height == 6 and judged.filter(pl.col('keep')).height == len(personas) >= 2   # one message each
    div = sk.diversity(judged)
    assert div.rows == len(personas) and div.distinct_2 > 0.9     # the kept messages share no word pairs
    path = tmp_path/'designed.jsonl'
    sk.export(judged, path)
    back = sk.load_export(path)
    assert back.height == len(personas) and set(back['text']) == {said[p] for p in personas}
    with pytest.raises(sk.JudgeError, match='not unique'): sk.ReviewWidget(judged)   # dropped copies share an id
    review = sk.ReviewWidget(judged.filter(pl.col('keep')), tmp_path/'review.jsonl')
    review.decide(0, 'accept')
    (line,) = (tmp_path/'review.jsonl').read_text().splitlines()
    assert json.loads(line)['decision'] == 'accept'
