"""No two requests of one generation run carry the same body (issue 14): with 3 seeds per label and 4 shown per prompt,
every example set is the same three seeds, which used to go out again and again under new sample numbers. Counted at the
teacher: ScriptedTeacher's function, and the fake Messages API on 127.0.0.1 reached through the real anthropic SDK, from
`sk.generate` and from the `synthkit run` command."""
import hashlib, json, os, re, subprocess, sys
import polars as pl
import synthkit as sk
from conftest import ROOT
from fake_anthropic import FakeAnthropic, canonical_json
from synthkit.claude import ClaudeTeacher
from synthkit.teachers import Request, ScriptedTeacher

KEY = 'sk-ant-test-DISTINCT-1a2b3c4d'
LABELS = {'card_lost': ['I lost my card yesterday', 'My card is missing, please block it', 'Where is my card? I cannot find it'],
          'refund': ['I want my money back for this order', 'How do I get a refund?', 'The shop owes me a refund'],
          'transfer': ['Send 50 pounds to my sister', 'How long does a transfer take?', 'My transfer has not arrived'],
          'pin': ['I forgot my PIN', 'How can I change my PIN?', 'My PIN is blocked after three tries']}

def seeds(): return sk.load_seeds([{'text': t, 'label': l} for l, ts in LABELS.items() for t in ts])

def items(text:str)->str:
    "A JSON array of as many new, unrelated items as the prompt asks for (distinct words, so no novelty filter bites)."
    n = int(m.group(1)) if (m := re.search(r'Write (\d+) new', text)) else 1
    h = hashlib.sha256(text.encode()).hexdigest()
    return json.dumps([' '.join(f'w{h[4 * i + j:4 * i + j + 6]}{i}{j}' for j in range(6)) for i in range(n)])

def said(body:dict)->str:
    return ' '.join(b.get('text', '') if isinstance(b, dict) else str(b)
                    for m in body['messages'] for b in (m['content'] if isinstance(m['content'], list) else [m['content']])
                    if isinstance(b, (dict, str))) if isinstance(body.get('messages'), list) else ''

def reply(body:dict)->str: return items(said(body))

def duplicates(bodies:list)->int: return len(bodies) - len(set(bodies))

def test_scripted_generate_sends_no_body_twice():
    sent = []
    def fn(req:Request)->str:
        sent.append(json.dumps([req.system, req.prefix, req.prompt, req.messages]))
        return items(req.prompt)
    batch = sk.generate(seeds(), ScriptedTeacher(fn), n=60, k=3)
    assert batch.filter(pl.col('keep')).height == 60
    assert len(sent) > 12 and duplicates(sent) == 0, f'{duplicates(sent)} of {len(sent)} bodies sent twice'

def test_claude_generate_sends_no_body_twice(tmp_path):
    with FakeAnthropic(reply_fn=reply) as fake:
        t = ClaudeTeacher(api_key=KEY, base_url=fake.url, cache=tmp_path/'calls.sqlite', progress=False)
        batch = sk.generate(seeds(), t, n=60, k=3)
        bodies = [canonical_json(b) for b in fake.bodies]
    assert batch.filter(pl.col('keep')).height == 60
    assert len(bodies) > 12 and duplicates(bodies) == 0, f'{duplicates(bodies)} of {len(bodies)} bodies sent twice'

def test_synthkit_run_with_claude_sends_no_body_twice(tmp_path):
    src = tmp_path/'seeds.jsonl'
    src.write_text(''.join(json.dumps({'text': t, 'label': l}) + '\n' for l, ts in LABELS.items() for t in ts))
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OPENAI_', 'ANTHROPIC_'))} | {'PYTHONPATH': str(ROOT)}
    with FakeAnthropic(reply_fn=reply) as fake:
        env |= {'ANTHROPIC_API_KEY': KEY, 'ANTHROPIC_BASE_URL': fake.url}
        p = subprocess.run([sys.executable, '-c', 'import sys; from synthkit.cli import main; sys.exit(main())', 'run',
                            str(src), '--n', '60', '--teacher', 'claude', '--out', str(tmp_path/'run')],
                           capture_output=True, text=True, env=env, timeout=300)
        bodies = [canonical_json(b) for b in fake.bodies]
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path/'run'/'manifest.json').read_text())
    assert m['counts']['accepted'] == 60 and m['calls'] == len(bodies)
    assert duplicates(bodies) == 0, f'{duplicates(bodies)} of {len(bodies)} bodies sent twice'
