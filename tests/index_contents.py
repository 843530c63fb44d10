"""Everything an index holds, keyed by article id, for tests that compare two
indexes written different ways (one process or several, with or without the
writing shortcuts of `index.embedded.whoosh_speed`).

Document numbers are left out: they depend on which process wrote which
segment, and nothing a reader sees depends on them.
"""

from __future__ import annotations

from whoosh.index import Index


def contents(ix: Index) -> dict[str, dict]:
    """Stored fields, postings, field lengths and columns of `ix`, by article id."""
    with ix.reader() as r:
        ids = {d: r.stored_fields(d)["id"] for d in r.all_doc_ids()}
        stored = {ids[d]: fields for d, fields in r.iter_docs()}
        postings: dict[tuple[str, bytes], list] = {}
        for fieldname, btext in r.all_terms():
            m = r.postings(fieldname, btext)
            found = []
            while m.is_active():
                found.append((ids[m.id()], m.weight(), m.value()))
                m.next()
            postings[(fieldname, btext)] = sorted(found)
        lengths = {name: {ids[d]: r.doc_field_length(d, name) for d in ids}
                   for name in r.schema.scorable_names()}
        columns = {}
        for name, field in r.schema.items():
            if field.column_type is not None and r.has_column(name):
                column = r.column_reader(name, translate=False)
                columns[name] = {ids[d]: column[d] for d in ids}
        return {"stored": stored, "postings": postings, "lengths": lengths,
                "columns": columns, "deleted": r.doc_count_all() - r.doc_count()}


def differences(a: dict[str, dict], b: dict[str, dict], limit: int = 5) -> list[str]:
    """Where two `contents` differ, a few examples per part (empty: identical)."""
    found = []
    for part in a:
        if a[part] == b[part]:
            continue
        if not isinstance(a[part], dict):
            found.append(f"{part}: {a[part]!r} != {b[part]!r}")
            continue
        only_a = sorted(set(a[part]) - set(b[part]), key=repr)[:limit]
        only_b = sorted(set(b[part]) - set(a[part]), key=repr)[:limit]
        changed = [k for k in a[part] if k in b[part] and a[part][k] != b[part][k]][:limit]
        found.append(f"{part}: only in the first {only_a}, only in the second {only_b}, "
                     f"different {changed}")
    return found
