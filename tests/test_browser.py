"""The widgets in a real browser: JupyterLab (from pip) and Debian's Chromium (driven by Playwright) run a notebook
top to bottom, and the test checks what a person would see: the seed editor's rows, the generate bar at 100%,
a review click changing a row's state, the dashboard's charts drawn, and no JavaScript errors.

Two notebooks: a small one written here (a scripted teacher, so it takes seconds, and its Run button is clicked
in the browser) and the end-to-end tutorial (the embedded teacher; minutes). Screenshots of each step, the console
and the server's log go to tests/artifacts/.

Needs /usr/bin/chromium (`apt-get install chromium`), `playwright` and `jupyterlab` (both in the dev extras); the
test skips without them and `.ci/run` installs them. Playwright's own browser download is not used.
Run the tutorial test under `flock /tmp/llama.lock` when other llama.cpp jobs may be running on the machine."""
import contextlib, importlib.util, json, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT

CHROMIUM = os.environ.get('SYNTHKIT_CHROMIUM', '/usr/bin/chromium')
TUTORIAL = ROOT/'nbs'/'tutorials'/'01_end_to_end.ipynb'
ARTIFACTS = ROOT/'tests'/'artifacts'
TUTORIAL_TIMEOUT = float(os.environ.get('SYNTHKIT_BROWSER_TIMEOUT', 1500))   # seconds for the tutorial's Run All
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']   # a closed network

def _missing()->str|None:
    if not Path(CHROMIUM).exists(): return f'{CHROMIUM} is absent (apt-get install chromium)'
    for mod in ('playwright', 'jupyterlab'):
        if importlib.util.find_spec(mod) is None: return f'{mod} is not installed (pip install -e ".[dev]")'
    return None

pytestmark = pytest.mark.skipif(_missing() is not None, reason=f'real-browser test: {_missing()}')

# --- JupyterLab on loopback, with a token, in a temp dir ---------------------------------------------------------

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class Lab:
    "A JupyterLab server on 127.0.0.1 serving `root`; `stop()` shuts its kernels down and ends it."
    def __init__(self, root:Path, log:Path, timeout:float=90):
        self.root, self.port, self.token = root, _free_port(), secrets.token_hex(16)
        self.url = f'http://127.0.0.1:{self.port}'
        settings, work = root.parent/'lab-settings', root.parent/'lab-workspaces'
        notes = settings/'@jupyterlab'/'apputils-extension'
        notes.mkdir(parents=True, exist_ok=True); work.mkdir(exist_ok=True)
        # no "official Jupyter news?" toast over the screenshots, and no update checks on a closed network
        (notes/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
        cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={self.port}',
               '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={root}',
               f'--LabApp.user_settings_dir={settings}', f'--LabApp.workspaces_dir={work}', '--LabApp.news_url=',
               '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
        if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')   # CI runs as root
        env = os.environ | {'JUPYTER_RUNTIME_DIR': str(root.parent/'lab-runtime')}
        self.log = open(log, 'w')
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f'{self.url}/api/status?token={self.token}', timeout=2): break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop(); raise RuntimeError(f'JupyterLab did not start; see {log}')
                time.sleep(0.3)

    def open_url(self, name:str, workspace:str)->str:
        "The notebook in a workspace of its own, reset, so no tab of an earlier session is restored beside it."
        return f'{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}'

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):   # shuts the kernels down too
                req = urllib.request.Request(f'{self.url}/api/shutdown', method='POST', headers={'Authorization': f'token {self.token}'})
                urllib.request.urlopen(req, timeout=10).close()
            try: self.proc.wait(15)
            except subprocess.TimeoutExpired:
                for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                    with contextlib.suppress(ProcessLookupError): os.killpg(self.proc.pid, sig)
                    try: self.proc.wait(wait); break
                    except subprocess.TimeoutExpired: pass
        self.log.close()

@pytest.fixture(scope='module')
def artifacts()->Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

