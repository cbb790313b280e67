"Diversity: measures on batches whose answer is known, the fast forms against their definitions, the round warning, charts on large batches, the HTML report and the dashboard."
import math, random, re, warnings
from collections import Counter
import numpy as np
import polars as pl
import pytest
from synthkit.core import DiversityError
from synthkit.seeds import load_seeds
from synthkit.diversity import (DiversityReport, DiversityWarning, Ngrams, coverage, diversity, diversity_by_round,
                                distinct_n, embed_texts, label_balance, mean_cosine, novelty, self_bleu, sentence_bleus,
                                vendi_score)
from synthkit.charts import report_charts
from synthkit.report import compare_reports, html_report
from synthkit.widgets.dashboard import DiversityDashboard

LABELS = ['billing', 'cards', 'travel', 'loans']

def random_rows(n:int, seed:int=0, vocab:int=20_000, words=(6, 14))->list[str]:
    "Rows of random made-up words from a large vocabulary: almost no word, let alone phrase, repeats."
    rng = random.Random(seed)
    return [' '.join(f'w{rng.randrange(vocab)}' for _ in range(rng.randint(*words))) for _ in range(n)]

def batch_of(texts, rounds=None, keep=None, seed:int=0)->pl.DataFrame:
    rng = random.Random(seed)
    n = len(texts)
    return pl.DataFrame({'text': texts, 'label': [LABELS[i % 4] for i in range(n)], 'source': ['synthetic'] * n,
                         'round': rounds if rounds is not None else [1] * n, 'keep': keep if keep is not None else [True] * n,
                         'reasons': [[] for _ in range(n)]}, schema_overrides={'reasons': pl.List(pl.String)})

def naive_bleu(texts, i, max_n=4, eps=0.1):
    "BLEU of texts[i] against all the other texts as references, straight from the definition."
    w = [re.findall(r'\w+', t.lower()) for t in texts]
    h, refs = w[i], [x for j, x in enumerate(w) if j != i]
    logp, m = 0.0, min(len(h), max_n)
    for n in range(1, m + 1):
        c = Counter(tuple(h[k:k + n]) for k in range(len(h) - n + 1))
        best = Counter()
        for r in refs:
            for g, v in Counter(tuple(r[k:k + n]) for k in range(len(r) - n + 1)).items(): best[g] = max(best[g], v)
        num = sum(min(v, best[g]) for g, v in c.items())
        logp += math.log((num or eps) / sum(c.values())) / m
    r = min((len(x) for x in refs if x), key=lambda l: (abs(l - len(h)), l))
    return (1.0 if len(h) >= r else math.exp(1 - r / len(h))) * math.exp(logp)


# --- known answers -----------------------------------------------------------------------------

def test_identical_rows_score_as_one_row():
    rep = diversity(pl.DataFrame({'text': ['my card was declined at the shop this morning'] * 200}))
    assert rep.distinct_1 == rep.distinct_2 == rep.distinct_3 == pytest.approx(1 / 200)   # the minimum: 1 / rows
    assert rep.self_bleu == pytest.approx(1.0, abs=1e-9)
    assert rep.vendi == pytest.approx(1.0, abs=1e-6)
    assert rep.mean_cosine == pytest.approx(1.0, abs=1e-9)
    assert rep.compression < 0.05

def test_very_different_rows_score_the_opposite():
    rep = diversity(pl.DataFrame({'text': random_rows(500)}))
    assert rep.distinct_2 > 0.99 and rep.distinct_3 == pytest.approx(1.0)
    assert rep.self_bleu < 0.05
    assert rep.vendi > 50                 # near the 64 dimensions of the default embedding
    assert abs(rep.mean_cosine) < 0.05
    assert rep.compression > 0.4

def test_seeds_and_batch_against_each_other():
    seeds = load_seeds('support_requests')
    copies = seeds.head(20).with_columns(source=pl.lit('synthetic'))
    rep = diversity(copies, seeds)
    assert rep.novelty == 0.0              # every 3-gram is a seed's
    assert rep.seeds == 85 and rep.far_share == 0.0
    assert rep.seed_coverage == pytest.approx(20 / 85, abs=0.05)   # the 20 copied seeds are covered, at cosine 1
    new = diversity(pl.DataFrame({'text': random_rows(50)}), seeds)
    assert new.novelty == 1.0 and new.seed_coverage == 0.0
    assert new.far_share > 0.9     # no shared word; a row barely in the 64-dim subspace can land near a seed by chance

