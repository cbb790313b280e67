"Preference pairs: chosen is the higher-scored, ties and narrow margins dropped with reasons, re-runs from the cache."
import json
import polars as pl
import pytest
import synthkit as sk
from synthkit.calls import CallCache
from synthkit.llm_judge import RewardJudge
from synthkit.recipes.preferences import (ASPECTS, Pairwise, PreferenceError, Rubric, dpo_records,
                                          preference_report)
from synthkit.teachers import Request, ScriptedTeacher

def writer(req: Request) -> str:
    "Careful persona: a long, checked answer; careless: a short guess."
    if req.system and 'hurry' in req.system: return 'No idea.'
    return f'A checked answer of some length to: {req.prompt.splitlines()[0]}'

def rater_of(scores: dict):
    "A scripted rubric judge: every aspect gets the score of the first key found in the response."
    def rate(req: Request) -> str:
        resp = req.prompt.split('<response>')[1]
        s = next(v for k, v in scores.items() if k in resp)
        return json.dumps({a: {'score': s, 'reason': f'found {s}'} for a in ASPECTS})
    return rate

def counted(fn):
    calls = []
    def answer(req: Request) -> str:
        calls.append(req); return fn(req)
    return calls, answer

def test_sk_recipes_preferences_is_the_function():
    assert callable(sk.recipes.preferences) and sk.recipes.preferences.__name__ == 'preferences'

def test_chosen_is_the_higher_scored_whatever_the_order():
    tasks = sk.load_seeds('instruction_tasks').head(5)
    judge = Rubric(ScriptedTeacher(rater_of({'checked': 4, 'idea': 1})))
    for personas in ({'careful': 'Be careful.', 'careless': 'in a hurry'},
                     {'careless': 'in a hurry', 'careful': 'Be careful.'}):
        df = sk.recipes.preferences(tasks, teacher=ScriptedTeacher(writer), personas=personas, judge=judge)
        assert df['keep'].all() and df.height == 5
        assert (df['chosen_score'] > df['rejected_score']).all()
        assert set(df['chosen_by']) == {'careful'} and set(df['rejected']) == {'No idea.'}
        for r in df.iter_rows(named=True):   # chosen is the best candidate, rejected the worst
            sc = {c['response']: c['score'] for c in r['candidates']}
            assert sc[r['chosen']] == max(sc.values()) and sc[r['rejected']] == min(sc.values())
        assert df['parent_ids'].to_list() == [[i] for i in tasks['id']]

def test_three_teachers_best_against_worst():
    ts = {n: ScriptedTeacher(lambda t, n=n: f'answer {n}', model=n) for n in ('good', 'fair', 'bad')}
    judge = Rubric(ScriptedTeacher(rater_of({'good': 5, 'fair': 3, 'bad': 1})))
    df = sk.recipes.preferences(['Q1', 'Q2'], teachers=ts, judge=judge)
    assert df['chosen'].to_list() == ['answer good'] * 2 and df['rejected'].to_list() == ['answer bad'] * 2
    assert df['preferences'].to_list() == [4.0, 4.0]

def test_ties_dropped_with_reasons_and_margin_respected():
    t = ScriptedTeacher(writer)
    same = Rubric(ScriptedTeacher(rater_of({'checked': 3, 'idea': 3})))
    df = sk.recipes.preferences(['Say hi.'], teacher=t, personas=True, judge=same)
    assert df['keep'].to_list() == [False] and df['dropped_by'].to_list() == ['preferences']
    assert df['reasons'][0].to_list() == ['preferences: tie: every answer scored 3']
    close = Rubric(ScriptedTeacher(rater_of({'checked': 4, 'idea': 3})))
    for m, kept in [(1.0, True), (1.5, False), (0.5, True)]:
        df = sk.recipes.preferences(['Say hi.'], teacher=t, personas=True, judge=close, min_margin=m)
        assert df['keep'].to_list() == [kept]
        if not kept: assert df['reasons'][0].to_list() == ['preferences: margin 1 below 1.5']
    with pytest.raises(PreferenceError, match='no pairs kept'):
        dpo_records(sk.recipes.preferences(['Say hi.'], teacher=t, personas=True, judge=same))

def test_rerun_pays_nothing():
    calls, answer = counted(writer)
    jcalls, rate = counted(rater_of({'checked': 5, 'idea': 2}))
    t, j = ScriptedTeacher(answer, cache=CallCache()), Rubric(ScriptedTeacher(rate, cache=CallCache()))
    first = sk.recipes.preferences(['A', 'B', 'C'], teacher=t, personas=True, judge=j)
    assert (len(calls), len(jcalls)) == (6, 6)
    again = sk.recipes.preferences(['A', 'B', 'C'], teacher=t, personas=True, judge=j)
    assert (len(calls), len(jcalls)) == (6, 6) and again.equals(first)

