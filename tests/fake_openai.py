"""A small fake of the OpenAI API on 127.0.0.1, for what a real local server cannot show.

POST /v1/chat/completions, POST /v1/completions (with `n` choices; `n_choices=False` ignores `n`, as llama.cpp's server
does), GET /v1/models, and the Batch API: POST /v1/files (multipart upload), GET /v1/files/{id}/content, POST /v1/batches,
GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. A batch's lines go through the same completion handler when it is
first retrieved after `hold` is cleared; its output file lists them in reverse order (the join must use `custom_id`). With OpenAI's rate-limit headers
(`x-ratelimit-limit-requests`, `-remaining-requests`, `-limit-tokens`, `-remaining-tokens`, and `-reset-*` as OpenAI
writes them, "1m2.5s" or "120ms", consistent with a limit refilled evenly over a minute; `headers=False` leaves them out,
as a local server does; `announce={...}` sends those headers instead) and scripted faults by the index of the completion
request:

    FakeOpenAI(script={0: {'status': 429, 'retry_after': 1}, 3: 500, 5: 'drop'})

Errors have OpenAI's shape: {"error": {"message", "type", "code"}}. A model not in `models` is a 404 (model_not_found),
a prompt longer than `context` tokens a 400 (context_length_exceeded), a key not in `keys` a 401; `any_model=True` answers
any name, as llama.cpp's server does. Tokens are words. `record=False` keeps no copy of each request (for long benchmarks:
`requests` stays empty, `answered` counts bodies by hash)."""
import email.parser, email.policy, itertools, json, random, threading, time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def words(text) -> int: return len(str(text).split())

def duration(seconds: float) -> str:
    "A reset time as OpenAI writes it: '120ms', '1s', '6m0s', '1m2.5s'."
    if seconds < 1: return f'{round(seconds * 1000)}ms'
    m, s = divmod(seconds, 60)
    return (f'{int(m)}m' if m else '') + f'{round(s, 3):g}s'

def said(content) -> str:
    "A message's content as text (a string or a list of text parts)."
    if isinstance(content, str): return content
    return ' '.join(p.get('text', '') for p in content or [] if isinstance(p, dict))

def default_reply(body: dict) -> str:
    "Echo the last user turn (chat) or the prompt's last line (completion); a JSON object when JSON is asked for."
    if body.get('response_format', {}).get('type') in ('json_object', 'json_schema'): return json.dumps({'score': 4, 'reason': 'fits'})
    if 'messages' in body:
        user = [said(m.get('content')) for m in body['messages'] if m.get('role') == 'user']
        return f'reply to: {user[-1] if user else ""}'
    return f' continued: {str(body.get("prompt", "")).splitlines()[-1] if body.get("prompt") else ""}'

class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_GET(self): self.server.fake.handle(self, 'GET')
    def do_POST(self): self.server.fake.handle(self, 'POST')

class _Server(ThreadingHTTPServer):
    daemon_threads, allow_reuse_address = True, True
    request_queue_size = 256      # the default 5 refuses a burst of 32 new connections when the machine is busy
    def handle_error(self, request, client_address): pass   # clients hanging up are normal here

