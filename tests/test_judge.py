"Judges: MinHash estimates track true Jaccard, dedup finds planted copies, PII and leak checks catch what they claim."
import random, re
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st
import synthkit as sk
from synthkit.core import shingle_hashes, normalize_text as _norm_text
from synthkit.judge import judge, Heuristics, funnel
from synthkit.dedup import minhash, near_pairs, Dedup
from synthkit.privacy import PII, Leak, find_pii
from synthkit.llm_judge import default_judges, RewardJudge, LLMJudge
from synthkit.teachers import ScriptedTeacher

def grams(t, k=5):
    t = _norm_text(t) or '\x01'
    t = t if len(t) >= k else t.ljust(k, '\x02')
    return {t[i:i + k] for i in range(len(t) - k + 1)}

WORDS = 'card bank fee refund transfer account app login money phone blocked abroad statement limit pin'.split()

def test_minhash_estimates_jaccard():
    rng = random.Random(0)
    base = [' '.join(rng.choice(WORDS) for _ in range(12)) for _ in range(60)]
    texts = base + [' '.join(t.split()[:rng.randint(6, 12)] + [rng.choice(WORDS)]) for t in base]   # partial copies: a spread of similarities
    sig = minhash(texts, num_perm=256)
    errs = []
    for a in range(60):
        b = a + 60
        true = len(grams(texts[a]) & grams(texts[b])) / len(grams(texts[a]) | grams(texts[b]))
        errs.append(abs((sig[a] == sig[b]).mean() - true))
    assert np.mean(errs) < 0.04 and max(errs) < 0.15

def test_unrelated_texts_sharing_a_word_are_not_near_duplicates():
    texts = ["Tried sending money to a friend three times and it keeps saying 'transaction could not be completed'.",
             'Weird transaction showing up from 3am last night, I was asleep. Has my account been hacked?']
    i, j, est = near_pairs(minhash(texts, 64), 0.5)
    assert len(i) == 0

def test_dedup_recall_and_precision_on_planted_copies():
    rng = random.Random(1)
    originals = [' '.join(rng.choice(WORDS) for _ in range(rng.randint(10, 16))) + f' ref {k}' for k in range(400)]
    def edit(t):
        w = t.split(); w[rng.randrange(len(w))] = w[rng.randrange(len(w))]; return ' '.join(w) + '!'
    copies = [edit(t) for t in originals[:100]]
    texts = originals + copies
    truth = {(k, 400 + k) for k in range(100) if len(grams(originals[k]) & grams(copies[k])) / len(grams(originals[k]) | grams(copies[k])) >= 0.8}
    d = judge(pl.DataFrame({'text': texts}), [Dedup(threshold=0.8, num_perm=128)])
    dropped = set(np.nonzero(~d['keep'].to_numpy())[0].tolist())
    found = {(k, 400 + k) for k in range(100) if 400 + k in dropped}
    assert len(found & truth) / len(truth) >= 0.95
    assert len([x for x in dropped if x < 400]) <= 2     # originals are kept (the earlier copy wins)

def test_shingles_of_empty_and_short_texts():
    x, first = shingle_hashes(['', 'ab', 'hello world'])
    assert first.tolist()[0] == 0 and len(first) == 3 and np.all(np.diff(first) > 0)

@pytest.mark.parametrize('text,kinds', [
    ('mail me at jo.smith+bank@example.co.uk', ['EMAIL']),
    ('my number is (312) 555-0199', ['PHONE']),
    ('card 4111-1111-1111-1111 please', ['CARD']),
    ('IBAN DE89 3704 0044 0532 0130 00', ['IBAN']),
    ('SSN 123-45-6789', ['NATIONAL_ID']),
    ('server at 10.0.0.255 is down', ['IP']),
    ('I paid 25.99 on 2024-05-01 for order 12345', []),
    ('version 1.2.3.4 of the app', ['IP']),
])
def test_find_pii(text, kinds): assert [k for k, *_ in find_pii(text)] == kinds

def _luhn_complete(digits:str)->str:
    "Append the check digit that makes `digits` pass Luhn."
    from synthkit.privacy import luhn_ok
    return next(digits + d for d in '0123456789' if luhn_ok(digits + d))

pii_values = st.one_of(
    st.from_regex(r'[a-z]{2,8}\.[a-z]{2,8}@example\.(com|org)', fullmatch=True),
    st.from_regex(r'4[0-9]{14}', fullmatch=True).map(_luhn_complete).map(lambda c: ' '.join(c[i:i + 4] for i in range(0, 16, 4))),
    st.integers(0, 99).map(lambda n: f'+1 202-555-01{n:02d}'))

@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), pii_values, st.lists(st.sampled_from(WORDS), max_size=8))
def test_redaction_removes_planted_personal_data(before, value, after):
    from synthkit.privacy import redact
    text = ' '.join(before + [value] + after)
    found = find_pii(text)
    assert [v for _, v, *_ in found] == [value]
    red = redact(text, found)
    assert value not in red and red.count('[') == 1 and find_pii(red) == []

def test_leak_catches_copied_personal_data_and_spares_clean_rows():
    notes = sk.load_seeds('customer_notes')
    leaks = [notes['text'][0], 'Please email harriet.pemberly@example.com about the delay',
             'Osvaldo Brightwell wants a refund for the double charge']
    clean = ['A customer was on hold for too long and wants an apology', 'Someone asked to change the delivery address for statements',
             'The caller wants a callback tomorrow afternoon about a refund']
    j = judge(pl.DataFrame({'text': leaks + clean}), [Leak()], seeds=notes)
    assert j['keep'].to_list() == [False] * 3 + [True] * 3

def test_heuristics_on_real_seeds_drop_nothing(shared):
    seeds = sk.load_seeds(shared/'banking77'/'test.csv')
    j = judge(seeds, [Heuristics()], seeds=seeds)
    assert j['keep'].mean() > 0.99        # real human requests pass the cheap filters

def test_funnel_counts_and_default_judges_order():
    seeds = sk.load_seeds('support_requests')
    batch = pl.DataFrame({'text': ['I lost my debit card somewhere at the mall yesterday, how do I block it?', 'ok',
                                   'Where can I see the fee for cash withdrawals abroad?', 'Where can I see the fee for cash withdrawals abroad??',
                                   'Is my card blocked? Call me on 020 7946 0958'], 'label': ['card_lost'] * 5})
    j = judge(batch, default_judges(seeds), seeds=seeds)
    assert j['keep'].to_list() == [False, False, True, False, True]
    assert '[PHONE]' in j['text'][4]
    f = funnel(j).table
    assert f['stage'].to_list() == ['generated', 'passed generation checks', 'passed heuristics', 'passed dedup', 'passed leak', 'passed pii', 'accepted']
    assert f['rows'].to_list() == [5, 5, 4, 2, 2, 2, 2]

def test_llm_judge_failure_keeps_the_row_with_reason():
    def broken(text): raise RuntimeError('judge down')
    j = judge(pl.DataFrame({'text': ['a fine row here']}), [LLMJudge(ScriptedTeacher(broken), 'helpfulness')])
    assert j['keep'].to_list() == [True] and j['llm_helpfulness_reason'][0].startswith('not graded: RuntimeError')

def test_reward_judge_wrong_length_is_clear():
    with pytest.raises(sk.JudgeError, match='returned 1 scores for 2 rows'):
        judge(pl.DataFrame({'text': ['a b', 'c d']}), [RewardJudge(lambda xs: [1], batched=True)])
