"""The pure core of nbsup: supervisord's state machine with no I/O, no clock and no threads.

Nothing in this package imports from the rest of nbsup, from asyncio, from traitlets or
from anything that touches processes or time. The runtime feeds it events with the current
monotonic time and carries out the effects it returns.
"""
