"PII with Microsoft Presidio: real presidio on a spaCy pipeline built here (no model download), with the network blocked."
import socket
import polars as pl, pytest
import synthkit as sk
from synthkit.core import JudgeError

spacy = pytest.importorskip('spacy'); pytest.importorskip('presidio_analyzer')
WALLET = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT'   # a well-formed Bitcoin address (presidio checks it), which synthkit's own patterns do not cover

@pytest.fixture
def offline(monkeypatch):
    def refuse(*a, **k): raise OSError('network use in a test')
    monkeypatch.setattr(socket, 'getaddrinfo', refuse); monkeypatch.setattr(socket.socket, 'connect', refuse)

@pytest.fixture(scope='module')
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp('spacy') / 'blank_en'
    spacy.blank('en').to_disk(path)               # tokenizer only: presidio's pattern recognizers still run
    engine = sk.presidio_engine(str(path))
    engine.model_path = str(path)
    return engine

def test_presidio_adds_what_patterns_miss(engine, offline):
    rows = pl.DataFrame({'text': [f'Send the refund to my wallet {WALLET} please, or mail ana@example.com', 'Nothing personal here at all.']})
    plain = sk.judge(rows, [sk.PII(policy='redact')])
    assert WALLET in plain['text'][0] and '[EMAIL]' in plain['text'][0]
    both = sk.judge(rows, [sk.PII(policy='redact', use_presidio=engine)])
    assert WALLET not in both['text'][0] and '[CRYPTO]' in both['text'][0] and '[EMAIL]' in both['text'][0]
    assert both['text'][1] == 'Nothing personal here at all.' and both['keep'].all()
    kinds = [k for k, *_ in sk.find_pii(rows['text'][0], engine)]
    assert kinds.count('EMAIL') == 1 and 'CRYPTO' in kinds           # overlaps resolved: the email is found once

def test_engine_is_built_once(engine):
    assert sk.presidio_engine(engine.model_path) is engine   # loading spaCy per row would take minutes on a batch

def test_missing_model_is_a_clear_error_not_a_download(offline):
    if spacy.util.is_package('en_core_web_lg'): pytest.skip('en_core_web_lg is installed here')
    with pytest.raises(JudgeError, match='python -m spacy download en_core_web_lg'):
        sk.PII(use_presidio=True)
    with pytest.raises(JudgeError, match='not installed'):
        sk.presidio_engine('/nowhere/no_such_model')
