"PairReview driven through its buttons, as clicks in the browser would, and sk.calibrate on the picks it records."
import json
import polars as pl
import pytest
from ipywidgets.widgets.widget import _instances
import synthkit as sk
from synthkit.core import JudgeError
from synthkit.recipes.preferences import dpo_records

def prefs(n=6):
    "A preference frame as sk.recipes.preferences makes it: one pair has no rejected answer (it could not be rated)."
    df = pl.DataFrame({'prompt': [f'question {i} <b>bold</b>' for i in range(n)],
                       'chosen': [f'a careful answer {i} <script>alert({i})</script>' for i in range(n)],
                       'rejected': [f'a hurried answer {i}' for i in range(n)],
                       'preferences': [3.0] * n})
    return df.with_columns(rejected=pl.when(pl.int_range(n) == 2).then(None).otherwise(pl.col('rejected')))

def lines(path): return [json.loads(l) for l in path.read_text().splitlines()]
def button(pr, name): return next(b for b in pr.w_picks + [pr.w_back, pr.w_next, pr.w_undo] if b.description == name)

def test_a_click_is_saved_at_once_with_what_was_shown_where(tmp_path):
    j = tmp_path/'pairs.jsonl'
    pr = sk.PairReview(prefs(), j)
    left, right = pr.shown(pr.current)
    assert {left, right} == {'chosen', 'rejected'}
    button(pr, 'A').click()
    (d,) = lines(j)
    assert (d['id'], d['decision'], d['pick'], d['left'], d['right']) == (pr.df['id'][0], 'A', left, left, right)
    pr.goto(0)
    assert 'A ✔ better' in pr.w_a.value and '✔' not in pr.w_b.value
    assert '1 decided (A 1 · B 0 · tie 0 · both bad 0) · 4 to go' in pr.w_status.value

def test_the_cards_are_escaped_and_blind(tmp_path):
    pr = sk.PairReview(prefs(), tmp_path/'p.jsonl', left='chosen')
    assert '&lt;b&gt;bold&lt;/b&gt;' in pr.w_prompt.value and '<b>bold' not in pr.w_prompt.value
    assert '&lt;script&gt;' in pr.w_a.value and '<script>' not in pr.w_a.value
    for w in (pr.w_a, pr.w_b): assert 'chosen' not in w.value and 'preferences' not in w.value   # the judge's verdict is not shown

def test_every_button_and_the_navigation(tmp_path):
    j = tmp_path/'p.jsonl'
    pr = sk.PairReview(prefs(), j, left='rejected')
    assert pr.order == [0, 1, 3, 4, 5]                       # pair 2 has no rejected answer: skipped
    for name in ('A', 'B', 'tie', 'both bad'): button(pr, name).click()
    assert [d['pick'] for d in lines(j)] == ['rejected', 'chosen', 'tie', 'both_bad']
    assert [d['decision'] for d in lines(j)] == ['A', 'B', 'tie', 'both_bad']
    assert pr.current == 5
    button(pr, 'Next ▶').click(); assert pr.current == 5     # stays at the last pair
    for _ in range(9): button(pr, '◀ Back').click()
    assert pr.current == 0 and '✔ better' in pr.w_a.value
    button(pr, 'undo').click()
    assert lines(j)[-1]['decision'] == 'undo' and pr.value['human_pick'][0] is None
    assert pr.picks['decision'].to_list() == ['B', 'tie', 'both_bad']
    with pytest.raises(JudgeError, match='pair 2 has no two answers'): pr.decide(2, 'A')

def test_resume_starts_where_it_stopped_and_keeps_the_positions(tmp_path):
    j = tmp_path/'p.jsonl'
    pr = sk.PairReview(prefs(), j)
    for _ in range(3): button(pr, 'B').click()
    again = sk.PairReview(prefs(), j, left='chosen')          # even when asked to show chosen left from now on
    assert again.current == 4 and again.picks.height == 3
    for d in lines(j): assert again.shown(pr.df['id'].to_list().index(d['id'])) == (d['left'], d['right'])
    assert again.shown(4)[0] == again.shown(5)[0] == 'chosen'
    assert again.value.filter(pl.col('human_pick').is_not_null()).height == 3

def test_a_crash_mid_write_loses_only_that_pick(tmp_path):
    j = tmp_path/'p.jsonl'
    pr = sk.PairReview(prefs(), j)
    button(pr, 'A').click(); button(pr, 'B').click()
    with j.open('a') as f: f.write('{"id": "' + pr.df['id'][3] + '", "decis')   # killed half way through a line
    again = sk.PairReview(prefs(), j)
    assert again.picks.height == 2 and again.current == 3
    button(again, 'tie').click()
    assert [d['decision'] for d in lines(j)] == ['A', 'B', 'tie']           # the cut line is gone, nothing glued to it
    assert sk.PairReview(prefs(), j).picks.height == 3

