"""Marketing forms and landing pages."""
