"""The readers' side: from a search request to plain result values.

`search.request` holds the reader's whole search state, `search.embedded.engine`
answers it with the dataclasses of `search.results`. Whoosh objects never
leave this package, and nothing here imports Flask or builds HTML other
than through `search.snippets`, the one sanitizing function.
"""
