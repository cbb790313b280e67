"""OpenAITeacher through the real openai SDK, over real HTTP: against the fake OpenAI API (faults, limits, errors) and
against a real llama.cpp server (llama-cpp-python[server]) running the bundled model. Nothing leaves 127.0.0.1."""
import json, os, pickle, re, socket, subprocess, sys, time, urllib.request, warnings
from pathlib import Path
import pytest
from synthkit.core import TeacherError, CallError, BudgetError, SynthkitWarning
from synthkit.teachers import Request
from synthkit.openai_teacher import OpenAITeacher, OPENAI_PRICING
from synthkit.calls import CallCache
from fake_openai import FakeOpenAI

KEY = 'sk-proj-test-SECRET-5e4d3c2b1a'
SCORE = {'type': 'object', 'required': ['score'], 'properties': {'score': {'type': 'integer', 'minimum': 1, 'maximum': 5}}}

@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for k in ('OPENAI_API_KEY', 'OPENAI_BASE_URL'): monkeypatch.delenv(k, raising=False)

def teacher(fake, tmp_path, **kw):
    kw = {'model': 'gpt-test', 'api_key': KEY, 'base_url': fake.url, 'cache': tmp_path/'calls.sqlite', 'progress': False,
          'pricing': {'gpt-test': (1.0, 2.0, 1.0, 0.1)}} | kw
    t = OpenAITeacher(**kw)
    t.backoff_s = 0.02
    return t

def completions(fake): return [r for r in fake.requests if r['path'].endswith('completions')]

def test_chat_answers_in_order_with_ledger_and_cost(tmp_path):
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path, max_concurrency=4)
        prompts = [f'Write request number {i} about a lost card' for i in range(20)]
        rs = t.complete(prompts, max_tokens=32, system='You write data.')
    assert [r.text for r in rs] == [f'reply to: {p}' for p in prompts]
    assert all(r.ok and not r.cached and r.usage.input_tokens > 0 and r.cost_usd > 0 for r in rs)
    assert t.ledger.to_frame()['calls'].sum() == 20 and fake.paid() == 20
    assert abs(t.ledger.total_usd - sum(r.cost_usd for r in rs)) < 1e-12
    body = completions(fake)[0]['body']
    assert body['messages'][0] == {'role': 'system', 'content': 'You write data.'} and body['max_tokens'] == 32

def test_completion_endpoint_for_base_models(tmp_path):
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path, kind='completion')
        rs = t.complete([Request('Once upon a time', prefix='Stories:\n')], max_tokens=8)
    assert rs[0].ok and rs[0].text == ' continued: Once upon a time'
    assert completions(fake)[0]['path'] == '/v1/completions' and completions(fake)[0]['body']['prompt'] == 'Stories:\nOnce upon a time'

def test_rerun_is_served_from_cache_and_pays_nothing(tmp_path):
    with FakeOpenAI() as fake:
        first = teacher(fake, tmp_path).complete([f'prompt {i}' for i in range(10)])
        t = teacher(fake, tmp_path, api_key='sk-another-key')        # a new teacher and key, the same cache file
        again = t.complete([f'prompt {i}' for i in range(11)])
    assert len(completions(fake)) == 11                                  # only the new prompt was sent
    assert [r.cached for r in again] == [True] * 10 + [False]
    assert [r.text for r in again[:10]] == [r.text for r in first]
    assert t.ledger.to_frame()['cached'].sum() == 10 and t.ledger.total_usd == again[10].cost_usd

@pytest.mark.parametrize('fault, least', [({'status': 429, 'retry_after': 1}, 0.95), ({'status': 429, 'retry_after_ms': 400}, 0.38)])
def test_retry_after_is_honoured(tmp_path, fault, least):
    with FakeOpenAI(script={0: fault}) as fake:
        t = teacher(fake, tmp_path, max_concurrency=1)
        t0 = time.monotonic(); rs = t.complete(['only one']); dt = time.monotonic() - t0
    assert rs[0].ok and dt >= least and fake.statuses[429] == 1 and fake.paid() == 1