def test_a_corrupt_line_is_an_error_naming_it_and_nothing_is_lost(tmp_path):
    j = tmp_path/'p.jsonl'
    pr = sk.PairReview(prefs(), j)
    for _ in range(3): button(pr, 'A').click()
    good = j.read_text()
    ls = good.splitlines(); ls[1] = ls[1][:-5] + 'oops'
    j.write_text('\n'.join(ls) + '\n')
    with pytest.raises(JudgeError, match=r'p\.jsonl line 2: not JSON .*repair or delete that line'): sk.PairReview(prefs(), j)
    j.write_text(good.replace('"decision": "A"', '"decision": "C"', 1))
    with pytest.raises(JudgeError, match="line 1: decision 'C' is not one of A, B, tie, both_bad"): sk.PairReview(prefs(), j)
    j.write_text(good)
    assert sk.PairReview(prefs(), j).picks.height == 3

def test_an_accept_reject_journal_is_not_read_as_picks_and_vice_versa(tmp_path):
    j = tmp_path/'p.jsonl'
    button(sk.PairReview(prefs(), j), 'A').click()
    batch = pl.DataFrame({'text': ['I lost my card on the bus today', 'Where is my refund for order 7?']})
    with pytest.raises(JudgeError, match="line 1: decision 'A' is not one of accept, reject"): sk.ReviewWidget(batch, j)

def test_positions_random_per_pair_stable_and_seeded(tmp_path):
    big = pl.DataFrame({'prompt': [f'p{i}' for i in range(200)], 'chosen': [f'c{i}' for i in range(200)],
                        'rejected': [f'r{i}' for i in range(200)]})
    a = sk.PairReview(big, tmp_path/'a.jsonl').value['shown_left'].to_list()
    assert a == sk.PairReview(big, tmp_path/'b.jsonl').value['shown_left'].to_list()
    assert 70 < a.count('chosen') < 130
    assert a != sk.PairReview(big, tmp_path/'c.jsonl', seed=1).value['shown_left'].to_list()
    listed = ['chosen', 'rejected'] * 100
    assert sk.PairReview(big, tmp_path/'d.jsonl', left=listed).value['shown_left'].to_list() == listed
    with pytest.raises(JudgeError, match="left='a'"): sk.PairReview(big, tmp_path/'e.jsonl', left='a')

def test_picks_leave_no_dead_widgets(tmp_path):
    pr = sk.PairReview(prefs(), tmp_path/'p.jsonl')
    button(pr, 'A').click(); before = len(_instances)
    for name in ('B', 'tie', '◀ Back', 'Next ▶', 'both bad', 'undo'): button(pr, name).click()
    assert len(_instances) == before

# --- calibrate on the picks ---------------------------------------------------------------------------------------

def pairwise_frame():
    "What sk.pairwise returns, for eight pairs: the judge's winner a, b or tie."
    return pl.DataFrame({'a': [f'first {i}' for i in range(8)], 'b': [f'second {i}' for i in range(8)],
                         'winner': ['a', 'a', 'b', 'b', 'tie', 'tie', 'a', 'b']})

def reviewed_pairwise(tmp_path):
    pr = sk.PairReview(pairwise_frame(), tmp_path/'pw.jsonl', left='a')
    for name in ('A', 'A', 'B', 'A', 'tie', 'both bad', 'B', 'B'): button(pr, name).click()
    return pr

def test_calibrate_a_pairwise_judge_on_a_case_worked_by_hand(tmp_path):
    # by position (a on the left): person A A B A tie both-bad B B, judge A A B B tie tie A B.
    # both bad counts as a tie: 6 of 8 agree; person and judge each pick A 3, B 3, tie 2 times, so chance agreement
    # is (9 + 9 + 4) / 64 and kappa = (8*6 - 22) / (64 - 22) = 13/21.
    cal = sk.calibrate(reviewed_pairwise(tmp_path).value)
    assert (cal.judge, cal.n, cal.agreement, cal.kappa, cal.both_bad, cal.human_a) == ('winner', 8, 0.75, 13 / 21, 1, 0.5)
    assert cal.confusion.rows() == [('A', 2, 1, 0), ('B', 1, 2, 0), ('tie', 0, 0, 1), ('both bad', 0, 0, 1)]
    html = cal._repr_html_()
    assert "Cohen&#x27;s kappa (A / B / tie)</td><td>0.62" in html and '1 (counted as ties)' in html
    # left out instead: 7 pairs, 5 agree, chance (9 + 9 + 1) / 49, kappa = (35 - 19) / (49 - 19) = 8/15
    skip = sk.calibrate(reviewed_pairwise(tmp_path).value, both_bad='skip')
    assert (skip.n, skip.agreement, skip.kappa, skip.both_bad) == (7, 5 / 7, 8 / 15, 1)

