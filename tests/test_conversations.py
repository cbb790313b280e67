"sk.recipes.conversations: call counts of the turn-by-turn game, free re-runs, refused arguments, chat export for TRL."
import json, re
import polars as pl
import pytest
import synthkit as sk
from synthkit.teachers import Request, ScriptedTeacher
from synthkit.calls import CallCache
from synthkit.columns import DesignError
from synthkit.recipes.conversations import ConversationChecks, CHAT_SCHEMA

def player(calls, done_after=None):
    "A teacher that plays both sides, recording each request; the user says DONE after `done_after` questions."
    def play(req:Request)->str:
        calls.append(req)
        asked = req.prefix.count('User: ')
        if req.prompt.endswith('User:'):
            return 'DONE' if done_after is not None and asked >= done_after else f'Question {asked + 1} ({req.sample})'
        return f'Answer {asked}.'
    return ScriptedTeacher(play, cache=CallCache())

def test_turns_pays_one_call_per_turn_and_rerun_pays_nothing():
    calls = []
    t = player(calls)
    got = sk.recipes.conversations(t, topics=['fees', 'fraud'], turns=(2, 8), mode='turns', n=12)
    assert len(calls) == got['turns'].sum()              # no DONE: every turn up to the limit, one call each
    assert got['messages'].list.len().to_list() == got['turns'].to_list()
    assert got['calls'].to_list() == got['turns'].to_list()
    assert sk.recipes.conversations(t, topics=['fees', 'fraud'], turns=(2, 8), mode='turns', n=12).equals(got)
    assert len(calls) == got['turns'].sum()              # the re-run came from the call cache
    assert got['label'].to_list() and set(got['label']) <= {'fees', 'fraud'}
    assert (got['text'] == got['messages'].list.first().struct.field('content')).all()

def test_turns_prefix_grows_by_the_turns_between():
    calls = []
    sk.recipes.conversations(player(calls), topics=['fees'], turns=6, mode='turns', n=1)
    assert [r.meta['role'] for r in calls] == ['user', 'assistant'] * 3
    for a, b in zip(calls, calls[1:]): assert b.prefix.startswith(a.prefix)    # shared prefix: cacheable
    assert calls[-1].prefix.count('User: ') == 3 and calls[-1].prompt == 'Assistant:'

def test_done_ends_the_conversation_after_an_answer():
    calls = []
    got = sk.recipes.conversations(player(calls, done_after=1), topics=['fees'], turns=(6, 6), mode='turns', n=3)
    assert got['messages'].list.len().to_list() == [2, 2, 2] and got['ended'].to_list() == ['done'] * 3
    assert len(calls) == 9                               # question, answer, DONE for each
    assert got['messages'].list.last().struct.field('role').to_list() == ['assistant'] * 3
    # three equal openings were asked as three samples, so the conversations differ
    assert got['text'].n_unique() == 3
    judged = sk.judge(got, [ConversationChecks(turns=(4, 6))])
    assert judged['keep'].to_list() == [False] * 3 and judged['reasons'][0].to_list() == ['conversation: 2 turns, not 4 to 6']

def test_a_failed_turn_drops_the_conversation_with_the_reason():
    def flaky(req:Request)->str:
        if req.prompt == 'Assistant:' and 'Question 2' in req.prefix: raise RuntimeError('boom')
        return 'Question 1' if 'Question 1' not in req.prefix else 'Question 2' if req.prompt.endswith('User:') else 'ok'
    got = sk.recipes.conversations(ScriptedTeacher(flaky, cache=CallCache()), turns=4, mode='turns', n=1)
    assert got['keep'].to_list() == [False] and got['calls'].to_list() == [4]
    assert got['reasons'].to_list() == [['conversations: teacher failed: RuntimeError: boom']]
    assert got['messages'][0].to_list() == [{'role': 'user', 'content': 'Question 1'}, {'role': 'assistant', 'content': 'ok'}]

