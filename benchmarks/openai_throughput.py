"""Throughput of OpenAITeacher against the fake OpenAI API on loopback, as a ratio of the ceiling.

    python benchmarks/openai_throughput.py [--n 150] [--rpm 1200] [--latency 0.2] [--concurrency 32]
    python benchmarks/openai_throughput.py --sizes 1000,10000 --latency 0.01 --rpm 60000   # memory against the count

The ceiling is min(concurrency / latency, RPM / 60) requests per second; the fake enforces its RPM as a token bucket holding
1 s of it (429 with retry-after-ms) and sends OpenAI's x-ratelimit-* headers. Faults: 3% 500, 1% dropped connections. Beside it, in
the same run, the plain SDK: AsyncOpenAI with a semaphore and the SDK's own retries. `--sizes` runs synthkit alone in a
fresh process per size and prints its peak RSS, so memory can be read against the number of requests. The fake runs in
the same process and keeps no copy of the requests (`record=False`; recording them was about 4 KB a request, most of
what grew); what still grows with the count is the list of Responses `complete` returns (about 0.35 KB each). Prints
ratios; asserts nothing. All traffic stays on 127.0.0.1."""
import argparse, asyncio, json, resource, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tests'))
import openai
from fake_openai import FakeOpenAI
import synthkit as sk

KEY, MODEL = 'sk-benchmark-not-a-key', 'gpt-test'

def fake(a): return FakeOpenAI(models=(MODEL,), latency=a.latency, rpm=a.rpm, tpm=10**9, enforce=True, window_s=1.0, bucket=True,
                               p_500=a.p_500, p_drop=a.p_drop, seed=a.seed, record=False)

def prompts(a, tag): return [f'{tag} request {i}: write one support request about a lost card' for i in range(a.n)]

def figures(name, a, secs, lost, f)->dict:
    ceiling = min(a.concurrency / a.latency, a.rpm / 60)
    total = sum(f.statuses.values()); n429 = f.statuses.get(429, 0)
    return dict(name=name, n=a.n, rate=a.n / secs, ratio=a.n / secs / ceiling, ceiling=ceiling, lost=lost, n429=n429,
                total=total, twice=len(f.duplicates()), secs=secs,
                rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

def show(r):
    print(f'{r["name"]:<10} {r["rate"]:8.2f} req/s  ratio {r["ratio"]:5.3f} of ceiling {r["ceiling"]:.1f}  lost {r["lost"]:4d}/{r["n"]}  '
          f'429s {r["n429"]}/{r["total"]} ({100 * r["n429"] / max(1, r["total"]):.1f}%)  paid twice {r["twice"]}  '
          f'{r["secs"]:.2f}s  peak RSS {r["rss_mb"]:.0f} MB')

def run_synthkit(a)->dict:
    with fake(a) as f, tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        t = sk.OpenAITeacher(MODEL, api_key=KEY, base_url=f.url, max_concurrency=a.concurrency, cache=Path(d)/'c.sqlite',
                             progress=False, pricing={MODEL: (0.1, 0.4, 0.0, 0.0)})
        rs = t.complete(prompts(a, 'synthkit'), max_tokens=16)
        return figures('synthkit', a, time.perf_counter() - t0, sum(not r.ok for r in rs), f)

def run_plain(a)->dict:
    with fake(a) as f:
        async def main():
            c = openai.AsyncOpenAI(api_key=KEY, base_url=f.url)
            sem = asyncio.Semaphore(a.concurrency)
            async def one(p):
                async with sem:
                    try:
                        await c.chat.completions.create(model=MODEL, max_tokens=16, messages=[{'role': 'user', 'content': p}])
                        return True
                    except openai.APIError: return False
            try: return await asyncio.gather(*[one(p) for p in prompts(a, 'plain')])
            finally: await c.close()
        t0 = time.perf_counter(); ok = asyncio.run(main())
        return figures('plain SDK', a, time.perf_counter() - t0, sum(not x for x in ok), f)

def sizes(a):
    "synthkit alone at each size, in a fresh process, so each peak RSS is its own."
    for n in [int(x) for x in a.sizes.split(',')]:
        args = [sys.executable, __file__, '--one', '--n', str(n), '--rpm', str(a.rpm), '--latency', str(a.latency),
                '--concurrency', str(a.concurrency), '--p-500', str(a.p_500), '--p-drop', str(a.p_drop), '--seed', str(a.seed)]
        show(json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines()[-1]))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=150); p.add_argument('--rpm', type=int, default=1200)
    p.add_argument('--latency', type=float, default=0.2); p.add_argument('--concurrency', type=int, default=32)
    p.add_argument('--p-500', type=float, default=0.03); p.add_argument('--p-drop', type=float, default=0.01)
    p.add_argument('--seed', type=int, default=1); p.add_argument('--sizes', default='')
    p.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: print(json.dumps(run_synthkit(a))); sys.exit()
    print(f'RPM {a.rpm} (enforced over 1 s), latency {a.latency}s, concurrency {a.concurrency}, '
          f'faults 500 {a.p_500:.0%} / drop {a.p_drop:.0%}')
    if a.sizes: sizes(a)
    else: print(f'{a.n} requests'); show(run_synthkit(a)); show(run_plain(a))
