"""The pure core of ails: messages, signing, event-stream parsing, errors.

Nothing here performs I/O or imports anything beyond the standard library and
attrs, so the signer and parser can be reused on their own.
"""