def test_whole_mode_asks_with_the_chat_schema():
    reqs = []
    def whole(req:Request)->str:
        reqs.append(req)
        n = int(re.search(r'exactly (\d+) messages', req.prompt).group(1))
        return json.dumps({'messages': [{'role': ['user', 'assistant'][i % 2], 'content': f'turn {i}'} for i in range(n)]})
    t = ScriptedTeacher(whole, cache=CallCache())
    got = sk.recipes.conversations(t, personas=['a nurse'], turns=(2, 4), n=6)
    assert len(reqs) == 6 and all(r.schema == CHAT_SCHEMA for r in reqs) and 'a nurse' in reqs[0].prompt
    assert got['messages'].list.len().to_list() == got['turns'].to_list() and got['keep'].all()
    sk.recipes.conversations(t, personas=['a nurse'], turns=(2, 4), n=6)
    assert len(reqs) == 6

def test_whole_mode_reject_is_dropped_with_the_reason():
    t = ScriptedTeacher(lambda p: 'no JSON at all', cache=CallCache())
    got = sk.recipes.conversations(t, topics=['fees'], n=2)
    assert not got['keep'].any() and all('dialogue: rejected' in r[0] for r in got['reasons'])

@pytest.mark.parametrize('kw, msg', [({'mode': 'chat'}, 'use "whole" or "turns"'), ({'turns': (5, 5)}, 'no even turn'),
                                     ({'turns': (4, 2)}, 'not a range'), ({'n': -1}, 'n >= 1'),
                                     ({'personas': []}, 'no values to draw from'),
                                     ({'seeds': pl.DataFrame({'text': ['x']})}, 'no "messages" column')])
def test_bad_arguments_teach_and_send_nothing(kw, msg):
    calls = []
    with pytest.raises(DesignError, match=re.escape(msg)): sk.recipes.conversations(player(calls), **kw)
    assert calls == []

def test_checks_alternation_start_empty():
    u, a = (lambda t: {'role': 'user', 'content': t}), (lambda t: {'role': 'assistant', 'content': t})
    c = ConversationChecks(turns=(2, 4))
    assert c.problem([a('x'), u('y')]) == 'starts with assistant, not the user'
    assert c.problem([u('x'), u('y')]) == 'turn 2 is user again (roles must alternate)'
    assert c.problem([u('x'), a('')]) == 'turn 2 is empty'
    assert c.problem([]) == 'no turns' and c.problem([u('x'), a('y')]) is None

def test_export_is_trl_conversational(tmp_path):
    got = sk.recipes.conversations(player([]), topics=['fees'], turns=(2, 4), mode='turns', n=4)
    path = tmp_path/'train.chat.jsonl'
    sk.export(got, path, format='chat')
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert len(lines) == 4
    for rec, msgs in zip(lines, got['messages'].to_list()):
        # TRL's conversational SFT format: {"messages": [{"role": ..., "content": ...}, ...]}
        assert list(rec) == ['messages'] and rec['messages'] == msgs
        assert all(set(m) == {'role', 'content'} and isinstance(m['content'], str) for m in rec['messages'])
        assert rec['messages'][0]['role'] == 'user' and rec['messages'][-1]['role'] == 'assistant'

# ---------------------------------------------------------------- LLM judges and dedup on the first user turn

from synthkit.llm_judge import SCORE_SCHEMA
from synthkit.recipes.conversations import ChatJudge, CHAT_RUBRICS

U, A = (lambda t: {'role': 'user', 'content': t}), (lambda t: {'role': 'assistant', 'content': t})

def grading(asked):
    "A scripted grader recording its requests: 1 when a user turn speaks for the bank or an answer shrugs, else 5."
    def grade(req: Request) -> str:
        asked.append(req)
        turns = re.findall(r'^\d+\. (User|Assistant): (.*)$', req.prompt, re.M)
        if 'stay in persona' in req.prompt: bad = any(r == 'User' and 'our bank' in t for r, t in turns)
        else: bad = any(r == 'Assistant' and 'no idea' in t.lower() for r, t in turns)
        return json.dumps({'score': 1 if bad else 5, 'reason': 'bad' if bad else 'good'})
    return grade

