"""`synthkit run --teacher openai[:MODEL]` as a user runs it: the command in a subprocess, talking real HTTP through the
openai SDK to the fake OpenAI API on 127.0.0.1. The run folder holds the rows and the manifest, never the key; a re-run
pays for nothing."""
import hashlib, json, os, re, socket, subprocess, sys
import polars as pl
from conftest import ROOT
from fake_openai import FakeOpenAI, said
from synthkit.openai_teacher import DEFAULT_OPENAI_MODEL

KEY = 'sk-proj-cli-SECRET-9f8e7d6c5b'
WORDS = ['card', 'refund', 'account', 'branch', 'statement', 'transfer', 'wallet', 'train', 'shop', 'airline', 'hotel',
         'pension', 'mortgage', 'cheque', 'salary', 'landlord', 'phone', 'email', 'letter', 'weekend', 'Monday', 'abroad']

def message(h: bytes, i: int) -> str:
    return (f'Message {h[i]} about my {WORDS[h[i] % 22]} and the {WORDS[h[i + 8] % 22]}, '
            f'sent {WORDS[h[i + 16] % 22]} (case {h.hex()[2 * i:2 * i + 6]})')

def reply(body: dict) -> str:
    "What each prompt asks for: a JSON list of N new messages (chat), or one more line of the list (completion)."
    text = ' '.join(said(m.get('content')) for m in body['messages']) if 'messages' in body else body['prompt']
    h = hashlib.sha256(text.encode()).digest()
    if 'messages' not in body: return ' ' + message(h, 0) + '\n'
    n = int(re.search(r'Write (\d+) new', text).group(1))
    return json.dumps([message(h, i) for i in range(n)])

def synthkit(*args, env_extra=None):
    "The `synthkit` command (its entry point, `synthkit.cli:main`) in a subprocess, with this worktree's package."
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OPENAI_', 'ANTHROPIC_'))}
    env |= {'PYTHONPATH': str(ROOT)} | (env_extra or {})
    return subprocess.run([sys.executable, '-c', 'import sys; from synthkit.cli import main; sys.exit(main())', *args],
                          capture_output=True, text=True, env=env, timeout=300)

def completions(fake): return [r for r in fake.requests if r['path'].endswith('completions')]

def test_run_through_a_server_writes_rows_and_manifest_never_the_key(tmp_path):
    out = tmp_path/'run'
    args = ['run', 'support_requests', '--n', '12', '--teacher', 'openai:gpt-test', '--out', str(out)]
    with FakeOpenAI(reply=reply, keys=[KEY]) as fake:     # the fake refuses any other key: the one from the env is sent
        args += ['--base-url', fake.url]
        p = synthkit(*args, env_extra={'OPENAI_API_KEY': KEY})
        assert p.returncode == 0, p.stderr
        sent, first = len(completions(fake)), p
        again = synthkit(*args, env_extra={'OPENAI_API_KEY': KEY})
        assert again.returncode == 0, again.stderr
        assert len(completions(fake)) == sent and len(fake.requests) == sent + 1   # the re-run sent nothing at all
    assert [r['path'] for r in fake.requests].count('/v1/models') == 1         # the first run looked once
    assert sent > 0 and all(r['path'] == '/v1/chat/completions' for r in completions(fake))
    acc = pl.read_parquet(out/'accepted.parquet')
    assert acc.height == 12 and set(acc['source']) == {'synthetic'} and acc['text'].str.starts_with('Message ').all()
    m = json.loads((out/'manifest.json').read_text())
    assert (m['teacher'], m['model'], m['base_url'], m['endpoint'], m['style']) == \
           ('openai:gpt-test', 'gpt-test', fake.url, 'chat', 'instruction')
    assert m['counts']['accepted'] == 12 and m['calls'] == 0 and m['cached_calls'] == sent and m['cost_usd'] == 0
    files = [f for f in out.rglob('*') if f.is_file()]
    assert {'accepted.parquet', 'manifest.json', 'calls.sqlite', 'report.html'} <= {f.name for f in files}
    for f in files: assert KEY.encode() not in f.read_bytes(), f'the key reached {f.name}'
    assert KEY not in first.stdout + first.stderr + again.stdout + again.stderr
    assert '12 rows accepted' in first.stdout and '0 calls' in again.stdout

def test_completion_endpoint_gets_completion_prompts_and_the_default_model(tmp_path):
    out = tmp_path/'run'
    with FakeOpenAI(reply=reply) as fake:
        p = synthkit('run', 'support_requests', '--n', '6', '--teacher', 'openai', '--base-url', fake.url,
                     '--endpoint', 'completion', '--out', str(out))
    assert p.returncode == 0, p.stderr
    sent = completions(fake)
    assert sent and all(r['path'] == '/v1/completions' for r in sent)
    assert {r['body']['model'] for r in sent} == {DEFAULT_OPENAI_MODEL}
    assert not any('JSON' in r['body']['prompt'] for r in sent)         # a base model continues a list, no JSON asked
    assert all(r['headers']['authorization'] == 'Bearer sk-no-key' for r in sent)   # no key needed on one's own server
    m = json.loads((out/'manifest.json').read_text())
    assert (m['model'], m['endpoint'], m['style'], m['counts']['accepted']) == (DEFAULT_OPENAI_MODEL, 'completion',
                                                                               'completion', 6)