def test_faults_are_retried_and_nothing_is_paid_twice(tmp_path):
    script = {3: 500, 7: 502, 8: 'drop', 12: {'status': 429, 'retry_after': 0}, 20: 503}
    with FakeOpenAI(script=script, latency=0.005) as fake:
        t = teacher(fake, tmp_path, max_concurrency=6)
        rs = t.complete([f'prompt {i}' for i in range(40)])
    assert all(r.ok for r in rs), [r.error for r in rs if not r.ok]
    assert [r.text for r in rs] == [f'reply to: prompt {i}' for i in range(40)]
    assert fake.duplicates() == {} and fake.paid() == 40
    assert fake.statuses[500] == fake.statuses[502] == fake.statuses[503] == fake.statuses[429] == 1

def test_token_buckets_are_seeded_from_the_headers(tmp_path):
    with FakeOpenAI(rpm=120, tpm=50_000) as fake:
        t = teacher(fake, tmp_path)
        t.complete([f'a fairly long few-shot prompt with many words in it, number {i}' for i in range(5)], max_tokens=4)
    b = t.limiter.buckets
    assert set(b) == {'requests', 'input_tokens', 'output_tokens'} and b['requests'].limit == 120
    assert abs(b['input_tokens'].limit + b['output_tokens'].limit - 50_000) < 1e-6   # one budget, split
    assert b['input_tokens'].limit > b['output_tokens'].limit                          # the traffic spent mostly input

def test_without_headers_concurrency_adapts_alone(tmp_path):
    with FakeOpenAI(headers=False, latency=0.05) as fake:
        t = teacher(fake, tmp_path, max_concurrency=8)
        rs = t.complete([f'prompt {i}' for i in range(24)])
    assert all(r.ok for r in rs) and t.limiter.buckets == {} and fake.max_in_flight > 1

def test_a_refused_key_stops_the_run(tmp_path):
    with FakeOpenAI(keys={'sk-good'}) as fake:
        with pytest.raises(TeacherError, match='refused the key.*OPENAI_API_KEY'): teacher(fake, tmp_path).complete(['hi'])

def test_an_unknown_model_lists_the_served_ones(tmp_path):
    with FakeOpenAI(models=['llama-3.1-8b', 'qwen2.5-7b']) as fake:
        with pytest.raises(TeacherError, match='model "gpt-test" was not found.*llama-3.1-8b, qwen2.5-7b'):
            teacher(fake, tmp_path).complete(['hi'])

def test_a_prompt_too_long_fails_alone_with_the_fix(tmp_path):
    with FakeOpenAI(context=60) as fake:
        rs = teacher(fake, tmp_path).complete(['word ' * 80, 'short one'], max_tokens=8)
    assert not rs[0].ok and 'too long for the context' in rs[0].error and '--n_ctx' in rs[0].error
    assert rs[1].ok

def test_no_credit_is_not_retried(tmp_path):
    with FakeOpenAI(script={0: {'status': 429, 'code': 'insufficient_quota', 'message': 'You exceeded your current quota'}}) as fake:
        with pytest.raises(TeacherError, match='no credit'): teacher(fake, tmp_path).complete(['hi'])
    assert len(completions(fake)) == 1

def test_nothing_listening_names_the_url_and_the_servers():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    t = OpenAITeacher('m', base_url=f'http://127.0.0.1:{port}', cache=False, progress=False)
    with pytest.raises(TeacherError) as e: t.complete(['hi'])
    msg = str(e.value)
    assert f'127.0.0.1:{port}/v1' in msg and 'llama_cpp.server' in msg and 'vllm serve' in msg and 'ollama serve' in msg

def test_openai_itself_needs_a_key():
    with pytest.raises(TeacherError, match='OPENAI_API_KEY'): OpenAITeacher('gpt-5.4-mini')

def test_the_key_is_never_written_or_shown(tmp_path):
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path)
        t.complete([f'prompt {i}' for i in range(5)])
        t.complete(['p'], schema=SCORE)
    assert all(r['headers']['authorization'] == f'Bearer {KEY}' for r in fake.requests)    # it was sent...
    for f in tmp_path.iterdir(): assert KEY.encode() not in f.read_bytes(), f                 # ...and never written
    assert KEY not in repr(t) + repr(vars(t)) + str(t.ledger.to_frame()) + json.dumps(t.settings())
    with pytest.raises(TypeError, match='not pickled'): pickle.dumps(t)

def test_sampling_is_sent_and_part_of_the_cache_key(tmp_path):
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path)
        reqs = [Request('hi', temperature=0.2), Request('hi', temperature=0.9, top_p=0.5, top_k=20, seed=7), Request('hi')]
        t.complete(reqs)
        again = teacher(fake, tmp_path).complete(reqs)
    bodies = [r['body'] for r in completions(fake)]
    assert len(bodies) == 3 and all(r.cached for r in again)
    sent = next(b for b in bodies if b.get('temperature') == 0.9)
    assert (sent['top_p'], sent['top_k'], sent['seed']) == (0.5, 20, 7)      # top_k through extra_body, at the body's top
    assert len({t.key(r) for r in reqs}) == 3

