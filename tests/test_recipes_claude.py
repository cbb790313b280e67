"""`sk.recipes.preferences` and `sk.recipes.qa` end to end on Claude: `sk.ClaudeTeacher` through the real anthropic
SDK against the fake Messages API on 127.0.0.1 (structured answers as forced tool calls), the exports loaded back with
`sk.load_export` and `datasets`, and the API key in none of the files written."""
import json, re
import polars as pl
import pytest
import synthkit as sk
from synthkit.recipes.preferences import ASPECTS, Pairwise, Rubric, preference_report
from synthkit.recipes.qa import Grounded, Supported, PASSAGE_TEMPLATE, qa_records
from fake_anthropic import FakeAnthropic, _last_user_text

KEY = 'sk-ant-recipes-SECRET-5e6f7a8b9c'
PROMPTS = ['Explain an overdraft.', 'How do I freeze my card?', 'What is APR?']

def system(body:dict)->str: return ' '.join(b['text'] for b in body.get('system') or [])

def answer(body:dict)->str:
    "Plain replies: the careless persona guesses, everyone else answers fully."
    if 'hurry' in system(body): return 'Dunno.'
    return f'A full, checked answer to: {_last_user_text(body).strip()}'

def between(text:str, tag:str)->str: return text.split(f'<{tag}>')[1].split(f'</{tag}>')[0].strip()

def structured(body:dict, tool:dict)->dict:
    "Forced tool calls: a rubric rating, a question and answer about the passage, or a grade of support."
    text, need = _last_user_text(body), set(tool['input_schema']['required'])
    if need == set(ASPECTS):                         # Rubric: checked answers are good
        s = 5 if 'checked' in between(text, 'response') else 2
        return {a: {'score': s, 'reason': 'checked' if s == 5 else 'a guess'} for a in ASPECTS}
    if 'better' in need:                             # Pairwise: the row holding the checked answer
        two = text.split('<row 2>')[1]
        return {'better': '2' if 'checked' in two else '1', 'reason': 'the checked one'}
    passage = between(text, 'passage')
    if need == {'question', 'answer'}:
        head = passage.splitlines()[0]
        if 'Overdrafts' in head: return {'question': 'What does an overdraft cost?', 'answer': 'It costs 27.5% a year.'}
        return {'question': f'What does "{head}" say?', 'answer': passage.splitlines()[-1]}
    said = text.split('Answer: ')[-1]                # Supported: numbers the passage lacks are unsupported
    bad = [n for n in re.findall(r'\d+', said) if n not in passage]
    return {'score': 1 if bad else 5, 'reason': 'made up' if bad else 'supported'}

@pytest.fixture
def fake():
    with FakeAnthropic(reply_fn=answer, tool_fn=structured, api_key=KEY) as f: yield f

@pytest.fixture
def claude(fake, tmp_path, monkeypatch):
    "A ClaudeTeacher as a user makes one: the key from the environment, the call cache in the working folder."
    monkeypatch.setenv('ANTHROPIC_API_KEY', KEY)
    return sk.ClaudeTeacher(base_url=fake.url, cache=tmp_path/'calls.sqlite', progress=False)

def no_key_in(folder):
    written = [p for p in folder.rglob('*') if p.is_file()]
    assert written and not [p for p in written if KEY.encode() in p.read_bytes()]