def talks():
    return pl.DataFrame({'text': ['Why a fee?', 'Why a fee, again?', 'What fee?', 'Which fee?'],
                         'persona': ['a student', 'a student', 'a student', None], 'label': ['fees'] * 4,
                         'messages': [[U('Why a fee?'), A('It is the overdraft fee.')],
                                      [U('Why a fee, again?'), A('Overdraft.'), U('At our bank we waive it.'), A('Ok.')],
                                      [U('What fee?'), A('No idea.')], [U('Which fee?'), A('No idea.')]]})

def test_chat_judges_read_the_scene_and_turns_through_structured_output():
    asked = []
    t = ScriptedTeacher(grading(asked), cache=CallCache())
    got = sk.judge(talks(), [ChatJudge(t, 'persona'), ChatJudge(t, 'assistant')])
    assert got['llm_persona'].to_list() == [5.0, 1.0, 5.0, None]                 # no persona: not graded
    assert got['llm_persona_reason'][3] == 'not graded: the row has no persona'
    assert got['llm_assistant'].to_list() == [5.0, None, 1.0, 1.0]               # a dropped row costs no call
    assert got['keep'].to_list() == [True, False, False, False]
    assert got['dropped_by'].to_list() == [None, 'llm_persona', 'llm_assistant', 'llm_assistant']
    assert len(asked) == 3 + 3 and all(r.schema == SCORE_SCHEMA for r in asked)
    assert 'The user is a student.\nThey want help with fees.' in asked[0].prompt
    assert '3. User: At our bank we waive it.' in asked[1].prompt and CHAT_RUBRICS['persona'] in asked[1].prompt
    again = sk.judge(talks(), [ChatJudge(t, 'persona'), ChatJudge(t, 'assistant')])
    assert again.equals(got) and t.ledger.total_usd == 0.0
    assert t.ledger.rows[(t.model, 'live')]['cached'] == 6                       # the re-run came from the cache

def test_chat_judge_on_a_base_model_completes_the_form():
    class Base(ScriptedTeacher): style = 'completion'
    forms = []
    def digit(text: str) -> str:
        forms.append(text)
        return ' 2' if 'No idea' in text else ' 4, fine'
    got = sk.judge(talks(), [ChatJudge(Base(digit), threshold=3)])
    assert got['llm_assistant'].to_list() == [4.0, 4.0, 2.0, 2.0] and got['keep'].to_list() == [True, True, False, False]
    assert all(f.endswith('Score (1-5):') and '1. User: ' in f for f in forms)

def test_a_failed_grading_keeps_the_conversation():
    def boom(req: Request) -> str: raise RuntimeError('judge down')
    got = sk.judge(talks(), [ChatJudge(ScriptedTeacher(boom))])
    assert got['keep'].all() and got['llm_assistant_reason'][0].startswith('not graded: RuntimeError: judge down')

def test_dedup_drops_conversations_that_open_alike_however_they_go_on():
    def opener(req: Request) -> str:   # every conversation opens alike, answers differ by sample
        return 'Why was I charged a fee?' if req.prompt.endswith('User:') else f'Answer {req.sample}.'
    got = sk.recipes.conversations(ScriptedTeacher(opener), topics=['fees', 'fraud'], turns=2, mode='turns', n=4)
    assert got['text'].n_unique() == 1 and got['messages'].n_unique() >= 2
    judged = sk.judge(got, [ConversationChecks(), sk.Dedup()])
    assert judged['keep'].to_list() == [True, False, False, False]
    assert set(judged['dropped_by'].drop_nulls()) == {'dedup'}
    seeds = sk.load_seeds([{'messages': [{'role': 'system', 'content': f'System {i}.'}, U('Same opening?'), A(f'A{i}')]}
                           for i in range(2)] + [{'messages': [U('Another opening?'), A('B')]}])
    assert seeds['text'].to_list() == ['Same opening?', 'Same opening?', 'Another opening?']   # the first user turn
    assert sk.judge(seeds, [sk.Dedup(seeds=False)])['keep'].to_list() == [True, False, True]

def test_recipes_namespace_has_the_chat_judge():
    assert sk.recipes.ChatJudge is ChatJudge
