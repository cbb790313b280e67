"ReviewWidget driven through its widgets, as a click in the browser would: filters, decisions on disk, escaping, no dead widgets."
import json
import polars as pl
from ipywidgets.widgets.widget import _instances
import synthkit as sk

def batch(n=12):
    rows = [{'text': f'I need help with case {i} <script>alert({i})</script>', 'label': ['card_lost', 'refund'][i % 2]} for i in range(n)]
    rows[3]['text'] = 'hi'   # too short: dropped by the heuristics
    return sk.judge(pl.DataFrame(rows), [sk.Heuristics(min_words=3)])

def cards(rw): return rw.w_rows.children

def test_filters_read_all_and_any_and_filter_when_picked(tmp_path):
    rw = sk.ReviewWidget(batch(), tmp_path/'review.jsonl', page_size=4)
    assert (rw.w_label.label, rw.w_judge.label) == ('all labels', 'any')     # not blank boxes
    rw.w_label.value = 'refund'
    assert rw.label_filter == 'refund' and len(rw.visible()) == 6
    rw.w_judge.value = 'heuristics'
    assert rw.visible() == [3]                     # the one refund row the heuristics dropped
    rw.w_label.value = ''; rw.w_judge.value = ''
    assert rw.label_filter is None and rw.judge_filter is None and len(rw.visible()) == 12
    rw.filter(label='card_lost')                   # from code: the box follows
    assert rw.w_label.value == 'card_lost'

def test_accept_click_is_saved_at_once_and_escaped(tmp_path):
    rw = sk.ReviewWidget(batch(), tmp_path/'review.jsonl', page_size=4)
    body, buttons = cards(rw)[0].children[0].children
    assert '<script>' not in body.value and '&lt;script&gt;' in body.value
    buttons.children[0].click()                    # Accept
    saved = [json.loads(l) for l in (tmp_path/'review.jsonl').read_text().splitlines()]
    assert saved[-1]['decision'] == 'accept' and saved[-1]['id'] == rw.df['id'][0]
    assert '✔ accepted' in cards(rw)[0].children[0].children[0].value
    again = sk.ReviewWidget(batch(), tmp_path/'review.jsonl', page_size=4)   # a restarted kernel finds it
    assert again.value.filter(pl.col('id') == rw.df['id'][0])['human'][0] == 'accept'

def test_decisions_leave_no_dead_widgets(tmp_path):
    rw = sk.ReviewWidget(batch(), tmp_path/'review.jsonl', page_size=4)
    rw.decide(0, 'accept'); before = len(_instances)
    for i in range(1, 8): rw.decide(i, 'reject' if i % 2 else 'accept')
    assert len(_instances) <= before