def test_structured_output_is_parsed_and_repaired(tmp_path):
    answers = iter(['{"score": 9}', '{"score": 4}'])
    with FakeOpenAI(reply=lambda body: next(answers)) as fake:
        rs = teacher(fake, tmp_path).complete([Request('Rate it.', schema=SCORE)])
    assert rs[0].ok and rs[0].data == {'score': 4} and len(completions(fake)) == 2   # one repair retry
    rf = completions(fake)[0]['body']['response_format']
    assert rf['type'] == 'json_schema' and rf['json_schema']['schema'] == SCORE

def test_a_server_without_json_schema_falls_back_to_json_mode(tmp_path):
    refusal = {'status': 400, 'message': "Invalid value: 'json_schema'. Supported values are: 'json_object' and 'text'."}
    with FakeOpenAI(script={0: refusal}) as fake:
        t = teacher(fake, tmp_path)
        rs = t.complete([Request('Rate it.', schema=SCORE)])
    assert rs[0].ok and rs[0].data == {'score': 4, 'reason': 'fits'}
    second = completions(fake)[1]['body']
    assert second['response_format'] == {'type': 'json_object', 'schema': SCORE} and 'JSON object' in second['messages'][0]['content']

def test_a_self_hosted_server_costs_nothing(tmp_path, recwarn):
    with FakeOpenAI(models=['my-model']) as fake:
        t = OpenAITeacher('my-model', base_url=fake.url, cache=False, progress=False)
        rs = t.complete(['hi', 'there'])
    assert all(r.ok and r.cost_usd == 0.0 for r in rs) and t.ledger.total_usd == 0
    assert not [w for w in recwarn if 'no price' in str(w.message)]
    assert fake.requests[-1]['headers']['authorization'] == 'Bearer sk-no-key'     # a placeholder for a keyless server
    assert OpenAITeacher('gpt-5.4-mini', api_key='sk-x').pricing['gpt-5.4-mini'] == OPENAI_PRICING['gpt-5.4-mini']

