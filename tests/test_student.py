"Train-synthetic-test-real: scores checked against hand computations and scikit-learn, errors, judged rows, custom students, BANKING77."
import json, random, warnings
import polars as pl
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score
from synthkit.core import StudentError
from synthkit.student import (Comparison, StudentWarning, TSTRResult, compare_tstr, default_student, holdout,
                              take_per_label, tstr)

LABELS = ['weather', 'billing', 'sport', 'travel']
SHARED_WORDS = ['the', 'a', 'please', 'today', 'my', 'help', 'with', 'about', 'question', 'again']

def toy(n_per_label:int, seed:int)->pl.DataFrame:
    "Rows whose label is given away by label-specific words (weather3, billing7, ...) mixed with shared ones."
    rng = random.Random(seed)
    rows = [{'text': ' '.join(rng.sample([f'{l}{i}' for i in range(12)], 3) + rng.sample(SHARED_WORDS, 3)), 'label': l}
            for _ in range(n_per_label) for l in LABELS]
    rng.shuffle(rows)
    return pl.DataFrame(rows)

class Scripted:
    "A student that answers a fixed list of labels, whatever the texts."
    def __init__(self, answers): self.answers = answers
    def fit(self, texts, labels): return self
    def predict(self, texts): return self.answers[:len(texts)]

class Memorizer:
    "A student that knows the training texts by heart and answers 'unknown' to any other text."
    def fit(self, texts, labels): self.book = dict(zip(texts, labels)); return self
    def predict(self, texts): return [self.book.get(t, 'unknown') for t in texts]


def test_separable_toy_set_scores_perfectly():
    res = tstr(toy(10, seed=0), toy(10, seed=1))
    assert res.accuracy == 1.0
    assert res.macro_f1 == 1.0
    assert res.per_label['recall'].to_list() == [1.0] * 4
    assert res.confusion.filter(pl.col('true') != pl.col('predicted')).height == 0
    assert res.confusion['count'].sum() == 40

def test_shuffled_labels_score_near_chance():
    train, test = toy(100, seed=0), toy(100, seed=1)
    rng = random.Random(0)
    shuffled = train['label'].to_list(); rng.shuffle(shuffled)
    res = tstr(train.with_columns(label=pl.Series(shuffled)), test)
    assert 0.15 < res.accuracy < 0.35, res     # chance is 0.25 on 4 balanced labels
    assert tstr(train, test).accuracy == 1.0    # the same rows with true labels are learnable

def test_per_label_scores_match_a_hand_computation():
    truth = ['a', 'a', 'a', 'b', 'b', 'c']
    said = ['a', 'a', 'b', 'b', 'c', 'c']
    train = pl.DataFrame({'text': ['x', 'y', 'z'], 'label': ['a', 'b', 'c']})
    res = tstr(train, pl.DataFrame({'text': [f't{i}' for i in range(6)], 'label': truth}), student=Scripted(said))
    per = {r['label']: r for r in res.per_label.to_dicts()}
    assert per['a']['recall'] == pytest.approx(2 / 3)   # 2 of the 3 "a" rows found
    assert per['b']['recall'] == pytest.approx(1 / 2)
    assert per['c']['recall'] == pytest.approx(1.0)
    assert per['a']['precision'] == pytest.approx(1.0)  # both rows called "a" were "a"
    assert per['c']['precision'] == pytest.approx(1 / 2)
    assert [per[l]['support'] for l in 'abc'] == [3, 2, 1]
    assert res.accuracy == pytest.approx(4 / 6)
    assert res.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    labels = ['a', 'b', 'c']
    assert res.per_label['recall'].to_list() == pytest.approx(list(recall_score(truth, said, labels=labels, average=None)))
    assert res.per_label['precision'].to_list() == pytest.approx(list(precision_score(truth, said, labels=labels, average=None)))
    assert res.macro_f1 == pytest.approx(f1_score(truth, said, labels=labels, average='macro'))
    assert res.confusion.rows() == [('a', 'a', 2), ('a', 'b', 1), ('b', 'b', 1), ('b', 'c', 1), ('c', 'c', 1)]

