"""The embedded engine: the read side of an archive kept in a Whoosh index.

Every module that knows Whoosh on the read side lives here, private
internals included (`columns` reads posting blocks and length columns
directly, `generations` opens a pinned TOC generation, `scoring` evaluates
Whoosh query objects over arrays). Above this package, code speaks only the
engine-neutral language of `search.plan`, `search.request`,
`search.results` and `search.protocol`; another engine (a Typesense
cluster) would sit beside this package, behind the same protocol.
"""