# A real OpenAI-compatible server: llama.cpp's, from llama-cpp-python[server], running the bundled model on loopback.

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def start_llama(port: int):
    "llama.cpp's server (llama-cpp-python[server]) with the bundled model on 127.0.0.1:`port`: (process, url, served model, log)."
    try: import llama_cpp.server.app  # noqa: F401
    except ImportError as e: pytest.skip(f'llama-cpp-python[server] is not installed ({e}): pip install "llama-cpp-python[server]"')
    from synthkit.local import bundled_gguf
    log = open(Path(os.environ.get('TMPDIR', '/tmp'))/f'llama-server-{port}.log', 'a')
    serve = 'from synthkit.local import serve_llama; serve_llama()'   # python -m llama_cpp.server, safe on AMX CPUs
    p = subprocess.Popen([sys.executable, '-c', serve, '--model', str(bundled_gguf()), '--host', '127.0.0.1',
                          '--port', str(port), '--n_ctx', '2048'], stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f'http://127.0.0.1:{port}/v1', time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(url + '/models', timeout=2) as r: return p, url, json.load(r)['data'][0]['id'], log
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                stop_llama(p, log); raise RuntimeError(f'llama.cpp server did not start: {Path(log.name).read_text()[-2000:]}')
            time.sleep(0.5)

def stop_llama(p, log):
    p.terminate()
    try: p.wait(10)
    except subprocess.TimeoutExpired: p.kill(); p.wait()
    log.close()

@pytest.fixture(scope='module')
def llama_server():
    p, url, served, log = start_llama(_free_port())
    try: yield url, served
    finally: stop_llama(p, log)

def test_real_llama_cpp_server_completion_and_chat(llama_server, tmp_path):
    url, served = llama_server
    base = OpenAITeacher('gemma-3-270m', base_url=url, kind='completion', cache=tmp_path/'c.sqlite', progress=False)
    rs = base.complete([Request('The capital of France is', max_tokens=8, temperature=0.0, seed=1),
                        Request('Here is a list of fruits: apple, banana,', max_tokens=8, temperature=0.0)])
    assert all(r.ok and r.text.strip() and r.usage.output_tokens > 0 and r.cost_usd == 0 for r in rs), [r.error for r in rs]
    again = OpenAITeacher('gemma-3-270m', base_url=url, kind='completion', cache=tmp_path/'c.sqlite', progress=False)
    assert [r.cached for r in again.complete([Request('The capital of France is', max_tokens=8, temperature=0.0, seed=1)])] == [True]
    chat = OpenAITeacher('gemma-3-270m', base_url=url, cache=False, progress=False)
    r = chat.complete([Request(messages=[{'role': 'user', 'content': 'Say hello.'}], max_tokens=12, temperature=0.0)])[0]
    assert r.ok and r.usage.input_tokens > 0 and r.model == 'gemma-3-270m', r
    assert chat.limiter.buckets == {}                      # llama.cpp sends no rate-limit headers

def test_real_llama_cpp_server_json_schema(llama_server):
    "llama-cpp-python refuses json_schema (with a 500), so the teacher falls back to JSON mode with the schema: a grammar."
    url, _ = llama_server
    intent = {'type': 'object', 'required': ['intent'], 'properties': {'intent': {'type': 'string', 'enum': ['card_lost', 'refund']}}}
    t = OpenAITeacher('gemma-3-270m', base_url=url, cache=False, progress=False)
    r = t.complete([Request('The intent of "my card is lost" is', schema=intent, max_tokens=24, temperature=0.0)])[0]
    assert r.ok and r.data in ({'intent': 'card_lost'}, {'intent': 'refund'}), r
    assert t._json_object                                  # it had to fall back

# Several samples of one prompt: one request with `n` where the server gives them, one request each where it does not.

def samples(k, text='Write a message about a lost card.'):
    return [Request(text, sample=i, temperature=1.0, max_tokens=16) for i in range(k)]

def test_k_samples_cost_one_call_and_a_rerun_pays_nothing(tmp_path):
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path, max_concurrency=4)
        rs = t.complete(samples(5) + [Request('another prompt')])
        again = teacher(fake, tmp_path).complete(samples(5))
    bodies = [r['body'] for r in completions(fake)]
    assert len(bodies) == 2 and sorted(b.get('n', 1) for b in bodies) == [1, 5] and fake.paid() == 2
    assert all(r.ok for r in rs) and len({r.text for r in rs[:5]}) == 5
    assert [r.usage.input_tokens > 0 for r in rs[:5]] == [True, False, False, False, False]      # the prompt paid once
    assert abs(t.ledger.total_usd - sum(r.cost_usd for r in rs)) < 1e-12 and t.ledger.to_frame()['calls'].sum() == 6
    assert all(r.cached for r in again) and [r.text for r in again] == [r.text for r in rs[:5]]
    assert t._n_ok is True

def test_a_server_without_n_gets_one_request_per_sample(tmp_path):
    with FakeOpenAI(n_choices=False) as fake:
        t = teacher(fake, tmp_path, max_concurrency=3)
        rs = t.complete(samples(4))
        more = t.complete(samples(3, 'A second prompt.'))
    ns = [r['body'].get('n') for r in completions(fake)]
    assert all(r.ok for r in rs + more) and fake.paid() == 7 and t._n_ok is False
    assert ns.count(4) == 1 and ns.count(None) == 6                      # found out once, then never asked again

def test_a_failed_n_call_is_asked_again_once(tmp_path):
    with FakeOpenAI(script={0: 500}) as fake:
        t = teacher(fake, tmp_path, max_concurrency=4)
        rs = t.complete(samples(4))
    assert all(r.ok for r in rs) and fake.statuses[500] == 1 and fake.paid() == 1 and len(completions(fake)) == 2

def test_use_n_false_sends_each_sample(tmp_path):
    with FakeOpenAI() as fake:
        teacher(fake, tmp_path, use_n=False).complete(samples(3))
    assert fake.paid() == 3 and all('n' not in r['body'] for r in completions(fake))

# OpenAI's Batch API on the fake: files uploaded, batches created, polled, output and error files joined on custom_id.

def batches_created(fake): return [r for r in fake.requests if r['method'] == 'POST' and r['path'] == '/v1/batches']