def test_seeds_inside_the_batch_become_the_reference():
    seeds = load_seeds('support_requests')
    both = pl.concat([seeds.select('text', 'label', 'source'), batch_of(random_rows(40)).select('text', 'label', 'source')])
    rep = diversity(both)
    assert (rep.rows, rep.total, rep.seeds) == (40, 125, 85)

def test_rejected_rows_are_left_out_unless_asked():
    b = batch_of(random_rows(10) + ['same words here'] * 30, keep=[True] * 10 + [False] * 30)
    assert diversity(b).rows == 10
    assert diversity(b, accepted=False).rows == 40


# --- fast forms against their definitions --------------------------------------------------------

def test_self_bleu_matches_the_definition():
    rng = random.Random(3)
    words = 'my card was declined lost stolen the bank refund please help today again why'.split()
    texts = [' '.join(rng.choice(words) for _ in range(rng.randint(1, 9))) for _ in range(40)] + ['', 'card']
    fast = sentence_bleus(texts)
    for i, t in enumerate(texts):
        if not re.findall(r'\w+', t): assert np.isnan(fast[i])
        else: assert fast[i] == pytest.approx(naive_bleu(texts, i), abs=1e-12), (i, t)

def test_sampled_self_bleu_states_its_sample():
    texts = random_rows(3000, vocab=300)
    score, used = self_bleu(texts, sample=500)
    assert used == 500 and 0 < score < 1
    rep = diversity(pl.DataFrame({'text': texts}), sample=500)
    assert rep.self_bleu_rows == 500 and rep.to_dict()['self_bleu_sampled'] is True
    assert 'random sample of 500 of 3,000 rows' in rep._repr_html_()
    small = diversity(pl.DataFrame({'text': texts[:300]}), sample=500)
    assert small.self_bleu_rows == 300 and small.to_dict()['self_bleu_sampled'] is False
    assert 'exact, all 300 rows' in small._repr_html_()

@pytest.mark.parametrize('n,d', [(30, 8), (8, 30), (64, 64)])
def test_dual_vendi_equals_the_n_by_n_eigendecomposition(n, d):
    X = np.random.default_rng(n * d).normal(size=(n, d))
    Xu = X / np.linalg.norm(X, axis=1, keepdims=True)
    lam = np.linalg.eigvalsh(Xu @ Xu.T / n); lam = lam[lam > 1e-12]
    assert vendi_score(X) == pytest.approx(float(np.exp(-(lam * np.log(lam)).sum())), rel=1e-9)

@pytest.mark.filterwarnings('ignore::DeprecationWarning')   # the package reads scipy.sparse.csr, deprecated
def test_vendi_matches_the_vendi_score_package():
    vendi = pytest.importorskip('vendi_score.vendi')
    X = embed_texts(load_seeds('support_requests')['text'].to_list())
    assert vendi_score(X) == pytest.approx(float(vendi.score_K(X @ X.T)), rel=1e-8)

def test_vendi_bounds():
    assert vendi_score(np.eye(12)) == pytest.approx(12.0)
    assert vendi_score(np.tile([1.0, 2.0, 3.0], (40, 1))) == pytest.approx(1.0)

def test_mean_cosine_equals_the_brute_force_mean():
    X = np.random.default_rng(0).normal(size=(50, 16)); X[7] = 0    # a text with no words embeds to zeros
    Xu = np.divide(X, np.linalg.norm(X, axis=1, keepdims=True), out=np.zeros_like(X), where=np.linalg.norm(X, axis=1, keepdims=True) > 0)
    K = Xu @ Xu.T
    assert mean_cosine(X) == pytest.approx(K[~np.eye(50, dtype=bool)].mean(), abs=1e-12)
    assert mean_cosine(X[:1]) is None

def test_distinct_and_novelty_count_as_defined():
    assert distinct_n(['a b a b', 'a b'], 2) == pytest.approx(2 / 4)   # pairs: ab ba ab | ab -> {ab, ba} of 4
    assert distinct_n(['a b a b', 'a b'], 1) == pytest.approx(2 / 6)
    assert novelty(['a b c d', 'x y z'], ['a b c']) == pytest.approx(2 / 3)
    g = Ngrams(['Hello world', 'hello WORLD again'])
    assert g.ids[2][1] == g.ids[2][3] and g.ids[2][0] == -1

