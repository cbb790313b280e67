"""load_documents on real files made in tmp_path: hand-built PDFs parsed by pypdf, an encrypted PDF from pypdf's writer,
HTML with scripts and styles, markdown with headings, and every kind of bad file."""
import re, shutil, warnings
from pathlib import Path
import polars as pl
import pytest
from pdf_files import encrypt_pdf, pdf_bytes, write_pdf
from synthkit.documents import (DocumentError, DocumentWarning, chunk_document, example_documents, load_documents,
                                read_document, _TOKEN)
import synthkit as sk

PROSE = ('Larkfield keeps fees simple. ' * 3 + 'An arranged overdraft costs 11.9% a year. '
         'Cash withdrawals abroad cost 2 EUR each after the first three in a month. ') * 6

def spans_match(chunks:pl.DataFrame, docs:dict[str, str]):
    for r in chunks.iter_rows(named=True):
        assert docs[r['doc_id']][r['span']['start']:r['span']['end']] == r['text']

@pytest.fixture
def folder(tmp_path):
    d = tmp_path/'docs'; (d/'help').mkdir(parents=True)
    (d/'fees.md').write_text(f'# Fees\n\nIntro line.\n\n## Cards\n\n{PROSE}\n\n## Abroad\n\nCash costs 2 EUR.\n')
    (d/'help'/'page.html').write_text(
        '<html><head><title>Help</title><style>.x{color:red}</style><script>var secret = 1;</script></head><body>'
        '<h1>Lost card</h1><p>Freeze it in the app.</p><script>track("x")</script><h3>Replacement</h3>'
        '<p>It costs 7&nbsp;EUR &amp; arrives in 5 days.</p></body></html>')
    write_pdf(d/'terms.pdf', [['Savings terms', 'The Easy Saver pays 2.1% a year.'],
                              ['Fixed Saver', 'The Fixed Saver pays 3.2% a year.']])
    (d/'plain.txt').write_text(PROSE)
    return d

def test_pdf_pages_are_sections(tmp_path):
    p = write_pdf(tmp_path/'a.pdf', [['First page text.'], [], ['Third page (with parens) text.']])
    doc = read_document(p)
    assert [(h, pg) for _, _, h, pg in doc.sections] == [('page 1', 1), ('page 3', 3)]   # the empty page is left out
    assert 'Third page (with parens) text.' in doc.text
    chunks = chunk_document(doc, chunk=200, overlap=20)
    assert chunks['page'].to_list() == [1, 3] and chunks['heading'].to_list() == ['page 1', 'page 3']
    spans_match(chunks, {doc.doc_id: doc.text})

def test_pdf_outline_gives_headings(tmp_path):
    p = write_pdf(tmp_path/'b.pdf', [['Intro.'], ['More.'], ['Rates.']], outline={0: 'Welcome', 2: 'Rates'})
    assert [h for _, _, h, _ in read_document(p).sections] == ['Welcome', 'Welcome', 'Rates']

def test_encrypted_pdf(tmp_path):
    src = write_pdf(tmp_path/'open.pdf', [['Secret fee table.']])
    locked = encrypt_pdf(src, tmp_path/'locked.pdf')
    with pytest.raises(DocumentError, match=r'locked\.pdf: is an encrypted PDF that needs a password; .*decrypt'):
        read_document(locked)
    readable = encrypt_pdf(src, tmp_path/'owner.pdf', owner_only=True)   # an owner password only: anyone may read
    assert read_document(readable).text == read_document(src).text

@pytest.mark.parametrize('data,msg', [(b'%PDF-1.4\ngarbage', 'is not a readable PDF'), (b'', 'is not a readable PDF'),
                                      (pdf_bytes([['Cut short here.']])[:200], 'is not a readable PDF')])
def test_unreadable_pdf(tmp_path, data, msg):
    (tmp_path/'bad.pdf').write_bytes(data)
    with pytest.raises(DocumentError, match=msg) as e: read_document(tmp_path/'bad.pdf')
    assert 'bad.pdf' in str(e.value) and e.value.fix

