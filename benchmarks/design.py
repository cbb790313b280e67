"""synthkit's overhead per 1,000 rows per model column of a Design, with a zero-latency ScriptedTeacher.

    python benchmarks/design.py [--n 1000] [--repeats 3]

The design: a weighted category, a conditional category, an integer, a fictitious person, and two model columns (a
message written from a template naming four columns, a reply naming the message). The yardstick, timed in the same run:
a plain Python loop that draws the same kinds of values with `random`, renders the same templates with the same
sandboxed Jinja environment, and calls the teacher's function directly (no requests, cache keys, event loop, frames).
Reported: seconds per 1,000 rows per model column for both, synthkit's overhead (the difference) and the ratio, without a
cache and with an in-memory call cache (first run: every answer stored; second run: every answer from the cache).
Prints; asserts nothing."""
import argparse, random, time
from synthkit.design import Design
from synthkit.columns import render
from synthkit.teachers import ScriptedTeacher
from synthkit.calls import CallCache
from synthkit.samplers import FIRST_NAMES, LAST_NAMES

MESSAGE = 'A {{persona}} aged {{age}} writes to their bank about {{issue}}. Signed {{customer.name}}. One message only.'
REPLY = 'Reply politely to this message: {{message}}'
ISSUES = {'student': ['fees', 'overdraft'], 'retiree': ['fraud', 'pension'], 'shop owner': ['card reader']}

def answer(text:str)->str: return text[-60:]          # zero latency: the work is synthkit's, not a model's

def design(teacher):
    d = Design(teacher).category('persona', list(ISSUES), weights=[2, 1, 1]).category('issue', ISSUES, given='persona')
    d.uniform('age', 18, 90, integer=True).person('customer')
    return d.llm('message', MESSAGE).llm('reply', REPLY)

def yardstick(n:int, seed:int=0)->list[dict]:
    rng, rows = random.Random(seed), []
    for _ in range(n):
        persona = rng.choices(list(ISSUES), weights=[2, 1, 1])[0]
        r = {'persona': persona, 'issue': rng.choice(ISSUES[persona]), 'age': rng.randint(18, 90),
             'customer': {'name': f'{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}'}}
        r['message'] = answer(render(MESSAGE, r))
        r['reply'] = answer(render(REPLY, r))
        rows.append(r)
    return rows

def best(fn, repeats:int)->float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return min(times)

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=1000); p.add_argument('--repeats', type=int, default=3)
    a = p.parse_args()
    per = lambda s: s / (a.n / 1000) / 2                  # seconds per 1,000 rows per model column
    base = best(lambda: yardstick(a.n), a.repeats)
    plain = best(lambda: design(ScriptedTeacher(answer, cache=False)).run(a.n), a.repeats)
    cache = CallCache()
    cached_first = best(lambda: design(ScriptedTeacher(answer, cache=CallCache())).run(a.n), a.repeats)
    design(ScriptedTeacher(answer, cache=cache)).run(a.n)
    cached_again = best(lambda: design(ScriptedTeacher(answer, cache=cache)).run(a.n), a.repeats)
    print(f'{a.n:,} rows, 4 sampled columns and 2 model columns; best of {a.repeats}; seconds per 1,000 rows per model column')
    print(f'  yardstick (plain loop: render + call)       {per(base):.3f} s')
    for name, t in [('no cache', plain), ('cache, first run (stores)', cached_first), ('cache, second run (hits)', cached_again)]:
        print(f'  synthkit, {name:32} {per(t):.3f} s   overhead {per(t - base):.3f} s   ratio {t / base:.1f}x')
