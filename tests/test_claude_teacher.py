"""ClaudeTeacher through the real anthropic SDK, over real HTTP, against the fake Messages API on 127.0.0.1.

Every test starts its own fake server; nothing leaves the machine."""
import asyncio, json, os, signal, subprocess, sys, textwrap, threading, time
from pathlib import Path
import pytest
import synthkit as sk
from synthkit.core import BudgetError, CallError, TeacherError
from synthkit.claude import ClaudeTeacher
from synthkit.teachers import Request
from fake_anthropic import FakeAnthropic

KEY = 'sk-ant-test-SECRET-9f8e7d6c5b4a'
SCORE = {'type': 'object', 'required': ['score', 'reason'],
         'properties': {'score': {'type': 'integer', 'minimum': 1, 'maximum': 5}, 'reason': {'type': 'string'}}}

def teacher(fake, tmp_path, **kw):
    kw = {'api_key': KEY, 'base_url': fake.url, 'cache': tmp_path/'calls.sqlite', 'progress': False} | kw
    t = ClaudeTeacher(**kw)
    t.backoff_s = kw.pop('backoff', 0.02)
    return t

def paid(fake): return sum(fake.successes_by_body.values())

def test_answers_in_order_with_usage_and_cost(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path)
        prompts = [f'Write request number {i} about a lost card' for i in range(25)]
        rs = t.complete(prompts, max_tokens=32)
    assert [r.text for r in rs] == [f'reply to: {p}' for p in prompts]
    assert all(r.ok and not r.cached and r.usage.input_tokens > 0 and r.cost_usd > 0 for r in rs)
    assert t.ledger.to_frame()['calls'].sum() == 25
    assert abs(t.ledger.total_usd - sum(r.cost_usd for r in rs)) < 1e-12

def test_rerun_is_served_from_cache_and_pays_nothing(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path)
        first = t.complete([f'prompt {i}' for i in range(10)])
        n = fake.stats()['message_requests']
        again = teacher(fake, tmp_path).complete([f'prompt {i}' for i in range(11)])   # a new teacher, same cache file
        assert fake.stats()['message_requests'] == n + 1                              # only the new prompt was sent
    assert [r.cached for r in again] == [True] * 10 + [False]
    assert [r.text for r in again[:10]] == [r.text for r in first]

def test_faults_are_retried_and_nothing_is_paid_twice(tmp_path):
    with FakeAnthropic(p_529=0.05, p_500=0.05, p_drop=0.03, latency=0.01, seed=7) as fake:
        t = teacher(fake, tmp_path, max_concurrency=8)
        rs = t.complete([f'prompt {i}' for i in range(120)])
        st = fake.stats()
    assert all(r.ok for r in rs), [r.error for r in rs if not r.ok]
    assert fake.duplicate_successes() == {} and paid(fake) == 120
    assert st['replies_by_status'].get(529, 0) + st['replies_by_status'].get(500, 0) + st['dropped'] > 0   # faults happened

def test_retry_after_is_honoured(tmp_path):
    with FakeAnthropic(script={0: {'status': 429, 'retry_after': 1}}) as fake:
        t = teacher(fake, tmp_path, max_concurrency=1)
        t0 = time.monotonic(); rs = t.complete(['only one']); dt = time.monotonic() - t0
    assert rs[0].ok and dt >= 0.95 and fake.stats()['replies_by_status'][429] == 1

def test_stop_rule_keeps_finished_results(tmp_path):
    script = {i: 529 for i in range(5, 200)}
    with FakeAnthropic(script=script) as fake:
        t = teacher(fake, tmp_path, max_concurrency=1)
        t.max_attempts = 4                                             # each request gives up after 4 tries; the run stops at 10 in a row
        with pytest.raises(CallError, match='stopped after 10 consecutive failed calls') as e:
            t.complete([f'prompt {i}' for i in range(30)])
    done = [r for r in e.value.results if r is not None]
    assert [r.ok for r in done] == [True] * 5 + [False, False]      # 6th and 7th gave up (4 + 4 failures), the 8th's 2nd failure made 10
    assert done[5].error == 'gave up after 4 attempts (last: overloaded)'
    assert len(sk.CallCache(tmp_path/'calls.sqlite')) == 5            # only answers are cached

def test_budget_stops_before_passing_it(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path, max_concurrency=4, budget_usd=0.01)
        with pytest.raises(BudgetError, match='past the budget of \\$0.01') as e:
            t.complete([f'prompt {i} ' + 'words ' * 50 for i in range(100)], max_tokens=200)
    assert 0.005 < t.ledger.total_usd <= 0.01
    done = [r for r in e.value.results if r is not None]
    assert 0 < len(done) < 100 and len(sk.CallCache(tmp_path/'calls.sqlite')) == len(done)

