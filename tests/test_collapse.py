"Collapse lab: the directions the papers found, on fixed seeds, in both worlds; the collapse monitor on rows that narrow round by round, with a scripted teacher."
import json, random, re, warnings
import numpy as np
import polars as pl
import pytest
import synthkit as sk
from synthkit.core import CollapseError, words
from synthkit.diversity import DiversityWarning
from synthkit.collapse import (ARMS, CollapseRun, NgramLM, bank_texts, real_texts, simulate, tail_mass, text_world,
                               toy_world, zipf)
from synthkit.collapse_monitor import CollapseMonitor, CollapseWarning, monitor
from synthkit.seeds import load_seeds
from synthkit.teachers import ScriptedTeacher
from synthkit.generate import generate

def last(run:CollapseRun)->dict:
    return {r['arm']: r for r in run.at().to_dicts()}

@pytest.fixture(scope='module')
def toys():
    return [toy_world(seed=s, generations=15, runs=6, gauss_runs=150) for s in (0, 1, 2)]

@pytest.fixture(scope='module')
def text_run():
    return text_world(generations=6, n_train=2000, n_test=600, seed=3)


# --- the toy world -------------------------------------------------------------------------------

def test_toy_replace_loses_more_skills_than_mix_and_mix_more_than_accumulate(toys):
    for run in toys:
        end, start = last(run), run.at(0).row(0, named=True)
        assert end['replace']['skills'] < end['mix']['skills'] < end['accumulate']['skills'] == start['skills']
        assert end['replace']['rare_skills'] < end['mix']['rare_skills'] < end['accumulate']['rare_skills']
        assert end['replace']['missing_mass'] > end['mix']['missing_mass'] > end['accumulate']['missing_mass']
        assert end['replace']['entropy'] < end['mix']['entropy'] < end['accumulate']['entropy']

def test_toy_tails_vanish_first(toys):
    "In replace, the share of skills lost grows with rarity: the head keeps everything, the tail loses most."
    q = toys[0].ranked['replace']                  # one run: (generations+1, skills) by real rank
    alive = lambda a, b: (q[-1, a:b] > 0).mean() / max((q[0, a:b] > 0).mean(), 1e-9)
    assert alive(0, 20) == 1.0
    assert alive(0, 20) > alive(20, 100) > alive(100, 500) > alive(500, 1000)
    assert alive(500, 1000) < 0.5

def test_toy_gaussian_spread_shrinks_in_replace_and_holds_in_accumulate(toys):
    for run in toys:
        end, v0 = last(run), run.value('replace', 'variance', 0)
        assert end['replace']['variance'] < 0.85 * v0
        assert end['replace']['variance'] < end['mix']['variance'] < end['accumulate']['variance']
        assert abs(end['accumulate']['variance'] - v0) < 0.1
        assert end['replace']['tail_mass'] < 0.8 * min(end['mix']['tail_mass'], end['accumulate']['tail_mass'])

def test_replace_never_regains_a_skill(toys):
    q = toys[1].ranked['replace']
    assert ((q[1:] > 0) <= (q[:-1] > 0)).all()

def test_without_sampling_error_nothing_collapses():
    "A model that writes as many rows as there are grains of sand loses nothing: collapse comes from finite samples."
    run = toy_world(generations=5, runs=2, n=5_000_000, gauss_n=200_000, gauss_runs=2, skills=200)
    end, start = last(run), run.at(0).row(0, named=True)
    assert end['replace']['skills'] == start['skills']
    assert end['replace']['variance'] == pytest.approx(start['variance'], rel=0.02)

def test_low_temperature_speeds_collapse_even_in_mix():
    cool, warm = (toy_world(generations=10, runs=3, gauss_runs=50, temperature=t) for t in (0.8, 1.0))
    assert last(cool)['mix']['skills'] < last(warm)['mix']['skills']
    assert last(cool)['replace']['variance'] < last(warm)['replace']['variance']