def test_scanned_pdf_has_no_text(tmp_path):
    with pytest.raises(DocumentError, match='no text layer.*OCR'): read_document(write_pdf(tmp_path/'s.pdf', [[], []]))

def test_html_text_only(folder):
    doc = read_document(folder/'help'/'page.html')
    assert doc.text == '# Lost card\n\nFreeze it in the app.\n\n### Replacement\n\nIt costs 7 EUR & arrives in 5 days.\n'
    assert not re.search('secret|track|color|Help', doc.text)
    assert [h for _, h, _ in doc.marks] == ['Lost card', 'Lost card > Replacement']

def test_markdown_headings_stay_with_their_text(folder):
    doc = read_document(folder/'fees.md')
    chunks = chunk_document(doc, chunk=150, overlap=20)
    spans_match(chunks, {doc.doc_id: doc.text})
    first = chunks.group_by('heading', maintain_order=True).first()
    assert first['heading'].to_list() == ['Fees', 'Fees > Cards', 'Fees > Abroad']
    assert [t.split('\n')[0] for t in first['text']] == ['# Fees', '## Cards', '## Abroad']
    for r in chunks.iter_rows(named=True):      # a chunk never crosses into the next section
        assert r['text'].count('\n#') == 0

def test_char_chunks_overlap_and_words(folder):
    doc = read_document(folder/'plain.txt')
    chunks = chunk_document(doc, chunk=120, overlap=30)
    spans_match(chunks, {doc.doc_id: doc.text})
    longest = max(map(len, doc.text.split()))
    spans = [(r['start'], r['end']) for r in chunks['span']]
    assert all(e - s <= 120 for s, e in spans) and len(spans) > 5
    for (s, e), (s2, e2) in zip(spans, spans[1:]):
        assert 30 <= e - s2 <= 30 + longest             # at least the overlap asked, at most one word more
        assert doc.text[s2-1].isspace() and not doc.text[s2].isspace()          # starts on a word
    for s, e in spans:                                  # ends on a word
        assert e == len(doc.text.rstrip()) or doc.text[e].isspace() or doc.text[e-1] in '.!?'
    assert spans[0][0] == 0 and spans[-1][1] == len(doc.text.rstrip())          # nothing lost at either end

def test_token_chunks_overlap_exactly(folder):
    doc = read_document(folder/'plain.txt')
    chunks = chunk_document(doc, chunk=40, overlap=8, by='tokens')
    spans_match(chunks, {doc.doc_id: doc.text})
    toks = [m.span() for m in _TOKEN.finditer(doc.text)]
    index = {s: i for i, (s, _) in enumerate(toks)}
    ends = {e: i for i, (_, e) in enumerate(toks)}
    bounds = [(index[r['start']], ends[r['end']] + 1) for r in chunks['span']]
    assert all(j - i <= 40 for i, j in bounds)
    assert all(j - i2 == 8 for (_, j), (i2, _) in zip(bounds, bounds[1:]))
    assert bounds[0][0] == 0 and bounds[-1][1] == len(toks)

def test_one_long_word_is_cut(tmp_path):
    (tmp_path/'w.txt').write_text('x' * 50 + ' tail')
    chunks = load_documents(tmp_path/'w.txt', chunk=20, overlap=5)
    assert chunks['text'][0] == 'x' * 20 and chunks['text'].str.len_chars().max() <= 20

def test_ids_stable_across_runs_and_paths(folder, tmp_path):
    a = load_documents(folder, chunk=100, overlap=10)
    moved = shutil.copytree(folder, tmp_path/'elsewhere'/'copy')
    b = load_documents(moved, chunk=100, overlap=10)
    assert a.drop('source').equals(b.drop('source')) and a['id'].n_unique() == len(a)
    assert load_documents(folder, chunk=100, overlap=10).equals(a)
    assert [Path(s).relative_to(folder).as_posix() for s in a['source'].unique(maintain_order=True)] == \
           ['fees.md', 'help/page.html', 'plain.txt', 'terms.pdf']                      # sorted, recursive

