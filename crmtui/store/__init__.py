"""The one door to the data. Services take the acting user and return frozen values.

This package never imports Textual or click.
"""
