"""The librarians' side of Archivist: reading article files and writing the index.

Nothing in this package imports `search` or `webui`; imports point one way,
`webui -> search -> index`.
"""
