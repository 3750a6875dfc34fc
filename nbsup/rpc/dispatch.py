"""The XML-RPC dispatcher: ``supervisor.*`` and ``system.*`` with supervisord's faults.

Built on the stdlib's :class:`xmlrpc.server.SimpleXMLRPCDispatcher` (method registry,
``system.listMethods``); calling, faults and ``system.*`` follow ``supervisor/xmlrpc.py``:
an unknown method is Fault UNKNOWN_METHOD, a wrong number of arguments
INCORRECT_PARAMETERS, a refused command its own code with ``NAME: detail``, any call while
the supervisor shuts down SHUTDOWN_STATE. An unexpected error becomes Fault FAILED (and is
logged to the ``nbsup.rpc`` logger); a response never carries a Python traceback.
"""

from __future__ import annotations

import inspect
import logging
import xmlrpc.client
from collections.abc import Callable, Iterable
from typing import Any
from xmlrpc.server import SimpleXMLRPCDispatcher

from ..core.errors import Fault, FaultCode
from ..supervisor import Supervisor
from .logs import xml_text
from .methods import SupervisorNamespace, published, signature

log = logging.getLogger("nbsup.rpc")


def _fault(code: FaultCode, detail: str = "") -> xmlrpc.client.Fault:
    return xmlrpc.client.Fault(int(code), str(Fault(code, detail)))


def _xml_safe(value: Any) -> Any:
    """``value`` with every string made safe for XML (see :func:`~nbsup.rpc.logs.xml_text`)."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, list | tuple):
        return [_xml_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _xml_safe(item) for key, item in value.items()}
    return value


class SystemNamespace:
    """supervisord's ``system.*`` methods (``xmlrpc.py`` ``SystemNamespaceRPCInterface``).

    Parameters
    ----------
    dispatcher
        The dispatcher whose methods are listed and called.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    @signature("array")
    def listMethods(self) -> list[str]:
        """Return an array listing the available method names.

        @return array result  An array of method names available (strings).
        """
        return sorted(self.dispatcher.funcs)

    @signature("string", "string")
    def methodHelp(self, name: object) -> str:
        """Return a string showing the method's documentation.

        @param string name   The name of the method.
        @return string result The documentation for the method name.
        """
        function = self.dispatcher.funcs.get(name) if isinstance(name, str) else None
        if function is None:
            raise Fault(FaultCode.SIGNATURE_UNSUPPORTED)
        return inspect.getdoc(function) or ""

    @signature("array", "string")
    def methodSignature(self, name: object) -> list[str]:
        """Return an array describing the method signature in the form [rtype, ptype, ptype...].

        @param string name  The name of the method.
        @return array result  The result.
        """
        function = self.dispatcher.funcs.get(name) if isinstance(name, str) else None
        types = getattr(function, "rpc_signature", None)
        if types is None:
            raise Fault(FaultCode.SIGNATURE_UNSUPPORTED)
        return list(types)

    @signature("array", "array")
    def multicall(self, calls: object) -> list[Any]:
        """Process an array of calls, and return an array of results.

        Calls are structs {'methodName': string, 'params': array}. As supervisord does,
        each result is the method's value itself, or a struct {'faultCode': int,
        'faultString': string}.

        @param array calls  An array of call requests
        @return array result  An array of results
        """
        if not isinstance(calls, list):
            raise Fault(FaultCode.INCORRECT_PARAMETERS, "calls must be an array")
        return [self._one(call) for call in calls]

    def _one(self, call: object) -> Any:
        try:
            if not isinstance(call, dict):
                raise _fault(FaultCode.INCORRECT_PARAMETERS, "a call must be a struct")
            name = call.get("methodName")
            params = call.get("params", [])
            if not name:
                raise _fault(FaultCode.INCORRECT_PARAMETERS, "No methodName")
            if name == "system.multicall":
                raise _fault(FaultCode.INCORRECT_PARAMETERS, "Recursive system.multicall forbidden")
            if not isinstance(params, list):
                raise _fault(FaultCode.INCORRECT_PARAMETERS, "params must be an array")
            return self.dispatcher._dispatch(str(name), tuple(params))
        except xmlrpc.client.Fault as fault:
            return {"faultCode": fault.faultCode, "faultString": fault.faultString}


class Dispatcher(SimpleXMLRPCDispatcher):
    """Dispatches XML-RPC requests to one supervisor's methods.

    Parameters
    ----------
    supervisor
        The supervisor the ``supervisor.*`` methods act on.
    """

    def __init__(self, supervisor: Supervisor) -> None:
        super().__init__(allow_none=False, encoding="utf-8")
        self.supervisor = supervisor
        for name, function in published(SupervisorNamespace(supervisor)).items():
            self.register_function(function, name)
        system = SystemNamespace(self)
        for attr in ("listMethods", "methodHelp", "methodSignature", "multicall"):
            self.register_function(getattr(system, attr), f"system.{attr}")

    def _shutting_down(self) -> bool:
        sup = self.supervisor
        return sup.closed or bool(getattr(sup._runner.driver, "shutting_down", False))

    def _dispatch(self, method: str, params: Iterable[Any]) -> Any:
        function: Callable[..., Any] | None = self.funcs.get(method)
        if function is None:
            raise _fault(FaultCode.UNKNOWN_METHOD)
        try:
            params = tuple(params)
            inspect.signature(function).bind(*params)
        except TypeError:
            raise _fault(FaultCode.INCORRECT_PARAMETERS) from None
        if method.startswith("supervisor.") and self._shutting_down():
            raise _fault(FaultCode.SHUTDOWN_STATE)
        try:
            return function(*params)
        except Fault as fault:
            raise xmlrpc.client.Fault(int(fault.code), str(fault)) from None
        except xmlrpc.client.Fault:
            raise
        except Exception as error:
            if self._shutting_down():
                raise _fault(FaultCode.SHUTDOWN_STATE) from None
            log.exception("XML-RPC method %s failed", method)
            raise _fault(FaultCode.FAILED, f"{type(error).__name__}: {error}") from None

    def respond(self, data: bytes) -> bytes | None:
        """The XML response to one request body; None if the body is not an XML-RPC call
        (the server then answers 400, as supervisord does)."""
        try:
            params, method = xmlrpc.client.loads(data, use_builtin_types=False)
        except Exception:
            return None
        if not method:
            return None
        try:
            value = self._dispatch(method, params)
            body = xmlrpc.client.dumps((_xml_safe(value),), methodresponse=True)
        except xmlrpc.client.Fault as fault:
            fault.faultString = xml_text(str(fault.faultString))
            body = xmlrpc.client.dumps(fault, methodresponse=True)
        except Exception as error:  # a result XML-RPC cannot carry (an int over 2**31...)
            log.exception("XML-RPC method %s: cannot send its result", method)
            failed = _fault(FaultCode.FAILED, f"{type(error).__name__}: {error}")
            body = xmlrpc.client.dumps(failed, methodresponse=True)
        return body.encode("utf-8", "xmlcharrefreplace")