def test_openers_begin_each_row_with_a_seeds_first_word(tmp_path):
    firsts = {t.split()[0] for t in pl.read_ndjson(ROOT/'synthkit'/'data'/'support_requests.jsonl')['text']}
    with FakeOpenAI(reply=reply) as fake:
        p = synthkit('run', 'support_requests', '--n', '9', '--teacher', 'openai', '--base-url', fake.url,
                     '--endpoint', 'completion', '--openers', '--out', str(tmp_path/'run'))
        chat = synthkit('run', 'support_requests', '--n', '9', '--teacher', 'openai', '--base-url', fake.url,
                        '--openers', '--out', str(tmp_path/'chat'))
    assert p.returncode == 0, p.stderr
    heads = [r['body']['prompt'].rsplit('\n- ', 1)[-1] for r in completions(fake)]
    assert set(heads) <= firsts and len(set(heads)) > 2                # each prompt ends on some seed's first word
    acc = pl.read_parquet(tmp_path/'run'/'accepted.parquet')
    assert acc.height == 9 and acc['text'].map_elements(lambda t: t.split()[0] in firsts, return_dtype=pl.Boolean).all()
    assert json.loads((tmp_path/'run'/'manifest.json').read_text())['openers'] is True
    assert chat.returncode == 2 and 'base (completion) teacher' in chat.stderr and 'Traceback' not in chat.stderr

def _closed_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_mistakes_end_in_one_line_with_the_fix(tmp_path):
    p = synthkit('run', 'support_requests', '--teacher', 'openai', '--out', str(tmp_path/'a'))
    assert p.returncode == 2 and 'OPENAI_API_KEY is not set' in p.stderr and 'Traceback' not in p.stderr
    p = synthkit('run', 'support_requests', '--teacher', 'local', '--base-url', 'http://127.0.0.1:8000/v1',
                 '--out', str(tmp_path/'b'))
    assert p.returncode == 2 and '--base-url with --teacher local; it is for openai[:MODEL] teachers' in p.stderr
    url = f'http://127.0.0.1:{_closed_port()}/v1'
    p = synthkit('run', 'support_requests', '--n', '3', '--teacher', 'openai:m', '--base-url', url,
                 '--out', str(tmp_path/'c'))
    assert p.returncode == 2 and f'nothing is listening at {url}' in p.stderr and 'Traceback' not in p.stderr

def test_demo_against_a_server_takes_its_first_model_or_the_one_named(tmp_path):
    with FakeOpenAI(models=['my-served-model', 'gpt-test'], reply=reply) as fake:
        p = synthkit('demo', '--n', '6', '--base-url', fake.url, '--out', str(tmp_path/'first'))
        assert p.returncode == 0, p.stderr
        asked = {r['body']['model'] for r in completions(fake)}
        q = synthkit('demo', '--n', '6', '--base-url', fake.url, '--model', 'gpt-test', '--out', str(tmp_path/'named'))
        assert q.returncode == 0, q.stderr
    assert asked == {'my-served-model'} and {r['body']['model'] for r in completions(fake)} == asked | {'gpt-test'}
    for out, model in [('first', 'my-served-model'), ('named', 'gpt-test')]:
        m = json.loads((tmp_path/out/'manifest.json').read_text())
        assert (m['seeds'], m['teacher'], m['model'], m['base_url'], m['quota']) == \
               ('support_requests', f'openai:{model}', model, fake.url, 'balance')
        assert m['counts']['accepted'] == 6 and m['calls'] > 0 and m['cost_usd'] == 0
        assert pl.read_parquet(tmp_path/out/'accepted.parquet')['text'].str.starts_with('Message ').all()
    assert '6 rows accepted' in p.stdout and 'warning' not in p.stderr

def test_demo_mistakes_with_a_server_end_in_one_line(tmp_path):
    url = f'http://127.0.0.1:{_closed_port()}/v1'
    p = synthkit('demo', '--base-url', url, '--out', str(tmp_path/'a'))
    assert p.returncode == 2 and f'{url} did not list its models' in p.stderr and '--model' in p.stderr
    assert 'Traceback' not in p.stderr
    p = synthkit('demo', '--base-url', url, '--teacher', 'local', '--out', str(tmp_path/'b'))
    assert p.returncode == 2 and 'they are for openai[:MODEL] teachers' in p.stderr

def test_demo_against_a_server_runs_inside_a_running_event_loop_as_in_a_notebook(tmp_path, capsys):
    "A Jupyter cell runs inside the kernel's event loop: `main(['demo', '--base-url', ...])` there must not need its own."
    import asyncio
    from synthkit.cli import main
    async def a_notebook_cell(): return main(['demo', '--n', '3', '--base-url', fake.url, '--out', str(tmp_path/'nb')])
    with FakeOpenAI(models=['my-served-model'], reply=reply) as fake:
        assert asyncio.run(a_notebook_cell()) == 0, capsys.readouterr().err
    assert '/v1/models' in [r['path'] for r in fake.requests]
    assert json.loads((tmp_path/'nb'/'manifest.json').read_text())['model'] == 'my-served-model'
