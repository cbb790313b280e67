"Design: re-running pays only what changed (counted calls), skips pay nothing, bad designs send nothing, people are fictitious."
import json, re
import polars as pl
import pytest
from pydantic import BaseModel, Field
from synthkit.design import Design, DesignError
from synthkit.teachers import Request, ScriptedTeacher
from synthkit.calls import CallCache
from synthkit.judge import judge, Heuristics
from synthkit.privacy import PII, Leak, find_pii
from synthkit.llm_judge import LLMJudge
from synthkit.seeds import load_seeds

TICKET = {'type': 'object', 'required': ['topic', 'urgency'],
          'properties': {'topic': {'type': 'string'}, 'urgency': {'type': 'integer', 'minimum': 1, 'maximum': 3}}}

class Counter:
    "A zero-latency scripted teacher's function that counts the calls it answers, by the prompt's first word."
    def __init__(self): self.calls = []
    def __call__(self, req:Request)->str:
        self.calls.append(req.prompt.split()[0] if req.prompt else '(repair)')
        if req.schema is not None and 'score' in req.schema.get('properties', {}):
            return json.dumps({'score': 4, 'reason': 'fine'})
        if req.schema is not None: return json.dumps({'topic': req.prompt.split()[-1], 'urgency': 2})
        return f'{req.prompt} (sample {req.sample})'

def bank_design(t, msg='Write as a {{persona}} about {{issue}}.'):
    d = Design(t).category('persona', ['student', 'retiree']).category(
        'issue', {'student': ['fees', 'overdraft'], 'retiree': ['fraud']}, given='persona')
    d.llm('message', msg).structured('ticket', TICKET, 'Ticket from {{message}}')
    return d.llm('reply', 'Reply to {{message}}').expr('n', pl.col('reply').str.len_chars())

def counted():
    fn = Counter()
    def answer(req:Request)->str: return fn(req)
    return fn, ScriptedTeacher(answer, cache=CallCache())

def test_rerun_pays_only_the_edited_column_and_downstream():
    fn, t = counted()
    d = bank_design(t)
    first = d.run(30)
    assert len(fn.calls) == 90 and first['keep'].all()
    d.run(30); assert len(fn.calls) == 90                       # all from the cache
    d.llm('reply', 'Answer {{message}}')                         # edit a leaf: only it is asked again
    d.run(30); assert fn.calls[90:] == ['Answer'] * 30
    d.llm('message', 'Write, as a {{persona}}, about {{issue}}.')    # edit the root model column: it and both below
    d.run(30)
    assert sorted(set(fn.calls[120:])) == ['Answer', 'Ticket', 'Write,'] and len(fn.calls[120:]) == 90
    d.category('persona', ['student', 'retiree'], weights=[1, 1])   # same values, same stream: nothing to pay
    d.run(30); assert len(fn.calls) == 210

def test_preview_rows_are_the_runs_first_rows_and_cost_nothing_more():
    fn, t = counted()
    d = bank_design(t)
    shown = d.preview(5).frame
    n = len(fn.calls)
    assert d.run(20).head(5).equals(shown) and len(fn.calls) == n + 15 * 3

def test_skip_when_pays_no_call_for_failed_rows():
    fn, t = counted()
    d = Design(t).category('persona', ['student', 'retiree']).llm('message', 'Hi from a {{persona}}')
    d.check('not_student', lambda r: 'student' not in r['message'])
    d.llm('costly', 'Expand {{message}}', skip_when='not_student')
    d.judge('graded', LLMJudge(t, 'helpfulness'), on='costly')
    out = d.run(40)
    students = (out['persona'] == 'student').sum()
    assert fn.calls.count('Expand') == 40 - students
    assert fn.calls.count('Rubric:') == 40 - students           # the judge grades only rows still kept
    assert out.filter(pl.col('persona') == 'student')['costly'].null_count() == students
    assert set(out.filter(~pl.col('keep'))['dropped_by']) == {'not_student'}
    assert out.filter(pl.col('keep'))['graded'].min() == 4.0

def test_skip_when_true_skips_every_dropped_row():
    fn, t = counted()
    d = Design(t).bernoulli('bad', 0.5).check('ok', pl.col('bad').not_()).llm('m', 'Say {{bad}}', skip_when=True)
    out = d.run(50)
    assert fn.calls.count('Say') == out['keep'].sum() and 0 < out['keep'].sum() < 50

def test_bad_designs_send_nothing_and_say_the_fix():
    fn, t = counted()
    base = lambda: Design(t).category('persona', ['a']).llm('message', 'About {{persona}}')
    with pytest.raises(DesignError, match=r"column 'reply': reads 'mesage'.*it holds: persona, message, reply"):
        base().llm('reply', 'To {{mesage}}').run(3)
    with pytest.raises(DesignError, match=r'cycle: a -> b -> c -> a'):
        base().llm('a', '{{b}}').llm('b', '{{c}}').llm('c', '{{a}}').run(3)
    with pytest.raises(DesignError, match='2 weights for 3 values'): Design().category('p', ['a', 'b', 'c'], weights=[1, 2])
    with pytest.raises(DesignError, match='no values to draw from'): Design().category('p', [])
    with pytest.raises(DesignError, match="no values for p='x'"): Design().category('q', {'x': []}, given='p')
    with pytest.raises(DesignError, match='not an object with properties'): Design(t).structured('s', {'type': 'array'}, 'x')
    with pytest.raises(DesignError, match='template line 1'): Design(t).llm('m', 'About {{ persona')
    assert fn.calls == []