def test_coverage_by_hand():
    S = np.eye(4)
    X = np.array([[1.0, 0, 0, 0], [0.6, 0.8, 0, 0], [0, 0.2, 0, 0.1]])
    cov, far = coverage(X, S, near=0.7, far=0.5)
    assert cov == pytest.approx(2 / 4)        # seed 0 (cosine 1) and seed 1 (0.8); seed 3 gets only 0.45, seed 2 nothing
    assert far == pytest.approx(0.0)          # the third row's best cosine is 0.89 (seed 1)
    cov, far = coverage(X, S, near=0.7, far=0.9)
    assert far == pytest.approx(2 / 3)        # rows two (0.8) and three (0.89) fall short of 0.9
    cov, far = coverage(np.array([[0, 0, 0, 0, 1.0]]), np.eye(5)[:4])
    assert (cov, far) == (0.0, 1.0)

def test_label_balance():
    tab, ent, imb = label_balance(['a'] * 6 + ['b'] * 2, {'a': 4, 'b': 4})
    assert tab['short'].to_list() == [0, 2] and imb == 3.0
    assert ent == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2))

def test_custom_embedding_and_its_errors():
    rows = pl.DataFrame({'text': ['a', 'b', 'c', 'd']})
    rep = diversity(rows, embed=lambda ts: np.eye(len(ts)))
    assert rep.vendi == pytest.approx(4.0) and rep.mean_cosine == pytest.approx(0.0)
    with pytest.raises(DiversityError, match=r'returned shape \(3,\) for 4 texts'): diversity(rows, embed=lambda ts: np.ones(3))
    with pytest.raises(DiversityError, match='the embed function failed'): diversity(rows, embed=lambda ts: 1 / 0)

def test_errors_say_what_to_do():
    with pytest.raises(DiversityError, match=r'no "text" column \(found: prompt\)'): diversity(pl.DataFrame({'prompt': ['x']}))
    with pytest.raises(DiversityError, match='no rows'): diversity(pl.DataFrame({'text': []}, schema={'text': pl.String}))
    with pytest.raises(DiversityError, match='accepted=False'): diversity(batch_of(['a b'], keep=[False]))
    with pytest.raises(DiversityError, match='no "round" column'): diversity_by_round(pl.DataFrame({'text': ['a b']}))


# --- across rounds -------------------------------------------------------------------------------

def rounds_batch(shrink:bool, per_round:int=200, n_rounds:int=4)->pl.DataFrame:
    "Rows per round from a vocabulary that shrinks eightfold each round (shrink) or stays the same."
    texts, rounds = [], []
    for r in range(1, n_rounds + 1):
        vocab = 4000 // 8 ** (r - 1) if shrink else 4000      # 4000, 500, 62, 7 words
        texts += random_rows(per_round, seed=r, vocab=max(vocab, 8)); rounds += [r] * per_round
    return batch_of(texts, rounds=rounds)

def test_round_warning_fires_when_diversity_shrinks():
    with pytest.warns(DiversityWarning, match='the first sign of collapse') as caught:
        table = diversity_by_round(rounds_batch(shrink=True), load_seeds('support_requests'))
    assert 'distinct-2 fell' in str(caught[0].message)
    assert table['round'].to_list() == [0, 1, 2, 3, 4] and table['source'][0] == 'seed'
    assert table['rows_measured'].to_list() == [85] * 5       # every round measured on the seeds' size
    d2 = table.filter(pl.col('round') > 0)['distinct_2'].to_list()
    assert d2 == sorted(d2, reverse=True)

def test_round_warning_stays_quiet_when_steady():
    with warnings.catch_warnings():
        warnings.simplefilter('error', DiversityWarning)
        table = diversity_by_round(rounds_batch(shrink=False))
    assert table['round'].to_list() == [1, 2, 3, 4]
    assert table['rows_measured'].to_list() == [200] * 4

def test_small_rounds_are_left_out():
    b = batch_of(random_rows(130), rounds=[1] * 60 + [2] * 60 + [3] * 10)
    assert diversity_by_round(b)['round'].to_list() == [1, 2]


# --- charts, report, dashboard --------------------------------------------------------------------