def test_toy_is_repeatable_and_generation_zero_is_shared():
    a, b = toy_world(generations=3, runs=2, gauss_runs=20, seed=5), toy_world(generations=3, runs=2, gauss_runs=20, seed=5)
    assert a.table.equals(b.table)
    assert a.at(0).drop('arm').n_unique() == 1
    assert not toy_world(generations=3, runs=2, gauss_runs=20, seed=6).table.equals(a.table)

def test_zipf_and_tail_mass():
    p = zipf(1000, 1.1)
    assert p.sum() == pytest.approx(1) and p[0] / p[1] == pytest.approx(2 ** 1.1)
    assert tail_mass(0, 1) == pytest.approx(0.04550026, abs=1e-7)
    assert tail_mass(3, 1) > 0.5 > tail_mass(0, 1) > tail_mass(0, 0.7)


# --- the text world ------------------------------------------------------------------------------

def test_text_replace_perplexity_rises_and_vocab_shrinks_more_than_accumulate(text_run):
    end, start = last(text_run), text_run.at(0).row(0, named=True)
    assert end['replace']['perplexity'] > end['mix']['perplexity'] > end['accumulate']['perplexity']
    assert end['replace']['perplexity'] > 1.15 * start['perplexity']
    assert end['accumulate']['perplexity'] < 1.1 * start['perplexity']
    assert end['replace']['vocab'] < end['mix']['vocab'] < end['accumulate']['vocab'] == start['vocab']
    assert end['replace']['rare_words'] < end['mix']['rare_words'] < end['accumulate']['rare_words']
    assert end['replace']['distinct_2'] < end['accumulate']['distinct_2']

def test_text_world_on_banking77(shared):
    texts = real_texts(shared/'banking77'/'train.csv')
    assert len(texts) > 10_000 - 10 and all(isinstance(t, str) for t in texts[:50])
    run = text_world(texts, generations=5, n_train=2000, n_test=500)
    end = last(run)
    assert end['replace']['perplexity'] > end['mix']['perplexity'] > end['accumulate']['perplexity']
    assert end['replace']['vocab'] < end['mix']['vocab'] < end['accumulate']['vocab']
    assert run.settings['n_train'] == 2000 and run.settings['n_test'] == 500

def test_self_instruct_tasks_are_read_from_the_instruction_field(shared):
    tasks = real_texts(shared/'self_instruct'/'seed_tasks.jsonl')
    assert len(tasks) == 175 and tasks[0].startswith('Is there anything I can eat')

def test_ngram_model_is_a_distribution_and_counting_is_incremental():
    sents = [words(t) for t in bank_texts(200, seed=1)]
    one = NgramLM().update(sents)
    two = NgramLM().update(sents[:120]).update(sents[120:])
    assert (one.c1, one.c2, one.c3, one.tri) == (two.c1, two.c2, two.c3, two.tri)
    V = len(one.vocab) + 1
    for ctx in [('<s>', '<s>'), ('my', 'card'), ('never', 'seen')]:
        assert sum(one.prob(*ctx, w, V) for w in one.vocab | {'</s>'}) == pytest.approx(1.0, abs=1e-9)
    written = one.sample(300, random.Random(0))
    known = {tuple(s) for s in sents}
    assert all(set(s) <= one.vocab for s in written)                 # it writes only words it has seen
    assert sum(tuple(s) in known for s in written) < 300              # but recombines, not only copies

def test_text_samples_are_kept_and_html_is_escaped():
    run = text_world(['<b>bold</b> claim about my card number ' + str(i % 7) for i in range(200)], generations=1, n_train=150, n_test=40)
    page = run._repr_html_()
    assert '<b>bold' not in page and 'claim about my card' in page
    assert len(run.samples['replace']) == 2 and len(run.samples['replace'][0]) == 5


# --- the entry point and errors ------------------------------------------------------------------

