"SeedEditor driven headlessly through its widgets, the way clicks and typing reach it in a browser."
import polars as pl
import datetime, pytest
import synthkit as sk
from synthkit.core import SeedError

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)

def rows_on_page(ed): return ed.w_rows.children

def text_box(row): return row.children[2]           # [select, index, text, label, delete]
def label_box(row): return row.children[3]
def delete_button(row): return row.children[-1]

@pytest.fixture
def ed(): return sk.SeedEditor('support_requests', page_size=4)

def test_pages_and_pager(ed):
    assert len(rows_on_page(ed)) == 4 and ed.w_prev.disabled and not ed.w_next.disabled
    assert ed.w_page.value == f'page 1 of {-(-85 // 4)}'
    ed.w_next.click(); assert ed.page == 1 and text_box(rows_on_page(ed)[0]).value == ed.rows[4]['text']
    for _ in range(30): ed.w_next.click()
    assert ed.page == ed.pages() - 1 and ed.w_next.disabled and len(rows_on_page(ed)) == 85 % 4

def test_typing_edits_the_row(ed):
    text_box(rows_on_page(ed)[1]).value = 'Please freeze my card, it is gone'
    label_box(rows_on_page(ed)[1]).value = 'card_frozen'
    assert ed.rows[1] == {'text': 'Please freeze my card, it is gone', 'label': 'card_frozen'}
    assert 'card_frozen' in ed.value['label'].to_list()

def test_delete_button(ed):
    first, second = ed.rows[0]['text'], ed.rows[1]['text']
    delete_button(rows_on_page(ed)[0]).click()
    assert len(ed.rows) == 84 and text_box(rows_on_page(ed)[0]).value == second
    assert first not in ed.value['text'].to_list()

def test_select_and_bulk_label(ed):
    rows_on_page(ed)[0].children[0].value = True
    rows_on_page(ed)[2].children[0].value = True
    ed.w_bulk.value = 'card_lost_or_stolen'; ed.w_apply.click()
    assert [r['label'] for r in ed.rows[:3]] == ['card_lost_or_stolen', 'card_lost', 'card_lost_or_stolen']
    ed.w_bulk.value = ''; ed.w_apply.click()
    assert 'empty label' in ed.w_status.value                # a mistake shows in the status line, nothing raised

def test_add_row_button_goes_to_new_row(ed):
    ed.w_add.click()
    assert ed.page == ed.pages() - 1 and text_box(rows_on_page(ed)[-1]).value == ''
    text_box(rows_on_page(ed)[-1]).value = 'Can I change my statement language?'
    label_box(rows_on_page(ed)[-1]).value = 'update_contact_details'
    assert ed.value.height == 86

def test_blank_new_row_is_dropped_with_a_note(ed):
    ed.w_add.click()
    v = ed.value
    assert v.height == 85 and any('dropped 1 blank row' in s for s in ed.issues)

def test_label_filter(ed):
    assert ed.w_filter.label == 'all labels'          # shown, not blank (ipywidgets 8 shows a None value as blank)
    ed.w_filter.value = 'account_deceased_holder'
    assert ed.pages() == 2 and all(label_box(r).value == 'account_deceased_holder' for r in rows_on_page(ed))
    ed.w_filter.value = ''
    assert ed.pages() == 22 and ed.w_filter.label == 'all labels' and ed.label_filter is None

def test_paging_leaves_no_dead_widgets(ed):
    from ipywidgets.widgets.widget import _instances
    ed.goto(1); before = len(_instances)
    for p in [2, 3, 4, 5, 1, 2, 3]: ed.goto(p)
    assert len(_instances) <= before               # each redraw closes the rows it replaces

def test_file_upload_widget(ed):
    content = b'text,label\nThe app logs me out every minute,app_bug\nI cannot see my savings pot,app_bug\n'
    ed.w_upload.value = ({'name': 'new.csv', 'type': 'text/csv', 'size': len(content), 'content': memoryview(content), 'last_modified': NOW},)
    assert ed.value.height == 87 and 'added 2 rows from new.csv' in ed.w_status.value
    ed.w_upload.value = ({'name': 'bad.jsonl', 'type': '', 'size': 3, 'content': memoryview(b'{x}'), 'last_modified': NOW},)
    assert ed.value.height == 87 and 'bad.jsonl line 1: malformed JSON' in ed.w_status.value

def test_empty_editor_then_upload_sets_kind():
    ed = sk.SeedEditor()
    with pytest.raises(SeedError, match='no rows'): ed.value
    ed.upload('tasks.jsonl', b'{"instruction": "Add 2 and 3", "output": "5"}\n')
    assert ed.kind == 'instruction' and ed.value['output'].to_list() == ['5']

def test_instruction_editor_edits_fields():
    ed = sk.SeedEditor('instruction_tasks')
    assert ed.fields == ['instruction', 'input', 'output', 'label']
    ed.edit(0, output='Mixed')
    assert ed.value['output'][0] == 'Mixed' and ed.value.height == 24

def test_status_escapes_html():
    ed = sk.SeedEditor(['<script>alert(1)</script> hi'])
    ed.upload('x.jsonl', b'{"text": "<b>bold</b>", "label": "<i>"}\n')
    assert '<script>' not in ed.w_status.value and '<i>' not in ed.w_status.value