def test_batch_joins_on_custom_id_at_half_price_and_keeps_errors_in_place(tmp_path):
    reqs = [Request(f'batch prompt {i}', max_tokens=20) for i in range(9)] + [Request('word ' * 80, max_tokens=20)]
    with FakeOpenAI(context=60) as fake:
        t = teacher(fake, tmp_path, batch=True, batch_poll_s=0.01)
        rs = t.complete(reqs)
        dups = fake.duplicates()
        live = teacher(fake, tmp_path/'live', batch=False).complete(reqs[:1])[0]
    assert [r.text for r in rs[:9]] == [f'reply to: batch prompt {i}' for i in range(9)]     # the output came reversed
    assert all(r.batch for r in rs[:9]) and abs(rs[0].cost_usd - live.cost_usd / 2) < 1e-12
    assert not rs[9].ok and 'context length' in rs[9].error and rs[9].error.endswith('after 3 submissions')
    assert [len(fake.files[b['body']['input_file_id']]['data'].splitlines()) for b in batches_created(fake)] == [10, 1, 1]
    line = json.loads(fake.files[batches_created(fake)[0]['body']['input_file_id']]['data'].splitlines()[0])
    assert (line['method'], line['url'], line['custom_id']) == ('POST', '/v1/chat/completions', t.key(reqs[0]))
    assert batches_created(fake)[0]['body']['completion_window'] == '24h'
    assert dups == {} and t.ledger.to_frame()['mode'].to_list() == ['batch']
    for f in tmp_path.iterdir():
        if f.is_file(): assert KEY.encode() not in f.read_bytes()
    assert all(KEY.encode() not in f['data'] for f in fake.files.values())

def test_large_jobs_are_split_by_count_and_by_bytes(tmp_path):
    reqs = [Request(f'prompt {i}' + ' padding' * (40 if i % 5 == 0 else 1), max_tokens=64) for i in range(20)]
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path, batch=True, batch_poll_s=0.01)
        t.batch_size, t.batch_bytes = 4, 1000
        rs = t.complete(reqs)
    files = [fake.files[b['body']['input_file_id']]['data'] for b in batches_created(fake)]
    assert all(r.ok for r in rs) and [r.text for r in rs] == [f'reply to: {r.prompt}' for r in reqs]
    assert all(len(f.splitlines()) <= 4 and len(f) <= 1000 for f in files) and sum(len(f.splitlines()) for f in files) == 20
    assert any(len(f.splitlines()) == 4 for f in files) and any(len(f.splitlines()) < 4 for f in files[:-1])  # both limits cut
    assert fake.paid() == 20

def test_batch_only_by_default_on_openai_for_large_jobs():
    assert OpenAITeacher('gpt-5.4-mini', api_key='sk-x').use_batch(2000) and not OpenAITeacher('gpt-5.4-mini', api_key='sk-x').use_batch(10)
    assert not OpenAITeacher('m', base_url='http://127.0.0.1:8000').use_batch(100_000)
    assert OpenAITeacher('m', base_url='http://127.0.0.1:8000', batch=True).use_batch(1)

def test_a_killed_process_is_followed_by_one_that_resumes_the_same_batch(tmp_path):
    cache, pricing = tmp_path/'calls.sqlite', {'gpt-test': (1.0, 2.0, 1.0, 0.1)}
    reqs = [Request(f'batch prompt {i}', max_tokens=20) for i in range(8)]
    with FakeOpenAI(hold=True) as fake:
        code = (f'import synthkit.calls\nfrom synthkit.openai_teacher import OpenAITeacher\nfrom synthkit.teachers import Request\n'
                f'OpenAITeacher("gpt-test", base_url={fake.url!r}, api_key={KEY!r}, cache={str(cache)!r}, progress=False, '
                f'pricing={pricing!r}, batch=True, batch_poll_s=0.05).complete({[r.prompt for r in reqs]!r}, max_tokens=20)')
        p = subprocess.Popen([sys.executable, '-c', code], env=os.environ | {'PYTHONPATH': str(Path(__file__).parents[1])})
        t = teacher(fake, tmp_path, cache=cache, batch=True, batch_poll_s=0.01)
        keys, deadline = [t.key(r) for r in reqs], time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:       # until the batch runs and its id is kept
            if cache.exists() and CallCache(cache).held_batches('openai', keys): break
            time.sleep(0.05)
        p.kill(); p.wait()
        assert len(fake.batches) == 1 and fake.paid() == 0, 'the first process did not submit its batch'
        fake.hold = False
        rs = t.complete(reqs)
    assert len(batches_created(fake)) == 1 and len([r for r in fake.requests if r['path'] == '/v1/files']) == 1
    assert all(r.ok and r.batch and not r.cached for r in rs) and [r.text for r in rs] == [f'reply to: {r.prompt}' for r in reqs]
    assert fake.paid() == 8 and fake.duplicates() == {} and t.ledger.total_usd > 0
    assert CallCache(cache).held_batches('openai', [t.key(r) for r in reqs]) == {}    # forgotten once read

