"""Design runs at scale: a bar per model column, a run killed in a real subprocess resumed paying only the calls not yet
answered (counted from the cache and the ledger), and `batch=True` through Claude's Message Batches and OpenAI's Batch
API on the fakes, the real SDKs talking HTTP on 127.0.0.1."""
import json, signal, subprocess, sys, textwrap, time
import polars as pl
import pytest
from synthkit.design import Design, DesignError
from synthkit.teachers import ScriptedTeacher
from synthkit.calls import CallCache
from synthkit.claude import ClaudeTeacher
from synthkit.openai_teacher import OpenAITeacher
from fake_anthropic import FakeAnthropic
from fake_openai import FakeOpenAI

TICKET = {'type': 'object', 'required': ['topic', 'urgency'],
          'properties': {'topic': {'type': 'string'}, 'urgency': {'type': 'integer', 'minimum': 1, 'maximum': 3}}}

def bank(t):
    d = Design(t).category('persona', ['student', 'retiree', 'shop owner']).uniform('age', 18, 90, integer=True)
    return d.llm('message', 'A {{persona}} aged {{age}} writes to the bank.').llm('reply', 'Reply to: {{message}}')

def test_progress_is_one_bar_per_model_column_and_the_setting_is_put_back(capsys):
    t = ScriptedTeacher(lambda text: text.upper(), model='shout', cache=CallCache())
    bank(t).run(30, progress=True)
    err = capsys.readouterr().err
    assert 'message (shout)' in err and 'reply (shout)' in err and '30/30' in err
    assert t.progress is False
    bank(t).run(30, progress=True)                             # all cached: nothing to show
    assert 'shout' not in capsys.readouterr().err

RESUME = textwrap.dedent('''
    import json, sys, time
    from synthkit.design import Design
    from synthkit.teachers import ScriptedTeacher
    from synthkit.calls import CallCache
    log = open(sys.argv[2], 'a')
    def slow(text):
        "A teacher that takes its time and notes each call it answers."
        time.sleep(0.03); log.write(text[:12].replace(chr(10), ' ') + chr(10)); log.flush()
        return 'said: ' + text
    t = ScriptedTeacher(slow, model='slow', cache=CallCache(sys.argv[1]), max_concurrency=4)
    d = Design(t).category('persona', ['student', 'retiree', 'shop owner']).uniform('age', 18, 90, integer=True)
    d.llm('message', 'A {{persona}} aged {{age}} writes to the bank.').llm('reply', 'Reply to: {{message}}')
    d.run(int(sys.argv[4]), progress=True).write_parquet(sys.argv[3])
    r = t.ledger.rows[('slow', 'live')]
    print(json.dumps({'calls': r['calls'], 'cached': r['cached']}))
''')

def test_killed_design_run_resumes_paying_only_what_was_not_answered(tmp_path):
    script, cache, log, n = tmp_path/'run.py', tmp_path/'calls.sqlite', tmp_path/'calls.log', 60
    script.write_text(RESUME)
    def lines(): return len(log.read_text().splitlines()) if log.exists() else 0
    p = subprocess.Popen([sys.executable, str(script), str(cache), str(log), str(tmp_path/'a.parquet'), str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while lines() < n + 20 and p.poll() is None and time.monotonic() - t0 < 120: time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, 'the run finished before it was killed'
    answered = len(CallCache(cache))                          # what the killed run stored: every message, some replies
    assert n < answered < 2 * n, answered
    before = lines()
    out = subprocess.run([sys.executable, str(script), str(cache), str(log), str(tmp_path/'b.parquet'), str(n)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    led = json.loads(out.stdout.splitlines()[-1])
    assert led == {'calls': 2 * n - answered, 'cached': answered}   # pays for the rest only
    assert lines() - before == 2 * n - answered
    assert 'reply (slow)' in out.stderr and 'message (slow)' not in out.stderr   # the message column was all cached
    fresh = subprocess.run([sys.executable, str(script), str(tmp_path/'fresh.sqlite'), str(tmp_path/'f.log'),
                            str(tmp_path/'c.parquet'), str(n)], capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    resumed, whole = pl.read_parquet(tmp_path/'b.parquet'), pl.read_parquet(tmp_path/'c.parquet')
    assert resumed.equals(whole) and resumed['reply'].str.starts_with('said: Reply to: said: A ').all()

def batches(fake, path): return [r for r in fake.requests if r.method == 'POST' and r.path == path]

def test_claude_batch_sends_each_model_column_as_one_batch(tmp_path):
    with FakeAnthropic(batch_delay=0.05) as fake:
        t = ClaudeTeacher(api_key='sk-ant-test-fake', base_url=fake.url, cache=tmp_path/'calls.sqlite', progress=False,
                          batch_poll_s=0.02)
        d = bank(t).structured('ticket', TICKET, 'Ticket for: {{reply}}')
        out = d.run(20, batch=True)
        sent = batches(fake, '/v1/messages/batches')
        assert [len(b.body['requests']) for b in sent] == [20, 20, 20]                 # message, reply, ticket
        assert not batches(fake, '/v1/messages'), 'a call went live'
        assert t.batch is None and t.ledger.to_frame()['mode'].to_list() == ['batch']   # the setting is put back
        assert out['keep'].all() and out['message'].str.starts_with('reply to: A ').all()
        assert out['reply'].str.starts_with('reply to: Reply to: reply to: A ').all()
        assert set(out['ticket'].struct.field('urgency')) <= {1, 2, 3}
        assert 'Reply to: reply to: A ' in json.dumps(sent[1].body['requests'][0]['params']['messages'])
        d.llm('reply', 'Answer: {{message}}')                       # an edit: the reply and the ticket, in two batches
        d.run(20, batch=True)
        assert [len(b.body['requests']) for b in batches(fake, '/v1/messages/batches')[3:]] == [20, 20]
        d.run(20, batch=True)
        assert len(batches(fake, '/v1/messages/batches')) == 5       # all from the cache

def test_openai_batch_goes_through_the_batch_api(tmp_path):
    with FakeOpenAI() as fake:
        t = OpenAITeacher(model='gpt-test', api_key='sk-proj-test-fake', base_url=fake.url, cache=tmp_path/'calls.sqlite',
                          progress=False, batch_poll_s=0.01, pricing={'gpt-test': (1.0, 2.0, 1.0, 0.1)})
        out = bank(t).run(12, batch=True)
        made = [r for r in fake.requests if r['method'] == 'POST' and r['path'] == '/v1/batches']
    assert len(made) == 2 and out['keep'].all() and out['reply'].str.starts_with('reply to: Reply to: ').all()
    assert t.ledger.to_frame()['mode'].to_list() == ['batch'] and t.batch is None

def test_batch_on_a_teacher_without_a_batch_api_sends_nothing():
    sent = []
    t = ScriptedTeacher(lambda text: sent.append(text) or 'x')
    with pytest.raises(DesignError, match='ScriptedTeacher has no batch API; batch=True needs sk.ClaudeTeacher'):
        bank(t).run(5, batch=True)
    assert sent == []