def test_samples_are_separate_calls():
    calls, answer = counted(lambda r: f'take {r.sample}')
    df = sk.recipes.preferences(['Q'], teacher=ScriptedTeacher(answer), samples=3,
                                judge=lambda p, r: int(r[-1]))
    assert sorted(r.sample for r in calls) == [0, 1, 2]
    assert (df['chosen'][0], df['rejected'][0], df['preferences'][0]) == ('take 2', 'take 0', 2.0)

def test_reward_judge_and_failed_ratings():
    df = sk.recipes.preferences(['Q'], teacher=ScriptedTeacher(writer), personas=True,
                                judge=RewardJudge(len, name='length'))
    assert df['chosen_by'][0] == 'careful' and df['keep'][0]
    broken = Rubric(ScriptedTeacher(lambda t: '{"helpfulness": {"score": 3}}'))
    df = sk.recipes.preferences(['Q'], teacher=ScriptedTeacher(writer), personas=True, judge=broken)
    assert not df['keep'][0] and 'not rated: invalid answer after a retry: answer is missing "instruction_following"' in df['reasons'][0][0]

def biased(req: Request) -> str:
    "Prefers the first row unless only the second holds a checked answer."
    one, two = req.prompt.split('<row 2>')
    return json.dumps({'better': '2' if 'checked' in two and 'checked' not in one else '1', 'reason': '.'})

def test_pairwise_position_bias_reported():
    t = ScriptedTeacher(writer)
    def vague(req: Request) -> str: return f'Maybe {req.sample}.'
    j = Pairwise(ScriptedTeacher(biased))
    clear = sk.recipes.preferences(['A', 'B'], teacher=t, personas=True, judge=j)
    tied = sk.recipes.preferences(['C'], teacher=ScriptedTeacher(vague), samples=2, judge=j)
    both = pl.concat([clear, tied])
    rep = preference_report(both)
    assert (rep.pairs, rep.kept, rep.dropped, rep.comparisons) == (3, 2, {'tie': 1}, 3)
    assert rep.flip_rate == pytest.approx(1 / 3) and rep.first_position_rate == pytest.approx(4 / 6)
    assert 'verdict flipped when swapped' in rep._repr_html_() and '33%' in rep._repr_html_()

def test_trl_shapes_and_files(tmp_path):
    judge = Rubric(ScriptedTeacher(rater_of({'checked': 5, 'idea': 1})))
    df = sk.recipes.preferences(['Say <b>hi</b>.', 'Add 2 and 3.'], teacher=ScriptedTeacher(writer), personas=True,
                                judge=judge)
    std = dpo_records(df)
    assert all(set(r) == {'prompt', 'chosen', 'rejected'} and all(isinstance(v, str) for v in r.values()) for r in std)
    conv = dpo_records(df, conversational=True)
    for r in conv:
        assert [m['role'] for m in r['prompt']] == ['user']
        assert [m['role'] for m in r['chosen']] == [m['role'] for m in r['rejected']] == ['assistant']
        assert all(set(m) == {'role', 'content'} for k in r for m in r[k])
    out = sk.export(pl.DataFrame(conv), tmp_path/'dpo.jsonl')
    assert [json.loads(l) for l in out.path.read_text().splitlines()] == conv
    pq = sk.export(pl.DataFrame(std), tmp_path/'dpo.parquet')
    assert pl.read_parquet(pq.path).to_dicts() == std

def test_bad_input_errors():
    t = ScriptedTeacher(writer)
    j = Rubric(ScriptedTeacher(rater_of({'checked': 5, 'idea': 1})))
    cases = [(dict(prompts=[]), 'no prompts'),
             (dict(prompts=pl.DataFrame({'q': ['x']})), 'no "instruction" or "text" column (found: q)'),
             (dict(prompts=['fine', '']), 'prompts row 1'),
             (dict(prompts=['x'], teacher=None), 'no teacher'),
             (dict(prompts=['x'], teachers=[t]), '1 teacher(s) in teachers'),
             (dict(prompts=['x'], samples=1), 'samples=1'),
             (dict(prompts=['x'], personas={'only': 'one'}), '1 persona(s)'),
             (dict(prompts=['x'], judge=None), 'no judge'),
             (dict(prompts=['x'], judge=42), 'cannot rate with int')]
    for kw, msg in cases:
        args = dict(teacher=t, judge=j) | kw
        with pytest.raises(PreferenceError, match=msg.replace('(', r'\(').replace(')', r'\)')):
            sk.recipes.preferences(**args)
    with pytest.raises(PreferenceError, match='not a preferences frame'): preference_report(pl.DataFrame({'a': [1]}))
    with pytest.raises(PreferenceError, match='no prompt, chosen, rejected column'): dpo_records([{'a': 1}])

def test_teacher_as_judge_means_rubric():
    df = sk.recipes.preferences(['Q'], teacher=ScriptedTeacher(writer), personas=True,
                                judge=ScriptedTeacher(rater_of({'checked': 5, 'idea': 2})))
    assert df['chosen_score'][0] == 5.0 and 'instruction_following 5 (found 5)' in df['candidates'][0][0]['reason']