def test_real_llama_cpp_server_samples_one_request_each(llama_server):
    "llama-cpp-python ignores `n`: the teacher sees one choice for four asked and sends the rest one by one."
    url, _ = llama_server
    t = OpenAITeacher('gemma-3-270m', base_url=url, kind='completion', cache=False, progress=False, max_concurrency=2)
    rs = t.complete([Request('A list of fruits: apple,', sample=i, temperature=1.0, seed=3, max_tokens=6) for i in range(4)])
    assert all(r.ok and r.text for r in rs) and t._n_ok is False and t.ledger.to_frame()['calls'].sum() == 4

# A model the server does not list: servers that answer any name (llama.cpp, Ollama) are caught by one look at /v1/models.

def test_an_unlisted_model_is_warned_of_once_or_refused_when_strict(tmp_path):
    with FakeOpenAI(models=['llama-3.1-8b', 'qwen2.5-7b'], any_model=True) as fake:
        listed = r'does not list model "gpt-test" at /v1/models \(it serves llama-3.1-8b, qwen2.5-7b\), and answered anyway'
        with pytest.warns(SynthkitWarning, match=listed):
            rs = teacher(fake, tmp_path, max_concurrency=4).complete([f'prompt {i}' for i in range(6)])
        assert all(r.ok for r in rs) and len([r for r in fake.requests if r['path'] == '/v1/models']) == 1
        sent = len(completions(fake))
        with pytest.raises(TeacherError, match='does not list model "gpt-test".*pass model="llama-3.1-8b"'):
            teacher(fake, tmp_path/'strict', strict_model=True, max_concurrency=4).complete([f'other {i}' for i in range(6)])
        assert len(completions(fake)) == sent                               # refused before anything was sent
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            teacher(fake, tmp_path/'named', model='qwen2.5-7b', strict_model=True).complete(['hi'])

def test_real_llama_cpp_server_answers_any_name_so_the_list_is_checked(llama_server):
    url, served = llama_server
    with pytest.warns(SynthkitWarning, match=f'does not list model "no-such-model" at /v1/models \\(it serves {re.escape(served)}\\)'):
        r = OpenAITeacher('no-such-model', base_url=url, kind='completion', cache=False, progress=False).complete(
            [Request('The capital of France is', max_tokens=4, temperature=0.0)])[0]
    assert r.ok                                                           # llama.cpp answered it with its own model
    strict = OpenAITeacher('no-such-model', base_url=url, kind='completion', cache=False, progress=False, strict_model=True)
    with pytest.raises(TeacherError, match=f'pass model="{served}"'): strict.complete(['The capital of France is'])
    assert strict.ledger.to_frame()['calls'].sum() == 0
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        named = OpenAITeacher(served, base_url=url, kind='completion', cache=False, progress=False)
        assert named.complete([Request('Two and two make', max_tokens=3, temperature=0.0)])[0].ok

# The server killed mid-run: a clear stop, nothing answered lost, and a rerun pays only what was missing.

def test_real_llama_cpp_server_killed_mid_generate_then_resumed(tmp_path):
    from synthkit.generate import generate
    port, cache = _free_port(), tmp_path/'calls.sqlite'
    p, url, served, log = start_llama(port)
    def run():
        t = OpenAITeacher(served, base_url=url, kind='completion', cache=cache, progress=False, max_concurrency=2)
        t.backoff_s, t.stop_after = 0.02, 6
        return t
    first, answered = run(), []
    def kill_after_three(req, resp):
        answered.append(resp)
        if len(answered) == 3: p.kill()
    first.listeners = [kill_after_three]
    try:
        with pytest.warns(SynthkitWarning, match=f'generation stopped early.*connection refused at {url}: the server has stopped'):
            generate('support_requests', first, n=4, max_rounds=1, seed=0)
        p.wait(); log.close()
        ok = int(first.ledger.to_frame()['calls'].sum() - first.ledger.to_frame()['failed'].sum())
        assert ok >= 3 and len(CallCache(cache)) == ok                      # every answer before the kill is kept
        p, url2, _, log = start_llama(port)                                  # the server is back, at the same address
        assert url2 == url
        again = run()
        rows = generate('support_requests', again, n=4, max_rounds=1, seed=0)
        third = run()
        generate('support_requests', third, n=4, max_rounds=1, seed=0)
    finally: stop_llama(p, log)
    led, all_ = again.ledger.to_frame(), third.ledger.to_frame()
    total = int(all_['cached'].sum())
    assert rows['keep'].sum() > 0 and all_['calls'].sum() == 0              # the third run is all cache
    assert led['cached'].sum() == ok and led['calls'].sum() == total - ok   # the rerun paid only the missing calls
    print(f'killed after {ok} of {total} calls answered; the rerun paid {led["calls"].sum()} and found {led["cached"].sum()} cached')