def test_simulate_dispatches_and_reports_one_row_per_arm_and_generation():
    run = simulate('toy', generations=4, runs=2, gauss_runs=10)
    assert run.table.shape[0] == 3 * 5 and run.table['arm'].unique(maintain_order=True).to_list() == list(ARMS)
    assert set(run.table.columns) >= {'arm', 'generation', 'skills', 'variance', 'tail_mass'}
    assert sk.collapse.simulate is simulate
    text = simulate('text', arms=['replace', 'accumulate'], generations=2, n_train=300, n_test=100)
    assert text.arms == ['replace', 'accumulate'] and text.table.shape[0] == 2 * 3

def test_charts_are_small_and_complete():
    run = simulate('toy', generations=6, runs=2, gauss_runs=10)
    spec = run.chart().to_dict()
    assert spec['facet']['field'] == 'measure' and len(spec['data']['values']) == 6 * run.table.height
    tail = run.tail_chart().to_dict()
    assert 0 < len(tail['data']['values']) <= 3 * 4 * 120
    assert 'Model collapse: toy world' in run._repr_html_() and 'replace' in repr(run)

@pytest.mark.parametrize('call, message', [
    (lambda: simulate('sea'), "no world called 'sea'"),
    (lambda: simulate('toy', arms=['replace', 'reuse']), "unknown arm(s) ['reuse']"),
    (lambda: simulate('toy', generations=0), 'run at least 1 generation'),
    (lambda: simulate('toy', real_share=1.5), 'real_share=1.5 is not a share'),
    (lambda: simulate('toy', temperature=-1), 'temperature=-1'),
    (lambda: simulate('text', texts=['hi there'] * 3), '3 sentences with words'),
    (lambda: simulate('toy', generations=3, runs=1), 'each must be at least 2'),
])
def test_errors_say_what_to_do(call, message):
    with pytest.raises(CollapseError, match=re.escape(message)): call()

def test_real_texts_names_the_file_and_columns(tmp_path):
    f = tmp_path/'rows.jsonl'
    f.write_text('{"utterance_id": 1, "score": 2}\n')
    with pytest.raises(CollapseError, match=r'rows.jsonl: no text column \(found: utterance_id, score\); pass column='): real_texts(f)
    assert real_texts(n=3) == bank_texts(3)


# --- the collapse monitor ------------------------------------------------------------------------

SUPPORT = load_seeds('support_requests')

def narrower(prev:pl.DataFrame, r:int, share:float)->pl.DataFrame:
    "Round r: splices of only the first `share` of each label's rows of the round before (a teacher that keeps its favourites)."
    rng, rows = random.Random(r), []
    for (l,), grp in prev.group_by('label', maintain_order=True):
        pool = [t.split() for t in grp['text'].to_list()][:max(2, int(grp.height * share))]
        for _ in range(grp.height):
            a, b = rng.sample(pool, 2)
            rows.append({'text': ' '.join(a[:rng.randint(2, len(a))] + b[rng.randint(1, max(1, len(b) - 1)):]), 'label': l, 'keep': True})
    return pl.DataFrame(rows)

def test_monitor_warns_when_rounds_narrow_and_not_when_they_hold():
    narrowing, steady = CollapseMonitor(SUPPORT), CollapseMonitor(SUPPORT)
    prev = SUPPORT
    with warnings.catch_warnings(record=True) as fell:
        warnings.simplefilter('always')
        for r in range(1, 5):
            prev = narrower(prev, r, 1.0 if r == 1 else 0.5)
            narrowing.add(prev)
    with warnings.catch_warnings():
        warnings.simplefilter('error', DiversityWarning)            # any collapse warning here fails the test
        for r in range(1, 5): steady.add(narrower(SUPPORT, r, 1.0))
    collapse = [w for w in fell if issubclass(w.category, CollapseWarning)]
    assert collapse and 'distinct-2 fell' in str(collapse[-1].message) and 'feed="accumulate"' in str(collapse[-1].message)
    assert narrowing.alerts and not steady.alerts
    assert narrowing.table['round'].to_list() == [0, 1, 2, 3, 4]
    assert narrowing.table['distinct_2'][-1] < steady.table['distinct_2'][-1]
    assert 'collapsing' in narrowing._repr_html_() and 'holding' in steady._repr_html_()
    assert narrowing.chart().to_dict()['facet']['field'] == 'measure'