class FakeOpenAI:
    "The fake server: `with FakeOpenAI() as fake: OpenAITeacher(base_url=fake.url, ...)`."
    def __init__(self, models=('gpt-test', 'gpt-5.4-mini'), # the models it serves
                 reply=default_reply,     # reply(body) -> the answer's text
                 headers=True,            # send x-ratelimit-* headers
                 rpm=600, tpm=200_000,    # the limits the headers announce (and that a 429 enforces when `enforce`)
                 enforce=False,           # answer 429 when a request would pass the limits of the last minute
                 script=None,             # {n: status | {'status', 'retry_after', 'retry_after_ms', 'code'} | 'drop'}
                 keys=None,               # accepted API keys (None: any)
                 context=4096,            # most prompt + max_tokens, in words
                 latency=0.0,             # seconds before each completion reply
                 n_choices=True,          # honour `n` (several choices in one reply); False answers one, as llama.cpp
                 hold=False,              # batches stay in_progress while True
                 window_s=60.0,           # the limits hold over this many seconds (rpm * window_s / 60 requests per window)
                 bucket=False,            # enforce as token buckets holding `window_s` of the limits, refilled continuously
                 p_500=0.0, p_drop=0.0,   # random faults per completion request (500, a dropped connection), seeded
                 seed=0,
                 any_model=False,         # answer any model name (llama.cpp's server does), still listing `models`
                 announce=None,           # rate-limit headers to send in place of the computed ones
                 record=True):            # keep each request in `requests` (False: for long benchmarks)
        self.models, self.reply, self.headers, self.rpm, self.tpm = list(models), reply, headers, rpm, tpm
        self.enforce, self.script, self.keys, self.context, self.latency = enforce, dict(script or {}), keys, context, latency
        self.requests, self.statuses, self.answered = [], Counter(), Counter()
        self.window, self.lock, self.n, self.in_flight, self.max_in_flight = deque(), threading.Lock(), 0, 0, 0
        self.n_choices, self.hold, self.files, self.batches, self.ids = n_choices, hold, {}, {}, itertools.count()
        self.window_s, self.p_500, self.p_drop, self.rng = window_s, p_500, p_drop, random.Random(seed)
        self.bucket, self.levels, self.filled = bucket, [rpm * window_s / 60, tpm * window_s / 60], time.time()
        self.any_model, self.announce, self.record = any_model, announce, record

    def __enter__(self):
        self.server = _Server(('127.0.0.1', 0), _Handler)
        self.server.fake = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown(); self.server.server_close()

    @property
    def url(self) -> str: return f'http://127.0.0.1:{self.server.server_address[1]}/v1'

    def paid(self) -> int: return sum(self.answered.values())
    def duplicates(self) -> dict: return {k: v for k, v in self.answered.items() if v > 1}

    def refill(self, now: float):
        "Token buckets: refill at the per-minute limits, up to `window_s` of them."
        share, dt = self.window_s / 60, now - self.filled
        self.levels = [min(cap * share, lv + cap / 60 * dt) for cap, lv in zip((self.rpm, self.tpm), self.levels)]
        self.filled = now

    def limits(self, now: float) -> dict:
        "The rate-limit headers after the requests of the last minute (or the bucket's state)."
        if not self.headers: return {}
        if self.announce is not None: return dict(self.announce)
        share = self.window_s / 60
        if self.bucket:
            self.refill(now)
            left_r, left_t = self.levels
        else:
            while self.window and self.window[0][0] < now - self.window_s: self.window.popleft()
            left_r, left_t = self.rpm * share - len(self.window), self.tpm * share - sum(t for _, t in self.window)
        rem_r, rem_t = max(0, int(left_r / share)), max(0, int(left_t / share))
        return {'x-ratelimit-limit-requests': str(self.rpm), 'x-ratelimit-remaining-requests': str(rem_r),
                'x-ratelimit-limit-tokens': str(self.tpm), 'x-ratelimit-remaining-tokens': str(rem_t),
                'x-ratelimit-reset-requests': duration((self.rpm - rem_r) * 60 / self.rpm),
                'x-ratelimit-reset-tokens': duration((self.tpm - rem_t) * 60 / self.tpm)}

    def send(self, h, status: int, body: dict, extra: dict | None = None):
        data = json.dumps(body).encode()
        with self.lock: self.statuses[status] += 1
        h.send_response(status)
        for k, v in ({'content-type': 'application/json', 'content-length': str(len(data))} | (extra or {})).items(): h.send_header(k, v)
        h.end_headers(); h.wfile.write(data)

    def error(self, h, status: int, message: str, code: str | None = None, extra: dict | None = None):
        kind = {400: 'invalid_request_error', 401: 'invalid_request_error', 404: 'invalid_request_error', 429: 'requests'}
        self.send(h, status, {'error': {'message': message, 'type': kind.get(status, 'server_error'), 'code': code}}, extra)

    def handle(self, h, method: str):
        n = int(h.headers.get('content-length') or 0)
        raw = h.rfile.read(n) if n else b''
        multipart = h.headers.get('content-type', '').startswith('multipart/')
        body = {} if multipart or not raw else json.loads(raw)
        path = h.path.split('?')[0]
        rec = {'method': method, 'path': path, 'headers': {k.lower(): v for k, v in h.headers.items()}, 'body': body}
        if self.record:
            with self.lock: self.requests.append(rec)
        key = rec['headers'].get('authorization', '').removeprefix('Bearer ')
        if self.keys is not None and key not in self.keys:
            return self.error(h, 401, 'Incorrect API key provided.', 'invalid_api_key')
        if method == 'GET' and path == '/v1/models':
            return self.send(h, 200, {'object': 'list', 'data': [{'id': m, 'object': 'model', 'owned_by': 'fake'} for m in self.models]})
        if method == 'POST' and path in ('/v1/chat/completions', '/v1/completions'): return self.complete(h, path, body)
        if path.startswith(('/v1/files', '/v1/batches')): return self.batch_api(h, method, path, body, raw)
        self.error(h, 404, f'no route {method} {path}')

    def fault(self, h, n: int) -> bool:
        "Answer the scripted fault of request `n`, if it has one."
        f = self.script.get(n)
        if f is None and (self.p_500 or self.p_drop):
            with self.lock: x = self.rng.random()
            f = 'drop' if x < self.p_drop else 500 if x < self.p_drop + self.p_500 else None
        if f is None: return False
        if f == 'drop': h.close_connection = True; h.connection.close(); return True
        f = {'status': f} if isinstance(f, int) else f
        extra = {'retry-after': str(f['retry_after'])} if 'retry_after' in f else {}
        if 'retry_after_ms' in f: extra['retry-after-ms'] = str(f['retry_after_ms'])
        st = f['status']
        msg = {429: 'Rate limit reached for requests', 401: 'Incorrect API key provided.', 500: 'The server had an error'}
        self.error(h, st, f.get('message', msg.get(st, f'error {st}')), f.get('code'), extra | self.limits(time.time()))
        return True

    def complete(self, h, path: str, body: dict):
        with self.lock: n, self.n = self.n, self.n + 1
        if self.fault(h, n): return
        with self.lock: self.in_flight += 1; self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency: time.sleep(self.latency)
            status, payload, extra = self.result(path, body)
        finally:
            with self.lock: self.in_flight -= 1
        self.send(h, status, payload, extra)

    def failure(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        kind = {400: 'invalid_request_error', 401: 'invalid_request_error', 404: 'invalid_request_error', 429: 'requests'}
        return status, {'error': {'message': message, 'type': kind.get(status, 'server_error'), 'code': code}}, extra or {}

    def result(self, path: str, body: dict):
        "(status, body, headers) of one completion request (over HTTP, or a batch's line)."
        if body.get('model') not in self.models and not self.any_model:
            return self.failure(404, f'The model `{body.get("model")}` does not exist or you do not have access to it.', 'model_not_found')
        chat = path.endswith('chat/completions')
        prompt = ' '.join(said(m.get('content')) for m in body.get('messages', [])) if chat else str(body.get('prompt', ''))
        most = body.get('max_completion_tokens') or body.get('max_tokens') or 16
        p = words(prompt)
        if p + most > self.context:
            return self.failure(400, f"This model's maximum context length is {self.context} tokens. However, you requested "
                                     f'{p + most} tokens ({p} in the messages, {most} in the completion).', 'context_length_exceeded')
        now = time.time()
        with self.lock:
            limits = self.limits(now)
            refused = self.take(now, p + most)
            if refused: return self.failure(429, 'Rate limit reached', None, refused | limits)
            limits = self.limits(now)
        return 200, self.answer(body, chat, p, most), limits

    def take(self, now: float, tokens: int) -> dict | None:
        "Count one request of `tokens` against the limits (under the lock); the retry headers of a 429 when over them."
        share = self.window_s / 60
        if self.bucket:
            if self.enforce and (self.levels[0] < 1 or self.levels[1] < tokens):
                wait = max((1 - self.levels[0]) * 60 / self.rpm, (tokens - self.levels[1]) * 60 / self.tpm, 0.001)
                return {'retry-after-ms': str(int(wait * 1000))}
            self.levels = [self.levels[0] - 1, self.levels[1] - tokens]
            return None
        if self.enforce and (len(self.window) + 1 > self.rpm * share
                             or sum(t for _, t in self.window) + tokens > self.tpm * share):
            return {'retry-after': '1'}
        self.window.append((now, tokens))
        return None

    def answer(self, body: dict, chat: bool, p: int, most: int) -> dict:
        choices, used = [], 0
        for i in range(max(1, int(body.get('n') or 1)) if self.n_choices else 1):
            text, finish = self.reply(body) + (f' [choice {i}]' if i else ''), 'stop'
            for s in body.get('stop') or []:
                if s in text: text = text[:text.index(s)]
            if words(text) > most: text, finish = ' '.join(text.split()[:most]), 'length'
            choice = {'index': i, 'finish_reason': finish, 'logprobs': None}
            choices.append(choice | ({'message': {'role': 'assistant', 'content': text}} if chat else {'text': text}))
            used += words(text)
        key = json.dumps(body, sort_keys=True)
        with self.lock: self.answered[key if self.record else hash(key)] += 1
        return {'id': f'cmpl-{self.n}', 'object': 'chat.completion' if chat else 'text_completion', 'created': int(time.time()),
                'model': body['model'], 'choices': choices,
                'usage': {'prompt_tokens': p, 'completion_tokens': used, 'total_tokens': p + used}}

    # The Batch API: files and batches

    def upload(self, h, raw: bytes) -> dict:
        "A multipart upload, kept as a file."
        head = f'Content-Type: {h.headers.get("content-type")}\r\n\r\n'.encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        fields = {p.get_param('name', header='content-disposition'): p for p in msg.iter_parts()}
        f = fields['file']
        return self.new_file(f.get_payload(decode=True), f.get_filename() or 'upload.jsonl',
                             fields['purpose'].get_payload(decode=True).decode())

    def new_file(self, data: bytes, name: str, purpose: str) -> dict:
        fid = f'file-{next(self.ids)}'
        self.files[fid] = {'id': fid, 'object': 'file', 'bytes': len(data), 'created_at': int(time.time()), 'filename': name,
                           'purpose': purpose, 'status': 'processed', 'data': data}
        return {k: v for k, v in self.files[fid].items() if k != 'data'}

    def batch_api(self, h, method: str, path: str, body: dict, raw: bytes):
        parts = path.strip('/').split('/')        # v1, files|batches, id, content|cancel
        if method == 'POST' and path == '/v1/files': return self.send(h, 200, self.upload(h, raw))
        if method == 'GET' and len(parts) == 4 and parts[1] == 'files' and parts[3] == 'content' and parts[2] in self.files:
            data = self.files[parts[2]]['data']
            h.send_response(200); h.send_header('content-type', 'application/octet-stream'); h.send_header('content-length', str(len(data)))
            h.end_headers(); h.wfile.write(data); return
        if method == 'POST' and path == '/v1/batches':
            if body.get('input_file_id') not in self.files: return self.error(h, 400, 'no such input file')
            bid = f'batch_{next(self.ids)}'
            self.batches[bid] = {'id': bid, 'object': 'batch', 'endpoint': body['endpoint'], 'input_file_id': body['input_file_id'],
                                 'completion_window': body['completion_window'], 'status': 'in_progress', 'created_at': int(time.time()),
                                 'output_file_id': None, 'error_file_id': None, 'metadata': body.get('metadata'),
                                 'request_counts': {'total': self.files[body['input_file_id']]['data'].count(b'\n'), 'completed': 0, 'failed': 0}}
            return self.send(h, 200, self.batches[bid])
        if len(parts) >= 3 and parts[1] == 'batches' and parts[2] in self.batches:
            b = self.batches[parts[2]]
            if method == 'POST' and parts[-1] == 'cancel' and b['status'] == 'in_progress': b['status'] = 'cancelled'
            elif method == 'GET' and b['status'] == 'in_progress' and not self.hold: self.run_batch(b)
            return self.send(h, 200, b)
        self.error(h, 404, f'no route {method} {path}')

    def run_batch(self, b: dict):
        "Answer every line of a batch's input file; write the output and error files."
        out, err = [], []
        for line in self.files[b['input_file_id']]['data'].splitlines():
            if not line.strip(): continue
            req = json.loads(line)
            with self.lock: n, self.n = self.n, self.n + 1
            f = self.script.get(n)
            status, payload, _ = self.result(req['url'], req['body']) if f is None else self.failure(f if isinstance(f, int) else 500, 'scripted')
            row = {'id': f'batch_req_{n}', 'custom_id': req['custom_id'],
                   'response': {'status_code': status, 'request_id': f'req_{n}', 'body': payload}, 'error': None}
            (out if status == 200 else err).append(json.dumps(row))
        for name, rows in (('output_file_id', out[::-1]), ('error_file_id', err)):
            if rows: b[name] = self.new_file(('\n'.join(rows) + '\n').encode(), f'{b["id"]}_{name}.jsonl', 'batch_output')['id']
        b['status'], b['request_counts'] = 'completed', {'total': len(out) + len(err), 'completed': len(out), 'failed': len(err)}