# Slow replies, and a budget that stops the run: on the fake.

def test_a_reply_slower_than_the_timeout_is_retried_then_stops_clearly(tmp_path):
    with FakeOpenAI(latency=1.5) as fake:
        t = teacher(fake, tmp_path, timeout=0.2, max_concurrency=1)
        t.stop_after = 3
        with pytest.raises(CallError, match=r'3 consecutive failed calls \(last: no reply from .* within timeout=0.2s.*timeout='
                                            ) as e: t.complete(['hello', 'there'])
    assert len(completions(fake)) == 3 and e.value.results == [None, None]   # tried as the stop rule says, nothing kept
    assert len(CallCache(tmp_path/'calls.sqlite')) == 0

def test_a_slow_reply_within_the_timeout_completes(tmp_path):
    with FakeOpenAI(latency=0.4) as fake:
        t = teacher(fake, tmp_path, timeout=5, max_concurrency=4)
        rs = t.complete([f'prompt {i}' for i in range(8)])
    assert all(r.ok for r in rs) and len(completions(fake)) == 8 and fake.paid() == 8

def test_a_budget_stops_before_overspending_and_the_rerun_resumes_from_cache(tmp_path):
    dear = {'gpt-test': (1000.0, 2000.0, 1000.0, 100.0)}              # $ per million tokens: a few cents a call
    prompts = [f'Write request number {i} about a lost card' for i in range(12)]
    with FakeOpenAI() as fake:
        t = teacher(fake, tmp_path, pricing=dear, budget_usd=0.15, max_concurrency=4)
        with pytest.raises(BudgetError, match='past the budget of \\$0.15') as e: t.complete(prompts, max_tokens=8)
        spent, done = t.ledger.total_usd, [r for r in e.value.results if r is not None]
        assert 0 < spent <= 0.15 and f"spent ${spent:.4f} in all" in str(e.value)
        assert 0 < len(done) < 12 and fake.paid() == len(done) == len(CallCache(tmp_path/'calls.sqlite'))
        more = teacher(fake, tmp_path, pricing=dear, budget_usd=1.0, max_concurrency=4)
        rs = more.complete(prompts, max_tokens=8)
    assert all(r.ok for r in rs) and sum(r.cached for r in rs) == len(done)
    assert fake.paid() == 12 and fake.duplicates() == {} and more.ledger.to_frame()['calls'].sum() == 12 - len(done)

# OpenAI's reset times feed the buckets' refill.

def test_reset_headers_set_the_buckets_refill(tmp_path):
    says = {'x-ratelimit-limit-requests': '600', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-limit-tokens': '10000000',
            'x-ratelimit-remaining-tokens': '10000000'}
    took = {}
    for name, reset in [('minute', None), ('soon', '50ms')]:
        with FakeOpenAI(announce=says | ({'x-ratelimit-reset-requests': reset} if reset else {})) as fake:
            t = teacher(fake, tmp_path/name, max_concurrency=4)
            t0 = time.monotonic(); rs = t.complete([f'prompt {i}' for i in range(24)]); took[name] = time.monotonic() - t0
        assert all(r.ok for r in rs)
        took[name, 'per_s'] = t.limiter.buckets['requests'].per_s
    assert took['minute', 'per_s'] == 10 and took['soon', 'per_s'] == 600 / 0.05   # nothing left, all back in 50 ms
    assert took['soon'] < took['minute'] / 2                                      # 24 requests at 10 a second take 2 s
    assert FakeOpenAI().limits(time.time())['x-ratelimit-reset-requests'] == '0ms'  # a full bucket resets at once
