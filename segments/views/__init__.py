"""The marketer pages of segments, one module per sub-domain (see segments/urls.py)."""
