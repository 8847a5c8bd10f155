"""Adapters from real HTTP libraries to the transport port.

Import the one you use: ``ails.transports.requests_transport`` or
``ails.transports.aiohttp_transport``. Each imports its library only then.
"""