@pytest.fixture(scope='module')
def lab(tmp_path_factory, artifacts):
    root = tmp_path_factory.mktemp('browser')/'notebooks'
    root.mkdir()
    server = Lab(root, artifacts/'jupyter-server.log')
    try: yield server
    finally: server.stop()

@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)   # a fresh temp profile
        try: yield b
        finally: b.close()
    finally: pw.stop()

# --- what a person does and sees in JupyterLab ------------------------------------------------------------------

# Console messages that are not errors of ours. Keep this list short and say why each entry is harmless.
BENIGN = [
    # the tutorial's "Open in Colab" badge is an image on colab.research.google.com; CI has no internet
    re.compile(r'Failed to load resource: net::ERR_NAME_NOT_RESOLVED @ https://colab\.research\.google\.com/assets/colab-badge\.svg'),
]

PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'   # the notebook in the current tab

class Session:
    "One notebook open in JupyterLab in one browser page, with the console recorded."
    def __init__(self, browser, lab:Lab, name:str, prefix:str, artifacts:Path):
        self.prefix, self.artifacts, self.errors, self.console = prefix, artifacts, [], []
        self.ctx = browser.new_context(viewport={'width': 1400, 'height': 1600})
        self.page = page = self.ctx.new_page()
        page.set_default_timeout(30_000)
        page.on('console', self._on_console)
        page.on('pageerror', lambda e: self._note('pageerror', str(e)))
        page.goto(lab.open_url(name, prefix), timeout=90_000)
        page.locator(f'{PANEL} .jp-Notebook').wait_for(timeout=90_000)
        dialog = page.locator('.jp-Dialog').filter(has_text='Select Kernel')
        idle = page.locator(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
        deadline, calm = time.monotonic() + 90, 0
        while calm < 2:   # the kernel is up and idle, and no dialog asks which kernel
            if time.monotonic() > deadline: self.shot('no-kernel'); pytest.fail('the notebook\'s kernel did not start')
            if dialog.count():   # JupyterLab asks when it opens a notebook before it has the kernel list; answer as a person would
                dialog.locator('.jp-Dialog-button.jp-mod-accept').click(); calm = 0
            calm = calm + 1 if idle.count() and not dialog.count() else 0
            page.wait_for_timeout(1_000)

    def _note(self, kind, text):
        self.console.append(f'{kind}: {text}')
        if not any(p.fullmatch(text) for p in BENIGN): self.errors.append(f'{kind}: {text}')

    def _on_console(self, m):
        if m.type == 'error': self._note('console.error', f'{m.text} @ {m.location.get("url", "")}')
        else: self.console.append(f'{m.type}: {m.text}')

    def shot(self, step:str, target=None):
        "Screenshot `target` (a locator) or the page, named by step."
        path = self.artifacts/f'{self.prefix}-{step}.png'
        with contextlib.suppress(Exception):
            if target is None: self.page.screenshot(path=path)
            else: target.scroll_into_view_if_needed(timeout=5_000); target.screenshot(path=path, timeout=15_000)
        return path

    def close(self):
        (self.artifacts/f'{self.prefix}-console.log').write_text('\n'.join(self.console) + '\n')
        self.ctx.close()

    def run_all(self, timeout:float):
        "Run > Run All Cells from the menu, then wait until the kernel is idle and no cell is queued or running."
        page = self.page
        started = f'''() => [...document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputPrompt')]
                          .some(p => p.textContent.trim() !== '[ ]:')'''
        for attempt in range(5):   # the menu item stays disabled until the notebook's kernel session is ready
            page.get_by_role('menuitem', name='Run', exact=True).click()
            item = page.locator('.lm-Menu li[data-command="runmenu:run-all"]')
            item.wait_for()
            if 'lm-mod-disabled' not in (item.get_attribute('class') or ''):
                item.click()
                try: page.wait_for_function(started, timeout=10_000); break
                except Exception: pass
            else: page.keyboard.press('Escape')
            page.wait_for_timeout(2_000)
        else:
            self.shot('not-started'); pytest.fail('Run > Run All Cells did not start the notebook')
        prompts = page.locator(f'{PANEL} .jp-CodeCell .jp-InputPrompt')
        idle = page.locator(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
        deadline, calm = time.monotonic() + timeout, 0
        page.wait_for_timeout(1_000)
        while calm < 3:   # idle and nothing pending, three polls in a row
            if time.monotonic() > deadline:
                self.shot('timeout'); pytest.fail(f'Run All did not finish in {timeout:.0f}s')
            busy = idle.count() == 0 or any('*' in t for t in prompts.all_text_contents())
            calm = 0 if busy else calm + 1
            page.wait_for_timeout(1_000)

    def cell_problems(self)->list[str]:
        "Code cells that did not run, and tracebacks shown in outputs (read as textContent: cells out of view are not rendered)."
        out = []
        cells = self.page.locator(f'{PANEL} .jp-CodeCell')
        for i in range(cells.count()):
            prompt = cells.nth(i).locator('.jp-InputPrompt').text_content().strip()
            if not re.fullmatch(r'\[\d+\]:', prompt):
                src = cells.nth(i).locator('.jp-InputArea-editor').text_content()[:120]
                out.append(f'cell {i} did not run (prompt {prompt!r}): {src!r}')
        for t in self.page.locator(f'{PANEL} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_text_contents():
            if re.search(r'Traceback|^\w*(Error|Exception)\b', t, re.M): out.append(f'an error was shown: {t[-1500:]}')
        return out

    def widget(self, *has):
        "The first output area showing a widget that contains all of `has` (locators)."
        out = self.page.locator(f'{PANEL} .jp-OutputArea-output')
        for h in has: out = out.filter(has=h)
        return out.first

def seed_editor_shows_rows(s:Session)->object:
    page = s.page
    ed = s.widget(page.get_by_role('button', name='Label selected', exact=True))
    ed.wait_for(); ed.scroll_into_view_if_needed()
    rows = ed.locator('.widget-hbox').filter(has=page.locator('textarea'))
    assert rows.count() >= 1, 'the seed editor shows no rows'
    texts = [v for v in (rows.nth(i).locator('textarea').first.input_value() for i in range(rows.count())) if v.strip()]
    assert texts, 'the seed editor rows are empty'
    assert re.search(r'\d+ rows', ed.text_content()), 'no "N rows" status line under the seed editor'
    assert re.search(r'page \d+ of \d+', ed.text_content())
    assert rows.first.is_visible()
    s.shot('1-seed-editor', ed)
    return ed

def generate_reaches_100(s:Session, timeout:float=60)->object:
    page = s.page
    gen = s.widget(page.locator('.widget-hprogress'), page.get_by_role('button', name=re.compile(r'(^|\W)Run$')))   # the name starts with the icon's glyph
    gen.wait_for(); gen.scroll_into_view_if_needed()
    bar = gen.locator('.widget-hprogress .progress-bar').first
    deadline = time.monotonic() + timeout
    while bar.evaluate('b => b.style.width') != '100%' or 'done' not in gen.text_content():
        if time.monotonic() > deadline:
            s.shot('2-generate', gen)
            pytest.fail(f'the generate bar is at {bar.evaluate("b => b.style.width")}: {gen.text_content()!r}')
        page.wait_for_timeout(500)
    m = re.search(r'(\d+) of (\d+) rows kept', gen.text_content())
    assert m and int(m[1]) >= int(m[2]), gen.text_content()
    s.shot('2-generate', gen)
    return gen

def review_click_changes_state(s:Session):
    page = s.page
    rev = s.widget(page.get_by_role('button', name='Accept', exact=True))
    rev.wait_for(); rev.scroll_into_view_if_needed()
    states = rev.locator('.sk-state')
    before = states.all_text_contents()
    assert before, 'the review widget shows no rows'
    j = next((i for i, t in enumerate(before) if 'accepted' not in t), None)
    assert j is not None, f'every row shown is already accepted: {before}'
    s.shot('3-review-before', rev)
    accepted = lambda: int(re.search(r'(\d+) accepted', rev.text_content())[1])
    n0 = accepted()
    rev.get_by_role('button', name='Accept', exact=True).nth(j).click()
    try: page.wait_for_function('([el, j]) => el.querySelectorAll(".sk-state")[j]?.textContent.includes("accepted")',
                                arg=[rev.element_handle(), j], timeout=15_000)
    except Exception: pass
    after = states.all_text_contents()
    s.shot('4-review-after-accept', rev)
    assert after[j] == '✔ accepted' and before[j] != after[j], f'row {j}: {before[j]!r} -> {after[j]!r}'
    assert after[:j] + after[j+1:] == before[:j] + before[j+1:], 'other rows changed state too'
    assert accepted() == n0 + 1, f'the status line still counts {accepted()} accepted'

CHART = '.vega-embed svg, .vega-embed canvas, img[src^="data:image/svg+xml"], img[src^="data:image/png"], svg.marks'

def dashboard_draws_charts(s:Session):
    page = s.page
    dash = s.widget(page.locator('.jupyter-widget-tab'), page.get_by_role('tab', name='map', exact=True))
    dash.wait_for(); dash.scroll_into_view_if_needed()
    tabs = dash.get_by_role('tab')
    names = tabs.all_text_contents()
    assert names, 'the dashboard shows no chart tabs'
    drawn = {}
    for i, name in enumerate(names):
        tabs.nth(i).click()
        panel = dash.locator('.widget-tab-contents > .widget-output:visible')
        chart = panel.locator(CHART).first
        try: panel.locator(f'{CHART}, .error').first.wait_for(state='visible', timeout=20_000)   # a chart, or vega-embed's error
        except Exception: pass
        if not chart.is_visible():
            err = panel.locator('.error')
            drawn[name] = 'no chart: ' + (err.first.text_content() if err.count() else panel.text_content()[-300:]).strip()
        else:
            box = chart.bounding_box()
            drawn[name] = 'ok' if box and box['width'] > 50 and box['height'] > 50 else f'drawn at {box}'
        s.shot(f'5-dashboard-{i}-{re.sub(r"[^a-z0-9]+", "-", name.lower())}', dash)
    return [f'dashboard tab {k!r}: {v}' for k, v in drawn.items() if v != 'ok']

def charts_drawn_and_console_clean(s:Session):
    "Both checks reported together: a chart that cannot load its script also shows as a console error."
    problems = dashboard_draws_charts(s) + [f'JavaScript error: {e}' for e in s.errors[:20]]
    assert not problems, '\n'.join(problems)

# --- the tests ----------------------------------------------------------------------------------------------------

WIDGETS_NB = ['''import hashlib, json
import synthkit as sk''',
'''seeds = sk.load_seeds('support_requests')
editor = sk.SeedEditor(seeds, page_size=6)
editor''',
'''def writer(text):
    "A stand-in teacher: five different rows for every prompt."
    h = hashlib.sha256(text.encode()).hexdigest()
    return json.dumps([f'please help {h[i:i+6]} with my card {h[i+6:i+12]} today {h[i+12:i+18]}' for i in range(5)])
gen = sk.GenerateWidget(editor.value, sk.ScriptedTeacher(writer), n=12)
gen''',
'''batch = sk.generate(seeds, sk.ScriptedTeacher(writer), n=12)
judged = sk.judge(batch, sk.default_judges(seeds), seeds=seeds)
review = sk.ReviewWidget(judged, 'review.jsonl')
review''',
'''import altair as alt
alt.renderers.enable('svg')   # as the tutorial does: altair 6's default renderer fetches vega from a CDN, which CI cannot reach
sk.DiversityDashboard(judged, reference=seeds)''']

def _write_nb(path:Path, cells:list[str]):
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}
    nbformat.write(nb, path)

@contextlib.contextmanager
def session(browser, lab, name, prefix, artifacts):
    for old in artifacts.glob(f'{prefix}-*'): old.unlink()
    s = Session(browser, lab, name, prefix, artifacts)
    try: yield s
    except BaseException:
        s.shot('failure'); raise
    finally: s.close()

def test_widgets_in_the_browser(browser, lab, artifacts):
    "A small notebook with every widget; the generate run is started by clicking Run in the page."
    from playwright.sync_api import expect
    _write_nb(lab.root/'widgets.ipynb', WIDGETS_NB)
    with session(browser, lab, 'widgets.ipynb', 'widgets', artifacts) as s:
        s.run_all(timeout=180)
        problems = s.cell_problems()
        assert not problems, '\n'.join(problems)
        ed = seed_editor_shows_rows(s)
        first = ed.locator('textarea').first.input_value()
        ed.get_by_role('button', name='Next ▶').click()   # the pager pages
        expect(ed).to_contain_text(re.compile(r'page 2 of \d+'))
        expect(ed.locator('textarea').first).not_to_have_value(first)
        gen = s.widget(s.page.locator('.widget-hprogress'))
        assert '0 of 12 rows kept' in gen.text_content()
        gen.get_by_role('button', name=re.compile(r'(^|\W)Run$')).click()
        generate_reaches_100(s)
        review_click_changes_state(s)
        charts_drawn_and_console_clean(s)

def test_tutorial_in_the_browser(browser, lab, artifacts):
    "The end-to-end tutorial, run top to bottom in JupyterLab as a workshop attendee would."
    assert TUTORIAL.exists(), f'{TUTORIAL} is missing'
    (lab.root/'tutorials').mkdir(exist_ok=True)
    shutil.copy(TUTORIAL, lab.root/'tutorials'/TUTORIAL.name)   # a copy: saving in the browser must not touch the repo
    with session(browser, lab, f'tutorials/{TUTORIAL.name}', 'tutorial', artifacts) as s:
        s.shot('0-opened')
        s.run_all(timeout=TUTORIAL_TIMEOUT)
        problems = s.cell_problems()
        assert not problems, '\n'.join(problems)
        seed_editor_shows_rows(s)
        generate_reaches_100(s)
        review_click_changes_state(s)
        charts_drawn_and_console_clean(s)

# --- the pair review (issue 16): click A on a pair, see the pick in the page and in the journal --------------------

PAIRS_NB = ['''import polars as pl
import synthkit as sk''',
'''pairs = pl.DataFrame({'prompt': ['Say hi to <b>Ann</b>.', 'Name a tree.'],
                      'chosen': ['Hello, Ann! <script>document.title = "pwned"</script>', 'An oak.'],
                      'rejected': ['hey.', 'tree'], 'preferences': [3.0, 2.0]})
review = sk.PairReview(pairs, 'pairs.jsonl')
review''']

def pair_click_a_is_saved(s:Session, journal:Path, answers:dict):
    "Click A on the first pair: the journal gets a line saying which answer was on the left, and the page moves on."
    from playwright.sync_api import expect
    page = s.page
    rev = s.widget(page.get_by_role('button', name='both bad', exact=True))
    rev.wait_for(); rev.scroll_into_view_if_needed()
    cards = rev.locator('.sk-card')
    expect(cards.nth(0)).to_contain_text('pair 1 of 2')
    assert rev.locator('.sk-state').all_text_contents()[1:] == ['A', 'B']
    left_text = cards.nth(1).text_content()
    assert '0 decided' in rev.text_content() and not journal.exists()
    s.shot('1-before', rev)
    rev.get_by_role('button', name='A', exact=True).click()
    expect(rev).to_contain_text('1 decided (A 1 · B 0 · tie 0 · both bad 0) · 1 to go')
    expect(cards.nth(0)).to_contain_text('pair 2 of 2')            # on to the pair still to decide
    s.shot('2-after-a', rev)
    (d,) = [json.loads(l) for l in journal.read_text().splitlines()]
    assert (d['decision'], d['pick']) == ('A', d['left']) and {d['left'], d['right']} == {'chosen', 'rejected'}
    assert answers[d['left']][0] in left_text, f'the journal says {d["left"]} was on the left; the page showed {left_text!r}'
    rev.get_by_role('button', name='◀ Back').click()
    expect(cards.nth(1)).to_contain_text('A ✔ better')
    assert '✔' not in cards.nth(2).text_content()
    assert page.title() != 'pwned' and ('<script>' in cards.nth(1).text_content() + cards.nth(2).text_content())
    s.shot('3-back', rev)

def test_pair_review_in_the_browser(browser, lab, artifacts):
    "Issue 16: a pair of answers side by side in JupyterLab; clicking A saves the pick with its positions at once."
    _write_nb(lab.root/'pairs.ipynb', PAIRS_NB)
    journal = lab.root/'pairs.jsonl'
    journal.unlink(missing_ok=True)
    answers = {'chosen': ['Hello, Ann!', 'An oak.'], 'rejected': ['hey.', 'tree']}
    with session(browser, lab, 'pairs.ipynb', 'pairs', artifacts) as s:
        s.run_all(timeout=120)
        problems = s.cell_problems()
        assert not problems, '\n'.join(problems)
        pair_click_a_is_saved(s, journal, answers)

# --- the design preview: edit a template in the page, re-run, see the new text ----------------------------------

DESIGN_NB = ['''import synthkit as sk
def echo(text):
    "A stand-in teacher: the prompt back, marked."
    return 'written: ' + text
d = sk.Design(sk.ScriptedTeacher(echo)).category('persona', ['student', 'retiree'])
d.llm('message', 'A {{persona}} writes to the bank.').llm('reply', 'Reply to: {{message}}')
d.llm('subject', 'A subject line for: {{persona}}')
sk.DesignPreview(d, n=3)''']

def design_preview_reruns(s:Session, column:str, old:str, new:str, shows:str)->tuple[str, int]:
    "In the design preview, pick `column`, replace its template `old` by `new`, click Re-run column; the cards show `shows`. Returns (the columns re-run, the calls paid)."
    from playwright.sync_api import expect
    page = s.page
    pv = s.widget(page.get_by_role('button', name='Re-run column', exact=True))
    pv.wait_for(); pv.scroll_into_view_if_needed()
    cards, status = pv.locator('.sk-card'), pv.locator('.sk-design-status')
    assert cards.count() == 3, f'the preview shows {cards.count()} cards'
    assert shows not in pv.text_content()
    before = status.text_content()
    pv.locator('select').select_option(column)
    box = pv.locator('textarea')
    expect(box).to_have_value(old)            # the kernel put the picked column's template in the box
    box.fill(new)
    s.shot(f'{column}-edited', pv)
    pv.get_by_role('button', name='Re-run column', exact=True).click()
    expect(status).not_to_have_text(before, timeout=30_000)
    for i in range(3): expect(cards.nth(i)).to_contain_text(shows)
    s.shot(f'{column}-rerun', pv)
    m = re.search(r'ran ([\w, ]+) on 3 rows: (\d+) calls paid', status.text_content())
    assert m, status.text_content()
    return m[1], int(m[2])

def test_design_preview_in_the_browser(browser, lab, artifacts):
    "Edit a model column's template in JupyterLab, re-run it: the cards show the new text, only it and what reads it paid."
    _write_nb(lab.root/'design.ipynb', DESIGN_NB)
    with session(browser, lab, 'design.ipynb', 'design', artifacts) as s:
        s.run_all(timeout=120)
        problems = s.cell_problems()
        assert not problems, '\n'.join(problems)
        ran, paid = design_preview_reruns(s, 'message', 'A {{persona}} writes to the bank.',
                                          'A {{persona}} writes, in a hurry, to the bank.', 'in a hurry')
        assert (ran, paid) == ('message, reply', 6), (ran, paid)      # the message and the reply to it; not the subject
        ran, paid = design_preview_reruns(s, 'subject', 'A subject line for: {{persona}}',
                                          'A short subject line for: {{persona}}', 'written: A short subject')
        assert (ran, paid) == ('subject', 3), (ran, paid)
        assert not s.errors, '\n'.join(s.errors[:20])