def test_row_text_is_data_not_template_code():
    t = ScriptedTeacher(lambda text: text, cache=False)
    d = Design(t).category('x', ['{{ 7*7 }}', "{% for i in range(3) %}no{% endfor %}", '{{ x.__class__ }}'])
    out = d.llm('echo', '<{{x}}>').run(30)
    assert set(out['echo']) == {'<{{ 7*7 }}>', '<{% for i in range(3) %}no{% endfor %}>', '<{{ x.__class__ }}>'}
    with pytest.raises(DesignError, match='cannot be filled in'): Design(t).category('x', ['a']).llm('y', '{{ x.__class__.__mro__ }}').run(1)

class Ticket(BaseModel):
    topic: str = Field(pattern=r'^[a-z]+$')    # JSON-schema checks in the call layer skip patterns; pydantic does not
    urgency: int = Field(ge=1, le=2)

def test_structured_rejects_keep_the_raw_text():
    def answer(req:Request)->str:
        if 'broken' in req.text: return 'sorry, no JSON'
        return json.dumps({'topic': 'Card!' if 'urgent' in req.text else 'card', 'urgency': 1})
    d = Design(ScriptedTeacher(answer)).category('kind', ['broken', 'urgent', 'calm'])
    out = d.structured('ticket', Ticket, 'A {{kind}} ticket').run(30)
    by = dict(zip(out['kind'], zip(out['keep'], out['ticket'], out['ticket_raw'], out['reasons'])))
    assert by['calm'][:3] == (True, {'topic': 'card', 'urgency': 1}, None)
    assert by['broken'][0] is False and by['broken'][2] == 'sorry, no JSON' and 'no JSON' in by['broken'][3][0]
    assert by['urgent'][0] is False and 'should match pattern' in by['urgent'][3][0]   # pydantic's own check
    assert set(out.filter(~pl.col('keep'))['dropped_by']) == {'ticket'}

def test_reasoning_is_kept_apart():
    def think(req:Request)->str:
        assert '<reasoning>' in req.system
        return '<reasoning>students pay fees</reasoning> The fees are too high.'
    out = Design(ScriptedTeacher(think)).category('p', ['student']).llm('m', 'As a {{p}}', reasoning=True).run(2)
    assert out['m'].to_list() == ['The fees are too high.'] * 2 and out['m_reasoning'][0] == 'students pay fees'

def test_provenance_per_model_column():
    fn, t = counted()
    out = bank_design(t).run(10)
    for c in ('message', 'ticket', 'reply'):
        assert out[f'{c}_prompt_hash'].n_unique() == 10 and set(out[f'{c}_teacher']) == {'answer'}
        assert out[f'{c}_tokens'].min() > 0
    assert out['id'].n_unique() == 10 and out.columns[-3:] == ['keep', 'reasons', 'dropped_by']
    assert judge(out.with_columns(text=pl.col('message')), [Heuristics()])['keep'].sum() == 10   # goes on to sk.judge

def test_saved_design_is_json_and_runs_the_same():
    fn, t = counted()
    d = bank_design(t).seeds('example', load_seeds('support_requests'), k=2).person('who')
    d.datetime('when', '2025-01-01', '2025-06-30').uuid('ref').gaussian('g', 0, 1).uniform('u', 0, 1)
    d.check('short', pl.col('n') < 500).check('truthy', bool).judge('pii', PII(policy='flag'), on='message')
    d.structured('case', Ticket, 'Case {{message}}')
    saved = json.loads(json.dumps(d.to_dict()))
    back = Design.from_dict(saved, t)
    assert back.run(12).equals(d.run(12))
    assert back.columns['case'].args['_model'] is Ticket            # importable models come back as themselves
    with pytest.raises(DesignError, match='defined in a notebook'): d.check('f', lambda r: True).to_dict()

def test_people_are_fictitious_by_construction(shared):
    out = Design().person('p').run(2000)
    texts = [f'{p["name"]}, {p["email"]}, {p["phone"]}' for p in out['p'].to_list()]
    found = [f for t in texts for f in find_pii(t)]
    assert {k for k, *_ in found} == {'EMAIL', 'PHONE'}
    assert all(v.endswith('@example.com') for k, v, *_ in found if k == 'EMAIL')          # RFC 2606: reserved
    assert all(re.fullmatch(r'\(\d{3}\) 555-01\d\d', v) for k, v, *_ in found if k == 'PHONE')   # NANP: fiction
    rows = pl.DataFrame({'text': texts})
    b77 = pl.read_csv(shared/'banking77'/'train.csv')
    for seeds in (load_seeds('customer_notes'), b77):                # seeds with (fictitious) personal data, real queries
        assert judge(rows, [Leak()], seeds=seeds)['keep'].all()
    flagged = judge(rows, [PII(policy='flag')])
    assert set(flagged['pii_reason']) == {'found email, phone'}        # what a person is made of, and nothing else
