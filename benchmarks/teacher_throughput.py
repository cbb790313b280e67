"""Throughput of ClaudeTeacher against the fake Messages API on loopback, as a ratio of the ceiling.

    python benchmarks/teacher_throughput.py [--n 150] [--rpm 1200] [--latency 0.2] [--concurrency 32]

The ceiling is min(concurrency / latency, RPM / 60) requests per second. Faults as measured in the issue:
3% 529, 3% 500, 1% dropped connections. Beside it, in the same run, the naive loop: AsyncAnthropic with a
semaphore and the SDK's own retries. Prints ratios; asserts nothing. All traffic stays on 127.0.0.1."""
import argparse, asyncio, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tests'))
import anthropic
from fake_anthropic import FakeAnthropic
import synthkit as sk

KEY = 'sk-ant-benchmark-not-a-key'

def fake(a): return FakeAnthropic(latency=a.latency, rpm=a.rpm, window_s=1.0, bucket=True, p_529=a.p_529, p_500=a.p_500, p_drop=a.p_drop, seed=a.seed)

def prompts(a, tag): return [f'{tag} request {i}: write one support request about a lost card' for i in range(a.n)]

def report(name, a, secs, lost, f):
    ceiling = min(a.concurrency / a.latency, a.rpm / 60)
    st = f.stats(); total = st['message_requests']; n429 = st['replies_by_status'].get(429, 0)
    print(f'{name:<10} {a.n / secs:7.2f} req/s  ratio {a.n / secs / ceiling:5.3f} of ceiling {ceiling:.1f}  '
          f'lost {lost:3d}/{a.n}  429s {n429}/{total} ({100 * n429 / max(1, total):.1f}%)  paid twice {len(f.duplicate_successes())}  {secs:.2f}s')

def run_synthkit(a):
    with fake(a) as f, tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        t = sk.ClaudeTeacher(api_key=KEY, base_url=f.url, max_concurrency=a.concurrency, cache=Path(d)/'c.sqlite', progress=False)
        rs = t.complete(prompts(a, 'synthkit'), max_tokens=32)
        report('synthkit', a, time.perf_counter() - t0, sum(not r.ok for r in rs), f)

def run_naive(a):
    with fake(a) as f:
        async def main():
            c = anthropic.AsyncAnthropic(api_key=KEY, base_url=f.url)
            sem = asyncio.Semaphore(a.concurrency)
            async def one(p):
                async with sem:
                    try: await c.messages.create(model='claude-haiku-4-5', max_tokens=32, messages=[{'role': 'user', 'content': p}]); return True
                    except anthropic.APIError: return False
            try: return await asyncio.gather(*[one(p) for p in prompts(a, 'naive')])
            finally: await c.close()
        t0 = time.perf_counter(); ok = asyncio.run(main())
        report('naive', a, time.perf_counter() - t0, sum(not x for x in ok), f)

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=150); p.add_argument('--rpm', type=int, default=1200)
    p.add_argument('--latency', type=float, default=0.2); p.add_argument('--concurrency', type=int, default=32)
    p.add_argument('--p-529', type=float, default=0.03); p.add_argument('--p-500', type=float, default=0.03)
    p.add_argument('--p-drop', type=float, default=0.01); p.add_argument('--seed', type=int, default=1)
    a = p.parse_args()
    print(f'{a.n} requests, latency {a.latency}s, RPM {a.rpm} (token bucket holding 1 s of it), concurrency {a.concurrency}, '
          f'faults 529 {a.p_529:.0%} / 500 {a.p_500:.0%} / drop {a.p_drop:.0%}')
    run_synthkit(a); run_naive(a)
