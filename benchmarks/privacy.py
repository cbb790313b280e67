"""Leak and PII checks on the fictitious-PII example seeds (synthkit's customer_notes).

    python benchmarks/privacy.py [--seed 0]

Synthetic rows are made from the seeds three ways: verbatim copies, near-verbatim copies (a few small edits: a word
swapped, words dropped or added, punctuation and case changed), and clean rows (new notes with the seeds' topics but
none of their text or personal data). Prints the share of leaks caught per kind and the false alarms on clean rows,
and what the PII scan finds. Asserts nothing."""
import argparse, random, re
import polars as pl
import synthkit as sk
from synthkit.judge import judge
from synthkit.privacy import Leak, PII, find_pii

FILLER = ['also', 'really', 'again', 'today', 'please', 'urgently', 'as well']
CLEAN = ['A customer called about {t} and asked for an update by email.', 'Caller reported a problem with {t}; we promised a reply within two days.',
         'Note: the client is unhappy about {t} and wants a supervisor to call.', 'Customer asked how long {t} usually takes to resolve.',
         'Escalated a ticket about {t} after the second complaint this month.', 'The caller wanted written confirmation about {t}.']
TOPICS = ['a delayed refund', 'an address change', 'a double charge', 'long hold times', 'a missed callback', 'a card replacement',
          'a blocked payment', 'a wrong statement', 'an unexpected fee', 'a cancelled order']

def near(t, rng):
    w = t.split()
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.35 and len(w) > 4: del w[rng.randrange(len(w))]
        elif op < 0.7: w.insert(rng.randrange(len(w)), rng.choice(FILLER))
        else:
            k = rng.randrange(len(w)); w[k] = w[k].lower() if w[k][:1].isupper() else w[k].capitalize()
    out = ' '.join(w)
    return out.rstrip('.') + rng.choice(['', '!', '.', ' ...'])

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--seed', type=int, default=0); a = p.parse_args()
    rng = random.Random(a.seed)
    seeds = sk.load_seeds('customer_notes')
    texts = seeds['text'].to_list()
    verbatim, nearly = texts, [near(t, rng) for t in texts for _ in range(2)]
    clean = [rng.choice(CLEAN).format(t=rng.choice(TOPICS)) for _ in range(60)]
    rows = pl.DataFrame({'text': verbatim + nearly + clean, 'kind': ['verbatim'] * len(verbatim) + ['near-verbatim'] * len(nearly) + ['clean'] * len(clean)})
    j = judge(rows, [Leak()], seeds=seeds)
    print(f'{seeds.height} seed notes with fictitious personal data; {rows.height} synthetic rows')
    for kind in ['verbatim', 'near-verbatim', 'clean']:
        part = j.filter(pl.col('kind') == kind)
        flagged = (~part['keep']).sum()
        what = 'caught' if kind != 'clean' else 'false alarms'
        print(f'{kind:<14} {part.height:3d} rows  {what}: {flagged}/{part.height} ({flagged / part.height:.0%})')
    missed = j.filter(pl.col('kind') != 'clean', pl.col('keep'))
    for t in missed['text'].to_list()[:5]: print('  missed:', t)
    found = [k for t in texts for k, *_ in find_pii(t)]
    print('PII in the seeds:', dict(pl.Series(found).value_counts().iter_rows()))
    red = judge(pl.DataFrame({'text': texts}), [PII('redact')])
    left = sum(1 for t in red['text'].to_list() if re.search(r'@example\.|555-01|4111', t))
    print(f'after redaction, rows still holding an email, a 555-01xx phone or the test card: {left}/{len(texts)}')
