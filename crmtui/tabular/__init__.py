"""Tables in files: reading CSV and XLSX for import, writing CSV, XLSX and JSON for export.

This package knows nothing of the database, Textual or click: it turns files into rows of
text and rows of text into files.
"""