def test_calibrate_reads_positions_not_sides(tmp_path):
    "A judge that agrees with the person on every pair scores kappa 1 whatever the positions; by side it could not."
    pr = sk.PairReview(pl.concat([prefs(6), prefs(6).with_columns(pl.col('prompt') + ' again')]), tmp_path/'p.jsonl')
    for _ in range(len(pr.order)): button(pr, 'A' if pr.shown(pr.current)[0] == 'chosen' else 'B').click()
    cal = sk.calibrate(pr.value)
    assert (cal.n, cal.agreement, cal.kappa, cal.judge) == (10, 1.0, 1.0, 'preferences')
    never = sk.calibrate(pr.value, judge=['tie'] * 12)            # a judge that never decides
    assert (never.agreement, never.kappa) == (0.0, 0.0)

def test_calibrate_pairs_errors_say_what_to_pass(tmp_path):
    v = reviewed_pairwise(tmp_path).value
    with pytest.raises(JudgeError, match='no judge column "score"'): sk.calibrate(v, 'score')
    with pytest.raises(JudgeError, match='3 judge picks for 8 pairs'): sk.calibrate(v, ['a', 'b', 'a'])
    with pytest.raises(JudgeError, match="judge pick 'left'"): sk.calibrate(v, ['left'] * 8)
    with pytest.raises(JudgeError, match='both_bad=.maybe.'): sk.calibrate(v, both_bad='maybe')
    with pytest.raises(JudgeError, match='no pair with both a human pick'):
        sk.calibrate(v.with_columns(human_pick=pl.lit(None, pl.String)))

def test_accept_reject_calibration_is_unchanged():
    people = pl.DataFrame({'text': [f'row {i}' for i in range(8)], 'llm_helpfulness': [5., 4., 4., 3., 3., 2., 2., 1.],
                           'reasons': [[]] * 5 + [['llm_helpfulness: weak']] * 3,
                           'human': ['accept', 'accept', 'reject', 'accept', 'accept', 'reject', 'reject', 'reject']})
    cal = sk.calibrate(people, 'llm_helpfulness')
    # judge keeps 5, person accepts 4 of them and none of the rest: 7 of 8 agree, chance 1/2, kappa 0.75
    assert (cal.agreement, cal.kappa, cal.precision, cal.recall, cal.best_threshold) == (0.875, 0.75, 0.8, 1.0, 3.0)
    assert isinstance(cal, sk.Calibration) and cal.sweep.height == 5
    with pytest.raises(JudgeError, match='no "human" column'): sk.calibrate(people.drop('human'), 'llm_helpfulness')
    with pytest.raises(JudgeError, match='no judge named'): sk.calibrate(people)

def test_apply_swaps_drops_and_keeps_as_the_person_picked(tmp_path):
    judged = prefs().with_columns(keep=pl.col('rejected').is_not_null())   # as the recipe drops a pair it could not rate
    pr = sk.PairReview(judged, tmp_path/'p.jsonl', left='chosen')
    for name in ('B', 'A', 'tie', 'both bad'): button(pr, name).click()   # pairs 0, 1, 3, 4; pair 5 not reviewed
    out = pr.apply()
    assert out['chosen'][0] == prefs()['rejected'][0] and out['rejected'][0] == prefs()['chosen'][0]
    assert out['keep'].to_list() == [True, True, False, False, False, True]
    assert out['reasons'].to_list() == [[], [], [], ['human: tie'], ['human: both bad'], []]
    assert out['dropped_by'].to_list() == [None, None, None, 'human', 'human', None]
    assert [r['chosen'] for r in dpo_records(out)] == [out['chosen'][i] for i in (0, 1, 5)]

def test_picks_on_other_pairs_are_counted_not_lost(tmp_path):
    j = tmp_path/'p.jsonl'
    button(sk.PairReview(prefs(), j), 'A').click()
    other = sk.PairReview(prefs().with_columns(pl.col('prompt') + '?'), j)   # the pairs were made again: new ids
    assert other.picks.height == 0 and '(1 picks on other pairs)' in other.w_status.value
    button(other, 'B').click()
    assert len(lines(j)) == 2 and sk.PairReview(prefs(), j).picks.height == 1