def test_sampling_parameters_are_refused_before_any_call(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path)
        with pytest.raises(TeacherError, match='takes no sampling parameters \\(temperature given\\)'):
            t.complete([Request('hi', temperature=1.0)])
        assert fake.stats()['message_requests'] == 0

def test_missing_key_names_variable_and_offline_alternative(monkeypatch):
    monkeypatch.delenv('ANTHROPIC_API_KEY', raising=False)
    with pytest.raises(TeacherError) as e: ClaudeTeacher()
    assert 'ANTHROPIC_API_KEY' in str(e.value) and 'LocalTeacher' in str(e.value)

def test_env_key_and_base_url_are_read(tmp_path, monkeypatch):
    with FakeAnthropic(api_key=KEY) as fake:
        monkeypatch.setenv('ANTHROPIC_API_KEY', KEY); monkeypatch.setenv('ANTHROPIC_BASE_URL', fake.url)
        rs = ClaudeTeacher(cache=False, progress=False).complete(['hello'])
    assert rs[0].text == 'reply to: hello'

def test_wrong_key_is_fatal_and_not_echoed(tmp_path):
    with FakeAnthropic(api_key='sk-ant-the-right-one') as fake:
        t = teacher(fake, tmp_path)
        with pytest.raises(TeacherError, match='the API refused the key \\(401\\)') as e: t.complete(['a', 'b', 'c'])
    assert KEY not in str(e.value) and KEY not in repr(t)

def test_key_never_reaches_cache_or_ledger(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path)
        t.complete([f'prompt {i}' for i in range(5)] + [Request('rate', schema=SCORE)])
        recorded = [r.api_key for r in fake.requests if r.path.startswith('/v1/messages')]
    assert recorded and set(recorded) == {KEY}                           # it was sent, to the API only
    for f in tmp_path.iterdir(): assert KEY.encode() not in f.read_bytes(), f
    assert KEY not in repr(t.ledger) and KEY not in t.ledger._repr_html_() and KEY not in repr(t)
    with pytest.raises(TypeError): __import__('pickle').dumps(t)

def test_structured_output_validated_and_repaired_once(tmp_path):
    def tool_fn(body):
        again = any('does not follow the schema' in json.dumps(m['content']) for m in body['messages'])
        return {'score': 4, 'reason': 'clear and specific'} if again else {'score': 11}
    with FakeAnthropic(tool_fn=tool_fn) as fake:
        t = teacher(fake, tmp_path)
        rs = t.complete([Request('Rate: my card is lost', schema=SCORE)])
        assert rs[0].data == {'score': 4, 'reason': 'clear and specific'} and fake.stats()['message_requests'] == 2
        fake.tool_fn = lambda body: {'score': 11}
        bad = t.complete([Request('Rate: another', schema=SCORE)])
    assert bad[0].error.startswith('invalid answer after a retry: answer is missing "reason"') and bad[0].data is None

def test_prompt_cache_marks_shared_prefix(tmp_path):
    prefix = 'Examples of support requests:\n' + '\n'.join(f'- example {i} about cards and fees' for i in range(40)) + '\n'
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path, max_concurrency=1)
        rs = t.complete([Request(f'Write one more, number {i}.', prefix=prefix) for i in range(4)])
        bodies = [r.body for r in fake.requests if r.path == '/v1/messages']
    assert all(b['messages'][0]['content'][0]['cache_control'] == {'type': 'ephemeral'} for b in bodies)
    assert rs[0].usage.cache_write_tokens > 0 and all(r.usage.cache_read_tokens > 0 for r in rs[1:])
    f = t.ledger.to_frame()
    assert f['cache_read_tokens'][0] > 0 and f['cache_write_tokens'][0] > 0

def test_batches_join_on_custom_id_resubmit_errors_and_cost_half(tmp_path):
    reqs = [Request(f'batch prompt {i}', max_tokens=20) for i in range(12)]
    with FakeAnthropic(batch_delay=0.1) as fake:
        t = teacher(fake, tmp_path, batch=True, batch_poll_s=0.05)
        fake.batch_errors = {t.key(reqs[3]): 'api_error'}; fake.batch_expired = {t.key(reqs[7])}
        def heal():   # the errored and expired requests succeed when resubmitted
            while not [r for r in fake.requests if r.path.endswith('/results')]: time.sleep(0.005)
            fake.batch_errors, fake.batch_expired = {}, set()
        threading.Thread(target=heal, daemon=True).start()
        rs = t.complete(reqs)
        submitted = [r.body for r in fake.requests if r.method == 'POST' and r.path == '/v1/messages/batches']
        live = teacher(fake, tmp_path/'live', batch=False).complete(reqs[:1])[0]
    assert [r.text for r in rs] == [f'reply to: batch prompt {i}' for i in range(12)]   # results come shuffled; joined back in order
    assert all(r.batch for r in rs) and [len(b['requests']) for b in submitted] == [12, 2]
    assert abs(rs[0].cost_usd - live.cost_usd / 2) < 1e-12
    assert t.ledger.to_frame()['mode'].to_list() == ['batch']

