"""The Textual dashboard and the ``lofi`` command line, both thin layers over :mod:`engine`."""
