"Real PDF files for the document tests, written by hand (objects, a text stream per page, an xref table): no mock."
from pathlib import Path

def _esc(s:str)->str: return s.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')

def _stream(lines:list[str])->bytes:
    body = ''.join(f'({_esc(l)}) Tj T* ' for l in lines)
    return f'BT /F1 11 Tf 14 TL 72 720 Td {body}ET'.encode('latin-1')

def pdf_bytes(pages:list[list[str]], # each page's lines of text
              outline:dict[int, str]|None=None, # page index -> bookmark title
             )->bytes:
    "A minimal valid PDF whose pages show `pages` in Helvetica, with an optional outline (bookmarks)."
    n, objs = len(pages), {}
    first_page, font = 4, 3
    kids = ' '.join(f'{first_page + 2*i} 0 R' for i in range(n))
    outline_no = first_page + 2*n
    objs[1] = '<< /Type /Catalog /Pages 2 0 R' + (f' /Outlines {outline_no} 0 R' if outline else '') + ' >>'
    objs[2] = f'<< /Type /Pages /Kids [{kids}] /Count {n} >>'
    objs[font] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'
    for i, lines in enumerate(pages):
        p, c = first_page + 2*i, first_page + 2*i + 1
        objs[p] = (f'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {c} 0 R '
                   f'/Resources << /Font << /F1 {font} 0 R >> >> >>')
        data = _stream(lines)
        objs[c] = f'<< /Length {len(data)} >>\nstream\n'.encode('latin-1') + data + b'\nendstream'
    if outline:
        items = sorted(outline.items())
        nos = [outline_no + 1 + j for j in range(len(items))]
        objs[outline_no] = f'<< /Type /Outlines /First {nos[0]} 0 R /Last {nos[-1]} 0 R /Count {len(nos)} >>'
        for j, (page, title) in enumerate(items):
            links = (f' /Prev {nos[j-1]} 0 R' if j else '') + (f' /Next {nos[j+1]} 0 R' if j + 1 < len(nos) else '')
            objs[nos[j]] = (f'<< /Title ({_esc(title)}) /Parent {outline_no} 0 R{links} '
                            f'/Dest [{first_page + 2*page} 0 R /Fit] >>')
    out, offsets = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n'), {}
    for no in sorted(objs):
        offsets[no] = len(out)
        body = objs[no] if isinstance(objs[no], bytes) else objs[no].encode('latin-1')
        out += f'{no} 0 obj\n'.encode() + body + b'\nendobj\n'
    xref, size = len(out), max(objs) + 1
    out += f'xref\n0 {size}\n0000000000 65535 f \n'.encode()
    out += b''.join(f'{offsets[i]:010d} 00000 n \n'.encode() for i in range(1, size))
    out += f'trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n'.encode()
    return bytes(out)

def write_pdf(path:Path, pages:list[list[str]], outline=None)->Path:
    path.write_bytes(pdf_bytes(pages, outline)); return path

def encrypt_pdf(src:Path, dst:Path, password:str='secret', owner_only:bool=False)->Path:
    "`src` encrypted by pypdf's writer (RC4-128, no extra dependency); `owner_only` leaves the user password empty."
    from pypdf import PdfReader, PdfWriter
    w = PdfWriter(clone_from=PdfReader(src))
    w.encrypt(user_password='' if owner_only else password, owner_password=password, algorithm='RC4-128')
    with open(dst, 'wb') as f: w.write(f)
    return dst
