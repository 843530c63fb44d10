"""The embedded engine: the write side of an archive kept in a Whoosh index.

Every module that knows Whoosh on the write side lives here, private
internals included (`segments` uses the segment writer's private methods,
`whoosh_speed` replaces some of Whoosh's own): the schema (`schema`), the
generations on disk (`store`), an `Article` as a Whoosh document and back
(`document`), the `index.protocol.WriteEngine` (`engine`), what the index
holds read back for the librarians (`contents`), its health figures and
`optimize` (`health`), and the readers' vocabulary beside each generation
(`vocabulary`). Above this package, `index.writer`, `index.check`,
`index.export`, `index.health` and `index.upload` speak the engine-neutral
language of `index.protocol`; the Typesense cluster engine
(`index.typesense_store`) sits beside this package, behind the same
protocol. The read side's Whoosh modules are `search.embedded`.

Importing the package applies `whoosh_speed`'s repairs to Whoosh, once:
every process that writes or reads an embedded index imports it first
(the read side opens generations through `store`), and the repairs change
no byte a reader sees.

The schema's field classes are pickled into every index by module path;
`index.schema` keeps the names of indexes written before this package
existed loadable.
"""

from index.embedded import whoosh_speed

whoosh_speed.install()