def test_macro_f1_matches_sklearn_with_misses_and_extra_predictions():
    truth = ['a', 'a', 'b', 'b', 'c', 'c', 'c', 'd']
    said = ['a', 'e', 'b', 'a', 'e', 'c', 'c', 'b']   # "e" is never true; "d" is never predicted
    res = TSTRResult(pl.DataFrame({'label': truth, 'predicted': said}))
    labels = sorted(set(truth))
    assert res.per_label['label'].to_list() == labels
    assert res.macro_f1 == pytest.approx(f1_score(truth, said, labels=labels, average='macro', zero_division=0))
    assert res.accuracy == pytest.approx(4 / 8)

def test_gap_closed_on_constructed_inputs():
    test = pl.DataFrame({'text': [f't{i}' for i in range(1, 9)], 'label': ['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd']})
    seeds = pl.DataFrame({'text': ['t1', 't3'], 'label': ['a', 'b']})
    synthetic = pl.DataFrame({'text': ['t5', 't7', 't2'], 'label': ['c', 'd', 'a'], 'keep': [True, True, False]})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', StudentWarning)   # seeds lack "c" and "d": warned, scored as misses
        cmp = compare_tstr(test, seeds=seeds, synthetic=synthetic, real=test, student=Memorizer)
    # seeds: a and b each have recall 1/2, precision 1 (F1 2/3); c and d are missed: macro-F1 1/3.
    # seeds+synthetic (t2 rejected): all four labels at F1 2/3: macro-F1 2/3.  real: every text known: 1.
    f1 = dict(zip(cmp.table['setting'], cmp.table['macro_f1']))
    assert f1 == pytest.approx({'seeds': 1 / 3, 'seeds+synthetic': 2 / 3, 'real': 1.0})
    assert cmp.gap_closed == pytest.approx((2 / 3 - 1 / 3) / (1 - 1 / 3))
    assert cmp.gap_closed == pytest.approx(0.5)
    assert cmp.table['rows'].to_list() == [2, 4, 8]
    assert isinstance(cmp, Comparison)

def test_gap_closed_is_none_without_real_rows_or_gap():
    train, test = toy(5, 0), toy(5, 1)
    assert compare_tstr(test, seeds=train, synthetic=train).gap_closed is None
    assert compare_tstr(test, seeds=train, synthetic=train, real=train).gap_closed is None   # seeds already as good as real

def test_keep_false_rows_are_left_out():
    train, test = toy(10, 0), toy(10, 1)
    poison = pl.DataFrame({'text': test['text'], 'label': ['weather'] * len(test), 'keep': [False] * len(test)})
    judged = pl.concat([train.with_columns(keep=pl.lit(True)), poison])
    res = tstr(judged, test)
    assert res.train_rows == len(train)
    assert res.accuracy == 1.0
    cmp = compare_tstr(test, seeds=train, synthetic=poison.with_columns(keep=pl.Series([True] + [False] * (len(test) - 1))))
    assert cmp.table['rows'].to_list() == [len(train), len(train) + 1]
    with pytest.warns(StudentWarning, match='rejected them all'):
        assert compare_tstr(test, seeds=train, synthetic=poison).table['rows'].to_list() == [len(train)] * 2

def test_custom_estimator_is_accepted():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline
    train, test = toy(10, 0), toy(10, 1)
    nb = make_pipeline(TfidfVectorizer(), MultinomialNB())
    assert tstr(train, test, student=nb).accuracy == 1.0
    assert not hasattr(nb[-1], 'classes_')                       # the estimator given is cloned, not fitted in place
    assert tstr(train, test, student=lambda: make_pipeline(TfidfVectorizer(), MultinomialNB())).accuracy == 1.0
    res = tstr(train, test, student=Memorizer)                    # a plain class with fit/predict
    assert res.accuracy == 0.0 and isinstance(res.student, Memorizer)

