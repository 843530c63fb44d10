"""The Typesense engine (a cluster): the read side's second implementation.

`engine` answers requests, `query` compiles plans into filters and `q`,
`archive` holds one archive version's words and tags, `answers` turns
Typesense's JSON into `search.results` values. Everything that knows
Typesense's search parameters lives in this package.
"""

from search.typesense.engine import TypesenseEngine

__all__ = ["TypesenseEngine"]
