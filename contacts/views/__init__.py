"""The marketer pages of the contacts app, one module per sub-domain (see contacts/urls.py)."""