def test_errors_say_what_to_fix():
    train, test = toy(5, 0), toy(5, 1)
    with pytest.raises(StudentError, match=r'train: no "text" column \(found: "utterance", "label"\); pass text="utterance"'):
        tstr(train.rename({'text': 'utterance'}), test)
    with pytest.raises(StudentError, match=r'test: no "label" column \(found: "text", "intent"\); pass label="intent"'):
        tstr(train, test.rename({'label': 'intent'}))
    with pytest.raises(StudentError, match=r'no "category" column \(found: "text", "label"\)'):
        tstr(train, test, label='category')
    with pytest.raises(StudentError, match=r'train: 5 row\(s\) but only one label \("sport"\); .*at least two labels'):
        tstr(train.filter(pl.col('label') == 'sport'), test)
    with pytest.raises(StudentError, match='train: no rows'): tstr(pl.DataFrame(), test)
    with pytest.raises(StudentError, match='train: no rows'): tstr([], test)
    with pytest.raises(StudentError, match='test: no rows'): tstr(train, test.clear())
    with pytest.raises(StudentError, match='is not a student'): tstr(train, test, student='logreg')
    with pytest.raises(StudentError, match='could not be trained'):
        tstr(pl.DataFrame({'text': ['', ' '], 'label': ['a', 'b']}), pl.DataFrame({'text': ['q'], 'label': ['a']}))
    with pytest.raises(StudentError, match=r'seeds: no "text" column'):
        compare_tstr(test, seeds=train.rename({'text': 'body'}))

def test_unseen_test_labels_warn_and_count_as_misses():
    train, test = toy(10, 0), toy(10, 1)
    with pytest.warns(StudentWarning, match=r'train: 20 test row\(s\) carry 2 label\(s\) never seen in training \("travel", "weather"\); they are scored as misses'):
        res = tstr(train.filter(pl.col('label').is_in(['billing', 'sport'])), test)
    per = {r['label']: r for r in res.per_label.to_dicts()}
    assert per['travel']['recall'] == 0.0 and per['weather']['recall'] == 0.0
    assert per['billing']['recall'] == 1.0
    assert res.unseen == ['travel', 'weather']
    assert res.accuracy == pytest.approx(0.5)
    assert res.test_rows == 40

def test_rows_without_text_or_label_are_left_out_with_a_warning():
    train = pl.concat([toy(5, 0), pl.DataFrame({'text': [None, 'x'], 'label': ['sport', None]}, schema={'text': pl.String, 'label': pl.String})])
    with pytest.warns(StudentWarning, match=r'train: left out 2 row\(s\) with no text or no label'):
        assert tstr(train, toy(5, 1)).train_rows == 20

def test_integer_labels_and_other_column_names():
    rows = [{'utterance': f'{w}{i} {w}', 'y': int(w == 'cold')} for i in range(6) for w in ['cold', 'warm']]
    res = tstr(rows[:8], rows[8:], text='utterance', label='y')
    assert set(res.per_label['label']) == {'0', '1'}

def test_default_student_is_deterministic():
    train, test = toy(20, 0), toy(20, 1).with_columns(text=pl.col('text').str.replace(r'\d', ''))   # a harder test set
    a, b = tstr(train, test), tstr(train, test)
    assert a.predictions['predicted'].to_list() == b.predictions['predicted'].to_list()
    assert default_student(7).get_params()['classifier__random_state'] == 7

def test_result_shows_itself_and_escapes_labels():
    res = TSTRResult(pl.DataFrame({'label': ['<script>x</script>', 'ok', 'ok'], 'predicted': ['ok', 'ok', 'ok']}), train_rows=3)
    h = res._repr_html_()
    assert '&lt;script&gt;x&lt;/script&gt;' in h and '<script>' not in h
    assert '0.667' in h   # accuracy
    d = res.to_dict()
    json.dumps(d)
    assert d['accuracy'] == pytest.approx(2 / 3) and d['train_rows'] == 3
    assert set(d['per_label'][0]) == {'label', 'support', 'precision', 'recall', 'f1'}
    assert 'TSTRResult(accuracy=0.667' in repr(res)