def test_preferences_on_claude_export_dpo_and_load_back(fake, claude, tmp_path):
    datasets = pytest.importorskip('datasets')
    pairs = sk.recipes.preferences(PROMPTS, teacher=claude, personas=True, judge=Rubric(claude))
    assert pairs['keep'].all() and set(pairs['chosen_by']) == {'careful'} and set(pairs['rejected']) == {'Dunno.'}
    assert pairs['chosen'].to_list() == [f'A full, checked answer to: {p}' for p in PROMPTS]
    assert fake.stats()['message_requests'] == 4 * len(PROMPTS)          # 2 answers and 2 ratings a prompt
    rep = preference_report(pairs)
    assert (rep.pairs, rep.kept) == (3, 3)
    out = sk.export(pairs, tmp_path/'pairs.dpo.jsonl', format='dpo')
    back = sk.load_export(out.path)
    assert back.columns == ['prompt', 'chosen', 'rejected'] and back['prompt'].to_list() == PROMPTS
    assert back['chosen'].to_list() == pairs['chosen'].to_list()
    ds = datasets.load_dataset('json', data_files=str(out.path), split='train', cache_dir=str(tmp_path/'hf'))
    assert ds.column_names == ['prompt', 'chosen', 'rejected'] and len(ds) == 3
    assert all(isinstance(ds[0][c], str) for c in ds.column_names)
    conv = sk.export(pairs, tmp_path/'conv.dpo.jsonl', format='dpo', conversational=True)
    ds = datasets.load_dataset('json', data_files=str(conv.path), split='train', cache_dir=str(tmp_path/'hf'))
    assert [m['role'] for m in ds[0]['prompt']] == ['user'] and ds[0]['chosen'][0]['role'] == 'assistant'
    sent = fake.stats()['message_requests']
    again = sk.recipes.preferences(PROMPTS, teacher=claude, personas=True, judge=Rubric(claude))
    assert fake.stats()['message_requests'] == sent and again['chosen'].equals(pairs['chosen'])   # from the cache
    no_key_in(tmp_path)

def test_pairwise_judge_on_claude_cancels_position(fake, claude, tmp_path):
    pairs = sk.recipes.preferences(PROMPTS[:2], teacher=claude, personas=True, judge=Pairwise(claude))
    assert pairs['keep'].all() and set(pairs['chosen_by']) == {'careful'}
    assert preference_report(pairs).flip_rate == 0                     # both orders asked, the same verdict
    no_key_in(tmp_path)

def test_qa_on_claude_judged_exported_and_loaded_back(fake, claude, tmp_path):
    chunks = sk.load_documents(sk.example_documents)
    rows = sk.recipes.qa(chunks, claude, per_chunk=1, kinds=['factual'])
    assert rows.height == chunks.height and rows['keep'].all() and set(rows['question_kind']) == {'factual'}
    bodies = [b for b in fake.bodies if b.get('tools')]
    first = bodies[0]['messages'][0]['content'][0]                      # the passage: the shared, cached prefix
    assert first['text'].startswith('<passage>') and first.get('cache_control') == {'type': 'ephemeral'}
    judged = sk.judge(rows, [Grounded(), Supported(claude)])
    rej = judged.filter(~pl.col('keep'))
    assert set(rej['output']) == {'It costs 27.5% a year.'}             # the invented rate, caught offline first
    assert 'numbers not in the passage' in rej['reasons'][0][0] and rej['supported'].to_list() == [None]
    alone = sk.judge(rows, [Supported(claude)]).filter(~pl.col('keep'))  # and by Claude's grade on its own
    assert alone['output'].to_list() == ['It costs 27.5% a year.'] and alone['supported'].to_list() == [1]
    kept = judged.filter('keep')
    assert kept.height == chunks.height - 1 and kept['supported'].min() == 5
    recs = qa_records(judged)
    out = sk.export(pl.DataFrame(recs), tmp_path/'qa.jsonl')
    back = sk.load_export(out.path)
    assert back.to_dicts() == recs and back['input'].to_list() == kept['passage'].to_list()
    chat = sk.export(judged, tmp_path/'rag.chat.jsonl', template=PASSAGE_TEMPLATE)
    msgs = [json.loads(l)['messages'] for l in chat.path.read_text().splitlines()]
    assert len(msgs) == kept.height and msgs[0][0]['content'].startswith('Passage:\n')
    assert sk.load_export(chat.path).height == kept.height
    no_key_in(tmp_path)