def big_judged(n:int=6000)->pl.DataFrame:
    rng = random.Random(1)
    b = batch_of(random_rows(n, vocab=3000), rounds=[1 + i * 3 // n for i in range(n)], keep=[rng.random() > 0.2 for _ in range(n)])
    score = [rng.random() for _ in range(n)]
    return b.with_columns(quality=pl.Series(score), quality_reason=pl.lit(None, pl.String),
                          reasons=pl.when(pl.col('keep')).then(pl.lit([], pl.List(pl.String))).otherwise(pl.lit(['quality: weak'])))

def test_charts_build_for_6000_rows_without_max_rows_error():
    import altair as alt
    b = big_judged()
    seeds = load_seeds('support_requests')
    with alt.data_transformers.enable('default', max_rows=5000), warnings.catch_warnings():
        warnings.simplefilter('ignore', DiversityWarning)
        charts = report_charts(b, seeds, targets={l: 1500 for l in LABELS})
        specs = {k: c.to_dict() for k, c in charts.items()}
    assert list(specs) == ['map', 'balance', 'scores', 'funnel', 'lengths', 'rounds']
    pts = specs['map']['data']['values']
    assert len(pts) == 5000 and '5,000 of 6,085 rows' in specs['map']['title']['subtitle']
    assert sum(v['status'] == 'seed' for v in pts) == 85        # seeds go in first
    assert all(len(s['data']['values']) < 5000 for k, s in specs.items() if k != 'map')   # aggregated
    assert all(s.get('title') for s in specs.values())

def test_html_report_is_self_contained_and_escaped(tmp_path):
    b = big_judged(400).with_columns(text=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit('<script>alert(1)</script> refund'))
                                     .when(pl.int_range(pl.len()) == 1).then(pl.lit('<img src=x onerror=alert(1)> card')).otherwise(pl.col('text')),
                                     keep=pl.int_range(pl.len()) != 1)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DiversityWarning)
        path = html_report(b, tmp_path/'out'/'report.html', seeds=load_seeds('support_requests'),
                           settings={'teacher': '<b>scripted</b>', 'n': 400}, rows=400)
    page = path.read_text(encoding='utf-8')
    low = page.lower()
    assert '<script' not in low and '<img' not in low and '<link' not in low and '@import' not in low
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*https?:', low) and 'url(http' not in low
    assert '&lt;script&gt;alert(1)&lt;/script&gt; refund' in page
    assert '&lt;img src=x onerror=alert(1)&gt; card' in page
    assert '&lt;b&gt;scripted&lt;/b&gt;' in page
    assert page.count('<svg') >= 5 and 'Judging funnel' in page and 'Rejected rows' in page

def test_dashboard_compares_with_deltas():
    a, b = rounds_batch(shrink=True, per_round=100), rounds_batch(shrink=False, per_round=100)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DiversityWarning)
        dash = DiversityDashboard(a, compare=b)
    t = dash.compare_table()
    assert t.columns == ['measure', 'the batch', 'compare batch', 'delta', 'reads']
    row = t.filter(pl.col('measure') == 'Vendi score').row(0, named=True)
    assert row['delta'] == pytest.approx(row['the batch'] - row['compare batch'])
    assert row['reads'] == 'less varied'
    assert t.filter(pl.col('measure') == 'self-BLEU-4')['reads'][0] == 'less varied'   # higher self-BLEU reads as less varied
    dash.view('round 1'); dash.against('round 4')
    assert dash.w_show.value == 'round 1' and dash.w_vs.value == 'round 4'
    assert dash.compare_table().filter(pl.col('measure') == 'distinct-2')['reads'][0] == 'more varied'
    assert 'round 4' in dash.w_table.value and len(dash.w_cards.children) == 2
    dash.against(None)
    assert dash.compare_table() is None and len(dash.w_cards.children) == 1
    assert len(dash.w_charts.children) == len(dash.charts) and all(o.outputs for o in dash.w_charts.children)
    with pytest.raises(DiversityError, match="nothing called 'round 9'"): dash.view('round 9')

def test_dashboard_shows_nothing_to_compare_and_draws_charts_offline():
    "The compare box reads 'nothing' (not blank) when there is no comparison, picking it in the box clears the table, and charts are inline SVG."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DiversityWarning)
        dash = DiversityDashboard(rounds_batch(shrink=True, per_round=60))
    assert dash.w_vs.index == 0 and dash.w_vs.label == 'nothing'
    dash.w_vs.value = 'round 4'                     # as a click in the browser does
    assert dash.compared == 'round 4' and dash.compare_table() is not None
    dash.w_vs.value = ''
    assert dash.compared is None and dash.w_vs.label == 'nothing' and dash.w_table.value == ''
    kinds = {k for o in dash.w_charts.children for out in o.outputs for k in out['data']}
    assert 'image/svg+xml' in kinds, kinds          # no CDN script: renders offline in every front end

def test_compare_reports_marks_direction():
    same = diversity(pl.DataFrame({'text': ['one two three four'] * 30}))
    varied = diversity(pl.DataFrame({'text': random_rows(30)}))
    t = compare_reports(varied, same, ('varied', 'same'))
    reads = dict(zip(t['measure'], t['reads']))
    assert reads['distinct-2'] == reads['Vendi score'] == reads['mean pairwise cosine'] == 'more varied'
    assert isinstance(varied, DiversityReport) and 'Vendi' in repr(varied)