def test_bad_files_in_a_folder_are_skipped(folder):
    good = load_documents(folder, chunk=100, overlap=10)
    (folder/'empty.txt').write_text('')
    (folder/'blank.md').write_text('\n  \n')
    (folder/'image.txt').write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00')
    (folder/'latin.md').write_bytes('# Caf\xe9\n'.encode('latin-1'))
    encrypt_pdf(folder/'terms.pdf', folder/'help'/'locked.pdf')
    (folder/'help'/'broken.pdf').write_bytes(b'%PDF-1.7\n1 0 obj')
    (folder/'slides.pptx').write_bytes(b'PK'); (folder/'.hidden.txt').write_text('not read')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        got = load_documents(folder, chunk=100, overlap=10)
    assert got.drop('source').equals(good.drop('source'))     # every chunk of the good files is there
    assert len(caught) == 1 and caught[0].category is DocumentWarning
    msg = str(caught[0].message)
    assert 'skipped 6 of 10 documents' in msg and 'passed over 1 files of other types (.pptx 1)' in msg
    for name, why in [('empty.txt', 'is empty'), ('blank.md', 'is empty'), ('image.txt', 'NUL bytes'),
                      ('latin.md', 'not UTF-8'), ('locked.pdf', 'needs a password'), ('broken.pdf', 'not a readable PDF')]:
        assert re.search(re.escape(name) + r'[^;]*?' + why, msg), (name, msg)

def test_a_folder_with_no_documents(tmp_path):
    (tmp_path/'a.docx').write_bytes(b'PK'); (tmp_path/'.notes.md').write_text('# hidden')
    with pytest.raises(DocumentError, match=r'no documents to read \(no \.txt, \.md, \.html or \.pdf files\)'):
        load_documents(tmp_path)
    (tmp_path/'b.txt').write_bytes(b'\x00\x01')
    with pytest.raises(DocumentError, match=r'1 could not be read: .*b\.txt: is a binary file'):
        load_documents(tmp_path)

def test_single_bad_files_and_arguments(tmp_path):
    with pytest.raises(DocumentError, match='no such file or folder'): load_documents(tmp_path/'missing.md')
    (tmp_path/'n.rtf').write_text('{\\rtf1 hi}')
    with pytest.raises(DocumentError, match=r'n\.rtf: has an extension synthkit does not read.*use one of \.txt'):
        read_document(tmp_path/'n.rtf')
    (tmp_path/'ok.txt').write_text('Fine text.')
    with pytest.raises(DocumentError, match='below chunk=10'): load_documents(tmp_path/'ok.txt', chunk=10, overlap=10)
    with pytest.raises(DocumentError, match='by="chars" or by="tokens"'): load_documents(tmp_path/'ok.txt', by='words')

def test_duplicates_and_lists(folder):
    shutil.copy(folder/'plain.txt', folder/'help'/'again.txt')
    chunks = load_documents([folder/'plain.txt', folder/'help'/'again.txt', folder/'fees.md'], chunk=100, overlap=10)
    assert chunks['doc_id'].n_unique() == 2 and chunks['id'].n_unique() == len(chunks)

def test_utf16_and_crlf(tmp_path):
    (tmp_path/'w.txt').write_bytes('Caf\u00e9 fees.\r\nSecond line.'.encode('utf-16'))
    doc = read_document(tmp_path/'w.txt')
    assert doc.text == 'Caf\u00e9 fees.\nSecond line.'

def test_examples_and_package_names():
    chunks = sk.load_documents(sk.example_documents, chunk=400, overlap=50)
    assert chunks.columns == ['id', 'doc_id', 'chunk', 'text', 'span', 'heading', 'page', 'source']
    docs = {read_document(s).doc_id: read_document(s).text for s in chunks['source'].unique()}
    spans_match(chunks, docs)
    assert set(chunks.filter(pl.col('page').is_not_null())['heading']) == {'Easy Saver', 'Fixed Saver'}