def test_batch_request_that_keeps_failing_keeps_its_place(tmp_path):
    reqs = [Request(f'batch prompt {i}', max_tokens=20) for i in range(5)]
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path, batch=True, batch_poll_s=0.01)
        fake.batch_errors = {t.key(reqs[2]): 'api_error'}
        rs = t.complete(reqs)
        n_batches = len([r for r in fake.requests if r.method == 'POST' and r.path == '/v1/messages/batches'])
    assert [r.ok for r in rs] == [True, True, False, True, True] and n_batches == 3
    assert rs[2].error.startswith('batch request errored') and rs[2].error.endswith('after 3 submissions')

def test_batch_budget_checked_before_submitting(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path, batch=True, budget_usd=0.0001)
        with pytest.raises(BudgetError, match='this batch could cost up to'):
            t.complete([f'p {i}' for i in range(50)], max_tokens=500)
        assert not [r for r in fake.requests if r.path.startswith('/v1/messages/batches')]

def test_complete_inside_a_running_event_loop(tmp_path):
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path)
        async def cell(): return t.complete(['from inside a loop'])       # what a Jupyter cell does
        rs = asyncio.run(cell())
        rs2 = asyncio.run(t.acomplete(['awaited directly']))
    assert rs[0].text == 'reply to: from inside a loop' and rs2[0].text == 'reply to: awaited directly'

def test_concurrency_backs_off_on_429_and_recovers(tmp_path):
    script = {i: {'status': 429, 'retry_after': 0} for i in range(4)}
    with FakeAnthropic(script=script, latency=0.02) as fake:
        t = teacher(fake, tmp_path, max_concurrency=8)
        t.complete([f'p {i}' for i in range(60)])
    assert t.limiter.limit > 4            # cut on the 429s, grown back by the successes after them

RESUME = textwrap.dedent('''
    import sys, synthkit as sk
    t = sk.ClaudeTeacher(api_key="{key}", base_url=sys.argv[1], cache=sys.argv[2], max_concurrency=4, progress=False)
    rs = t.complete([f"resumable prompt {{i}}" for i in range(40)])
    print("done", sum(r.ok for r in rs), sum(r.cached for r in rs))
''')

def test_killed_run_resumes_without_paying_twice(tmp_path):
    script = tmp_path/'run.py'; script.write_text(RESUME.format(key=KEY))
    with FakeAnthropic(latency=0.15) as fake:
        p = subprocess.Popen([sys.executable, str(script), fake.url, str(tmp_path/'c.sqlite')], stdout=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        while paid(fake) < 12 and time.monotonic() - t0 < 60: time.sleep(0.02)
        p.send_signal(signal.SIGKILL); p.wait()
        killed_at = paid(fake)
        assert 12 <= killed_at < 40
        out = subprocess.run([sys.executable, str(script), fake.url, str(tmp_path/'c.sqlite')], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        ok, cached = map(int, out.stdout.split()[1:])
        assert ok == 40 and cached >= killed_at - 4           # at most the 4 in flight at the kill were lost
        assert paid(fake) <= 40 + 4

@pytest.mark.parametrize('batch', [False, True])
def test_budget_on_a_model_without_a_price_stops_before_sending(tmp_path, batch):
    "An unpriced model would count as free and run past any budget: with a budget set, nothing is sent and the error says how to price it."
    with FakeAnthropic() as fake:
        t = teacher(fake, tmp_path, model='claude-unreleased-9', batch=batch, budget_usd=0.005)
        with pytest.raises(BudgetError, match='claude-unreleased-9" has no price') as e:
            t.complete([f'p {i}' for i in range(3)], max_tokens=50)
        assert 'pricing={"claude-unreleased-9"' in str(e.value)
        assert not fake.requests
        t.pricing = {'claude-unreleased-9': (1.0, 5.0, 1.25, 0.1)}
        assert len(t.complete([f'p {i}' for i in range(3)], max_tokens=50)) == 3