def test_charts_are_titled_with_tooltips_and_survive_large_inputs():
    n = 12_000   # more rows than altair's 5,000-row limit, and 6,000 labels
    big = TSTRResult(pl.DataFrame({'label': [f'l{i % 6000}' for i in range(n)], 'predicted': [f'l{i % 5000}' for i in range(n)]}))
    spec = big.chart().to_dict()
    assert spec['title']['text'] == 'Recall per label (the 40 lowest of 6000)'
    assert len(spec['data']['values']) == 40
    assert {t['field'] for t in spec['encoding']['tooltip']} >= {'label', 'recall', 'precision', 'support'}
    cmp = compare_tstr(toy(5, 1), seeds=toy(2, 0), synthetic=toy(5, 2), real=toy(10, 3))
    spec = cmp.chart().to_dict()
    assert spec['title']['text'] == 'What the student learns from each training set'
    assert len(spec['data']['values']) == 6 and 'tooltip' in spec['encoding']
    assert 'gap closed' in cmp._repr_html_() or cmp.gap_closed is None

def test_holdout_and_take_per_label():
    rows = toy(10, 0)
    train, test = holdout(rows, test_size=0.3, seed=1)
    assert (len(train), len(test)) == (28, 12)
    assert test['label'].value_counts()['count'].to_list() == [3] * 4
    assert holdout(rows, test_size=0.3, seed=1)[1].equals(test)
    assert set(train['text']).isdisjoint(test['text'])
    seeds = take_per_label(rows, 2, seed=3)
    assert sorted(seeds['label'].value_counts()['count'].to_list()) == [2] * 4
    assert take_per_label(rows, 2, seed=3).equals(seeds)
    with pytest.raises(StudentError, match='not a share between 0 and 1'): holdout(rows, test_size=1.5)

def test_banking77_seeds_versus_full_train(shared):
    d = shared/'banking77'
    train, test = pl.read_csv(d/'train.csv'), pl.read_csv(d/'test.csv')
    seeds = take_per_label(train, 5, label='category', seed=0)
    few = tstr(seeds, test, label='category')
    full = tstr(train, test, label='category')
    print(f'BANKING77 macro-F1: 5 seeds per intent ({few.train_rows} rows) {few.macro_f1:.3f}; '
          f'full train ({full.train_rows} rows) {full.macro_f1:.3f}')
    assert len(seeds) == 385 and full.train_rows == len(train)
    assert full.macro_f1 > few.macro_f1
    assert full.macro_f1 > 0.88 and few.macro_f1 > 0.5   # measured 0.914 and 0.634

def test_weights_reach_the_default_student():
    "Rows that say the wrong thing: weighed as much as the rest they mislead the student, weighed little they do not."
    train, test = toy(10, 0), toy(10, 1)
    poison = test.with_columns(label=pl.lit('weather'))        # every test text, labelled weather
    mixed = pl.concat([train.with_columns(w=pl.lit(1.0)), poison.with_columns(w=pl.lit(0.001))])
    assert tstr(mixed, test).accuracy < 0.5                     # unweighted, the poison wins on its own texts
    assert tstr(mixed, test, weights='w').accuracy == 1.0
    loud = compare_tstr(test, seeds=train, synthetic=poison)
    quiet = compare_tstr(test, seeds=train, synthetic=poison, synthetic_weight=0.001)
    acc = lambda c: dict(zip(c.table['setting'], c.table['accuracy']))['seeds+synthetic']
    assert acc(loud) < 0.5 and acc(quiet) == 1.0
    assert quiet.table['rows'].to_list() == loud.table['rows'].to_list() == [len(train), len(train) + len(poison)]
    with pytest.raises(StudentError, match=r'synthetic_weight=-1 is not a weight'):
        compare_tstr(test, seeds=train, synthetic=poison, synthetic_weight=-1)
    with pytest.raises(StudentError, match=r'takes no sample_weight'):
        tstr(mixed, test, student=Memorizer, weights='w')