def test_monitor_strict_raises_and_drops_rejected_rows():
    mon = CollapseMonitor(SUPPORT, strict=True)
    prev = narrower(SUPPORT, 1, 1.0)
    mon.add(prev.with_columns(keep=pl.int_range(pl.len()) % 10 != 0))
    assert mon.rounds[0].height == prev.height - (prev.height + 9) // 10
    with pytest.raises(CollapseError, match='distinct-2 fell'):
        for r in range(2, 6):
            prev = narrower(prev, r, 0.4)
            mon.add(prev)

def test_monitor_feeds_back_what_the_arm_says():
    seen = []
    def step(seeds, r):
        seen.append(seeds.height)
        return narrower(seeds.filter(pl.col('label').is_not_null()).select('text', 'label'), r, 1.0).head(60)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', CollapseWarning)             # a fall is not what this test is about
        reps = monitor(step, SUPPORT, rounds=3, feed='replace', min_rows=5)
        assert seen == [85, 60, 60]
        seen.clear(); monitor(step, SUPPORT, rounds=3, feed='mix', min_rows=5)
        assert seen == [85, 145, 145]
        seen.clear(); acc = monitor(step, SUPPORT, rounds=3, feed='accumulate', min_rows=5)
    assert seen == [85, 145, 205] and acc.next_seeds().height == 265
    assert len(reps) == 3

def imitator(prompt:str)->str:
    "A scripted teacher that can only recombine the examples in its prompt."
    shown = [x.split() for x in re.findall(r'<example>\n(.*?)\n</example>', prompt, re.S)]
    n = int(re.search(r'Write (\d+) new', prompt).group(1))
    rng = random.Random(prompt)
    def one():
        a, b = rng.sample(shown, 2) if len(shown) > 1 else (shown[0], shown[0])
        return ' '.join(a[:rng.randint(1, len(a))] + b[rng.randint(1, len(b)) - 1:])
    return json.dumps([one() for _ in range(n)])

@pytest.mark.parametrize('offset', [0, 100, 400])
def test_monitor_with_a_teacher_replace_falls_further_than_accumulate(offset):
    teacher = ScriptedTeacher(imitator)
    step = lambda seeds, r: generate(seeds, teacher, n=90, k=4, m=0, strategy='quotas', quota='balance', similarity=None, seed=r + offset)
    with warnings.catch_warnings(record=True) as fed_back:
        warnings.simplefilter('always')
        replace = monitor(step, SUPPORT, rounds=4, feed='replace')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        accumulate = monitor(step, SUPPORT, rounds=4, feed='accumulate')
    assert any(issubclass(w.category, CollapseWarning) for w in fed_back)
    fall = lambda m: m.table['distinct_2'][-1] / m.table['distinct_2'][1]
    assert fall(replace) < fall(accumulate)
    assert replace.rounds[-1]['text'].n_unique() > 20               # it still writes rows: it narrows, it does not stop

def test_monitor_errors():
    with pytest.raises(CollapseError, match="feed='loop'"): CollapseMonitor(SUPPORT, feed='loop')
    with pytest.raises(CollapseError, match='no seeds and no rounds yet'): CollapseMonitor().next_seeds()
    with pytest.raises(CollapseError, match='no "text" column'): CollapseMonitor().add(pl.DataFrame({'prompt': ['a']}))
    with pytest.raises(CollapseError, match='round 1 accepted no rows'):
        monitor(lambda s, r: pl.DataFrame({'text': ['x'], 'keep': [False]}), SUPPORT, rounds=1)
    with pytest.raises(CollapseError, match='drop=2'): CollapseMonitor(SUPPORT, drop=2)
