"Every notebook (nbs/, the tutorials and index.ipynb) executes under nbdev's tester, so one pytest run is the whole verdict."
import configparser, hashlib, json, re, subprocess, sys
import pytest
from conftest import ROOT

cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
SKIP = cfg['DEFAULT'].get('tst_flags', '').split('|')
TUTORIALS = sorted((ROOT/'nbs'/'tutorials').glob('[0-9]*.ipynb'))
NOTEBOOKS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb')) + TUTORIALS + [ROOT/'index.ipynb']

# Each notebook runs in a process of its own, as nbdev_test runs them: a lesson that patches a library class (03_calls
# puts `complete` on `synthkit.teachers.Teacher`, with the notebook's own `CallCache`) must not change the classes
# that later notebooks and tests use.
_RUN = ('import sys; from pathlib import Path; from nbdev.test import test_nb; '
        'ok, _ = test_nb(Path(sys.argv[1]), skip_flags=sys.argv[2:]); sys.exit(0 if ok else 1)')

def run(nb, skip_flags):
    r = subprocess.run([sys.executable, '-c', _RUN, str(nb), *skip_flags], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f'{nb.name} failed:\n{r.stderr[-20000:]}'

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(nb, monkeypatch):
    for k in ('ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'): monkeypatch.delenv(k, raising=False)   # offline, as a user without a key
    run(nb, SKIP)

# The Claude tutorial's key cells (`#| claude`), run against the local fake of the Messages API: the SDK talks real HTTP to it.
WORDS = ['card', 'refund', 'account', 'branch', 'statement', 'transfer', 'wallet', 'train', 'shop', 'airline', 'hotel', 'pension',
         'mortgage', 'cheque', 'salary', 'landlord', 'phone', 'email', 'letter', 'weekend', 'Monday', 'abroad', 'online', 'counter']

def reply(body):
    "Writes what each prompt asks for: a JSON list of new, varied messages, or an intent."
    blocks = [b for m in body['messages'] for b in (m['content'] if isinstance(m['content'], list) else [{'text': m['content']}])]
    text = ' '.join(b.get('text', '') for b in blocks)
    if 'Answer with the intent only' in text: return 'card_lost'
    m = re.search(r'Write (\d+) new', text)
    h = hashlib.sha256(text.encode()).digest()
    n = int(m.group(1)) if m else 1
    return json.dumps([f'Message {h[i]} about my {WORDS[h[i] % 24]} and the {WORDS[h[i + 8] % 24]}, sent {WORDS[h[i + 16] % 24]} '
                       f'(case {h.hex()[2 * i:2 * i + 6]})' for i in range(n)])

def test_claude_tutorial_with_fake_api(monkeypatch):
    from fake_anthropic import FakeAnthropic
    nb = ROOT/'nbs'/'tutorials'/'03_claude.ipynb'
    with FakeAnthropic(reply_fn=reply, tool_fn=lambda body: {'score': 4, 'reason': 'fits its label'}) as fake:
        monkeypatch.setenv('ANTHROPIC_API_KEY', 'sk-test-fake'); monkeypatch.setenv('ANTHROPIC_BASE_URL', fake.url)
        run(nb, [f for f in SKIP if f != 'claude'])
        paths = [r.path for r in fake.requests]
    assert any('/batches' in p for p in paths), 'the batch section sent no batch'
    assert sum(p.endswith('/v1/messages') for p in paths) > 10
