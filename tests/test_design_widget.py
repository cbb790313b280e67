"""DesignPreview driven headlessly, as a person would: pick a column in the dropdown, type a template, click Re-run;
the cards show the new text and only the edited column and those that read it are paid for (counted calls)."""
import json
import pytest
from synthkit.design import Design, DesignError
from synthkit.teachers import Request, ScriptedTeacher
from synthkit.calls import CallCache
from synthkit.llm_judge import LLMJudge
import synthkit as sk

TICKET = {'type': 'object', 'required': ['topic'], 'properties': {'topic': {'type': 'string'}}}

class Counted:
    "A zero-latency teacher function that records every prompt it answers."
    def __init__(self): self.prompts = []
    def __call__(self, req:Request)->str:
        self.prompts.append(req.prompt)
        if req.schema is not None and 'score' in req.schema.get('properties', {}): return json.dumps({'score': 5, 'reason': 'ok'})
        if req.schema is not None: return json.dumps({'topic': req.prompt.split()[-1]})
        return f'[{req.prompt} #{req.sample}]'

def design(fn):
    def answer(req:Request)->str: return fn(req)
    t = ScriptedTeacher(answer, model='counted')               # no cache: the widget gives it one
    d = Design(t).category('persona', ['student', 'retiree']).llm('message', 'A {{persona}} writes.')
    d.structured('ticket', TICKET, 'Ticket for {{message}}').llm('reply', 'Reply to {{message}}')
    return d.llm('summary', 'Sum up {{reply}}').judge('graded', LLMJudge(t, 'helpfulness'), on='summary')

def click(w, column, text):
    if w.w_pick.value != column:
        w.w_pick.value = column               # the dropdown
        assert w.w_text.value == w.template(column)
    w.w_text.value = text                     # the text area
    w.w_run.click()                           # the button

def test_editing_a_column_repays_it_and_what_reads_it_only():
    fn = Counted()
    w = sk.DesignPreview(design(fn), n=3)
    assert isinstance(w.design.teacher.cache, CallCache) and len(fn.prompts) == 3 * 5   # 4 model columns and the judge
    assert w.last == {'columns': ['message', 'ticket', 'reply', 'summary'], 'paid': 15, 'cached': 0}
    fn.prompts.clear()
    click(w, 'reply', 'Answer {{message}} warmly')
    assert w.last['columns'] == ['reply', 'summary', 'graded'] and w.last['paid'] == 9 and w.last['cached'] == 6
    assert [p.split()[0] for p in fn.prompts].count('Answer') == 3 and not any(p.startswith(('A ', 'Ticket')) for p in fn.prompts)
    assert all(r.startswith('[Answer [A ') and 'warmly #' in r for r in w.value['reply'])
    assert w.w_cards.value.count('warmly') >= 3 and '9 calls paid, 6 answers from the cache' in w.w_status.value
    fn.prompts.clear()
    click(w, 'message', 'A {{persona}} writes, in a hurry.')
    assert w.last['paid'] == 15 and len(fn.prompts) == 15                        # the root: everything below it
    assert all('in a hurry' in m for m in w.value['message'])
    fn.prompts.clear()
    click(w, 'ticket', 'Ticket for {{message}}')                                  # unchanged: nothing to pay
    assert w.last['paid'] == 0 and fn.prompts == []

def test_a_bad_template_is_refused_and_nothing_is_lost():
    fn = Counted()
    w = sk.DesignPreview(design(fn), n=2)
    cards, paid = w.w_cards.value, len(fn.prompts)
    click(w, 'reply', 'Reply to {{mesage}}')
    assert "reads 'mesage', which the design does not hold" in w.error and 'mesage' in w.w_status.value
    assert w.template('reply') == 'Reply to {{message}}' and w.w_cards.value == cards and len(fn.prompts) == paid
    assert w.w_text.value == 'Reply to {{mesage}}'                                # the typing is kept, to correct
    click(w, 'reply', 'Reply to {{summary}}')                                     # a cycle: summary reads reply
    assert 'cycle: reply -> summary -> reply' in w.error and w.template('reply') == 'Reply to {{message}}'
    click(w, 'reply', 'Reply to {{ message')
    assert 'template line 1' in w.error
    click(w, 'reply', 'Reply briefly to {{message}}')
    assert w.error is None and w.last['paid'] == 2 * 3

def test_model_text_is_escaped_and_the_widget_needs_a_model_column():
    t = ScriptedTeacher(lambda text: '<img src=x onerror=alert(1)> & more')
    w = sk.DesignPreview(Design(t).category('x', ['<b>bold</b>']).llm('y', 'say {{x}}'), 2)
    assert '<img' not in w.w_cards.value and '&lt;img src=x' in w.w_cards.value and '<b>bold' not in w.w_cards.value
    with pytest.raises(DesignError, match='no model column to edit'): sk.DesignPreview(Design().category('x', ['a']))
    with pytest.raises(DesignError, match="'x' is not a model column"): w.pick('x')
