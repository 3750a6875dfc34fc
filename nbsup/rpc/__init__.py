"""supervisord's XML-RPC interface over nbsup, for the real ``supervisorctl`` and any client.

>>> from nbsup.rpc import RpcServer                 # doctest: +SKIP
>>> info = RpcServer(sup).start()                   # doctest: +SKIP
>>> info.command()                                  # doctest: +SKIP
'supervisorctl -s unix:///.../supervisor.sock -u nbsup -p ... status'

Usually started through the supervisor: ``sup.rpc_enabled = True`` (``sup.rpc_info`` then
says where), or ``%supervisorctl serve`` in a notebook.

Modules: ``methods`` (``supervisor.*``), ``dispatch`` (faults, ``system.*``), ``server``
(HTTP on a unix socket or TCP, auth), ``handler`` (one connection), ``follow``
(``tail -f``), ``logs`` (reading log files), ``names`` (namespecs and argument checks),
``endpoint`` (addresses, the socket and the config file).
"""

from __future__ import annotations

from .dispatch import Dispatcher
from .methods import API_VERSION, SUPERVISOR_VERSION, SupervisorNamespace
from .server import USERNAME, RpcInfo, RpcServer

__all__ = [
    "API_VERSION",
    "SUPERVISOR_VERSION",
    "USERNAME",
    "Dispatcher",
    "RpcInfo",
    "RpcServer",
    "SupervisorNamespace",
]
