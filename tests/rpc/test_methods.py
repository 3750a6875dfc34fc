"""Every XML-RPC method through plain ``xmlrpc.client``: results, field names and faults
as supervisord 4.3.0's (``supervisor/rpcinterface.py``)."""

from __future__ import annotations

import os
import xmlrpc.client

import pytest
from program_waits import wait_output
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

pytestmark = pytest.mark.realprocess

SLEEP = "sleep 30"

#: getProcessInfo's fields (rpcinterface.py:660-675).
PROCESS_INFO = {
    "name", "group", "start", "stop", "now", "state", "statename", "spawnerr", "exitstatus",
    "logfile", "stdout_logfile", "stderr_logfile", "pid", "description",
}  # fmt: skip
#: getAllConfigInfo's fields (rpcinterface.py:575-606).
CONFIG_INFO = {
    "autostart", "directory", "uid", "command", "exitcodes", "group", "group_prio", "inuse",
    "killasgroup", "name", "process_prio", "redirect_stderr", "startretries", "startsecs",
    "stdout_capture_maxbytes", "stdout_events_enabled", "stdout_logfile",
    "stdout_logfile_backups", "stdout_logfile_maxbytes", "stdout_syslog", "stopsignal",
    "stopwaitsecs", "stderr_capture_maxbytes", "stderr_events_enabled", "stderr_logfile",
    "stderr_logfile_backups", "stderr_logfile_maxbytes", "stderr_syslog", "serverurl",
}  # fmt: skip
#: supervisord's methods nbsup does not serve: no config file to reload, no daemon to stop
#: or restart from outside the kernel, no stdin to programs, no event listeners.
NOT_SERVED = {
    "addProcessGroup", "clearLog", "reloadConfig", "removeProcessGroup", "restart",
    "sendProcessStdin", "sendRemoteCommEvent", "shutdown",
}  # fmt: skip
RESULT = {"name", "group", "status", "description"}


def log_bytes(program, channel: str = "stdout") -> bytes:
    """The program's log file on ``channel``, as it is on disk."""
    return program.output_channel(channel).path.read_bytes()


def fault(call, *args) -> tuple[int, str]:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    return info.value.faultCode, info.value.faultString


def test_the_methods_are_supervisords(served):
    rpc = served.proxy()
    theirs = {n for n in vars(SupervisorNamespaceRPCInterface) if not n.startswith("_")}
    ours = {m.split(".", 1)[1] for m in rpc.system.listMethods() if m.startswith("supervisor.")}
    assert ours == theirs - NOT_SERVED
    system = {m for m in rpc.system.listMethods() if m.startswith("system.")}
    assert system == {
        "system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall"
    }  # fmt: skip
    assert rpc.system.listMethods() == sorted(rpc.system.listMethods())
    assert "@param string name" in rpc.system.methodHelp("supervisor.startProcess")
    assert rpc.system.methodSignature("supervisor.startProcess") == ["boolean", "string", "boolean"]
    assert rpc.system.methodSignature("supervisor.tailProcessStdoutLog") == [
        "array", "string", "int", "int"
    ]  # fmt: skip
    assert rpc.system.methodSignature("system.multicall") == ["array", "array"]
    assert fault(rpc.system.methodHelp, "supervisor.nope") == (4, "SIGNATURE_UNSUPPORTED")
    assert fault(rpc.system.methodSignature, "nope") == (4, "SIGNATURE_UNSUPPORTED")


def test_daemon_methods(served):
    rpc = served.proxy().supervisor
    assert rpc.getAPIVersion() == rpc.getVersion() == "3.0"
    assert rpc.getSupervisorVersion() == "4.3.0"
    assert rpc.getIdentification() == "nbsup"
    assert rpc.getState() == {"statecode": 1, "statename": "RUNNING"}
    assert rpc.getPID() == os.getpid()


def test_process_info(served):
    sup = served.sup
    web = sup.add_program("web", command=SLEEP, startsecs=0.1)
    sup.add_program("idle", command=SLEEP, autostart=False)
    bad = sup.add_program("bad", command="sh -c 'exit 3'", startsecs=0.2, startretries=0)
    worker = sup.add_program("worker", command=SLEEP, group="pool", startsecs=0.1)
    web.wait_for("RUNNING", timeout=5)
    worker.wait_for("RUNNING", timeout=5)
    bad.wait_for("FATAL", timeout=5)
    rpc = served.proxy().supervisor

    info = rpc.getProcessInfo("web")
    assert set(info) == PROCESS_INFO
    assert (info["name"], info["group"], info["state"], info["statename"]) == (
        "web", "web", 20, "RUNNING"
    )  # fmt: skip
    assert info["pid"] == web.pid and info["description"].startswith(f"pid {web.pid}, uptime ")
    assert info["start"] == int(web.laststart) and info["stop"] == 0
    assert info["logfile"] == info["stdout_logfile"] == str(web.output_channel().path)
    assert info["stderr_logfile"] == str(web.output_channel("stderr").path)

    fatal = rpc.getProcessInfo("bad")
    assert (fatal["state"], fatal["statename"]) == (200, "FATAL")
    assert fatal["spawnerr"] == fatal["description"]
    assert fatal["description"] == "Exited too quickly (process log may have details)"
    assert rpc.getProcessInfo("idle")["description"] == "Not started"
    assert rpc.getProcessInfo("pool:worker")["group"] == "pool"
    assert rpc.getProcessInfo("worker")["name"] == "worker"
    assert fault(rpc.getProcessInfo, "other:worker") == (10, "BAD_NAME: other:worker")
    assert fault(rpc.getProcessInfo, "pool:*") == (10, "BAD_NAME: pool:*")
    assert fault(rpc.getProcessInfo, "nosuch") == (10, "BAD_NAME: nosuch")

    everything = rpc.getAllProcessInfo()
    assert [(i["group"], i["name"]) for i in everything] == [
        ("bad", "bad"), ("idle", "idle"), ("pool", "worker"), ("web", "web")
    ]  # fmt: skip

    configs = rpc.getAllConfigInfo()
    assert [c["name"] for c in configs] == ["bad", "idle", "web", "worker"]
    assert all(set(c) == CONFIG_INFO for c in configs)
    web_config = next(c for c in configs if c["name"] == "web")
    assert web_config["command"] == SLEEP
    assert (web_config["autostart"], web_config["inuse"], web_config["exitcodes"]) == (
        True, True, [0]
    )  # fmt: skip
    assert (web_config["stopsignal"], web_config["stopwaitsecs"]) == (15, 10)
    assert web_config["directory"] == "none" and web_config["uid"] == "none"
    assert web_config["stdout_logfile"] == info["stdout_logfile"]
    assert (web_config["group_prio"], web_config["process_prio"]) == (999, 999)


def test_start_and_stop(served):
    sup = served.sup
    idle = sup.add_program("idle", command=SLEEP, autostart=False, startsecs=0.3)
    a = sup.add_program("a", command=SLEEP, group="pool", autostart=False, startsecs=0.1)
    b = sup.add_program("b", command=SLEEP, group="pool", autostart=False, startsecs=0.1)
    sup.add_program("bad", command="sh -c 'exit 1'", autostart=False, startsecs=0.2, startretries=0)
    missing = sup.add_program("missing", command="/no/such/cmd", autostart=False)
    rpc = served.proxy().supervisor

    assert rpc.startProcess("idle", False) is True
    assert idle.state == "STARTING"  # without waiting
    assert fault(rpc.startProcess, "idle") == (60, "ALREADY_STARTED: idle")
    idle.wait_for("RUNNING", timeout=5)
    assert rpc.stopProcess("idle") is True and idle.state == "STOPPED"
    assert fault(rpc.stopProcess, "idle") == (70, "NOT_RUNNING: idle")
    assert rpc.startProcess("idle") is True and idle.state == "RUNNING"
    assert rpc.stopProcess("idle", False) is True
    idle.wait_for("STOPPED", timeout=5)

    assert fault(rpc.startProcess, "bad") == (50, "SPAWN_ERROR: bad")
    code, text = fault(rpc.startProcess, "missing")
    assert code == 20 and text.startswith("NO_FILE: ")
    assert missing.state == "STOPPED"  # refused before any spawn, as supervisord
    assert fault(rpc.startProcess, "nosuch") == (10, "BAD_NAME: nosuch")

    results = rpc.startProcessGroup("pool")
    assert [(r["name"], r["group"], r["status"], r["description"]) for r in results] == [
        ("a", "pool", 80, "OK"), ("b", "pool", 80, "OK")
    ]  # fmt: skip
    assert a.state == b.state == "RUNNING"
    assert rpc.startProcessGroup("pool") == []  # nothing left to start
    assert [r["name"] for r in rpc.stopProcessGroup("pool")] == ["a", "b"]
    assert a.state == b.state == "STOPPED"
    assert [r["name"] for r in rpc.startProcess("pool:*")] == ["a", "b"]
    assert [r["name"] for r in rpc.stopProcess("pool:*", True)] == ["a", "b"]
    assert fault(rpc.startProcessGroup, "nosuch") == (10, "BAD_NAME: nosuch")
    assert fault(rpc.stopProcessGroup, "nosuch") == (10, "BAD_NAME: nosuch")

    results = {r["name"]: r for r in rpc.startAllProcesses()}
    assert set(results) == {"a", "b", "bad", "idle", "missing"}
    assert all(set(r) == RESULT for r in results.values())
    assert results["bad"]["status"] == 50 and results["bad"]["description"] == "SPAWN_ERROR: bad"
    assert results["missing"]["status"] == 20
    assert results["idle"]["status"] == 80 and idle.state == "RUNNING"
    stopped = {r["name"]: r["status"] for r in rpc.stopAllProcesses()}
    assert stopped == {"a": 80, "b": 80, "idle": 80}
    assert all(p.state != "RUNNING" for p in sup.programs)


def test_signals(served):
    sup = served.sup
    trap = "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done"
    sig = sup.add_program("sig", command=f'sh -c "{trap}"', startsecs=0.1, group="g")
    idle = sup.add_program("idle", command=SLEEP, autostart=False, group="g")
    sig.wait_for("RUNNING", timeout=5)
    wait_output(sig, "ready")
    rpc = served.proxy().supervisor

    assert rpc.signalProcess("sig", "USR1") is True
    wait_output(sig, "got-usr1\n")
    assert fault(rpc.signalProcess, "sig", "NOPE") == (11, "BAD_SIGNAL: NOPE")
    assert fault(rpc.signalProcess, "idle", "HUP") == (70, "NOT_RUNNING: idle")
    assert fault(rpc.signalProcess, "nosuch", "HUP") == (10, "BAD_NAME: nosuch")
    assert rpc.signalProcessGroup("g", "SIGUSR1") == [
        {"name": "sig", "group": "g", "status": 80, "description": "OK"}
    ]
    wait_output(sig, "got-usr1\n" * 2)  # one at a time: sh merges signals sent together
    assert rpc.signalAllProcesses("10")[0]["status"] == 80
    wait_output(sig, "got-usr1\n" * 3)
    assert rpc.signalProcess("g:*", "NOPE")[0]["status"] == 11
    assert fault(rpc.signalProcessGroup, "nosuch", "HUP") == (10, "BAD_NAME: nosuch")
    assert sig.state == "RUNNING" and idle.state == "STOPPED"


def test_logs(served):
    sup = served.sup
    body = "printf 'hello world\\n'; printf 'oops\\n' >&2; exec sleep 30"
    p = sup.add_program("p", command=f'sh -c "{body}"', startsecs=0.1)
    r = sup.add_program("r", command=SLEEP, redirect_stderr=True, startsecs=0.1)
    wait_output(p, "hello world\n")
    wait_output(p, "oops\n", "stderr")
    r.wait_for("RUNNING", timeout=5)
    rpc = served.proxy().supervisor

    # the files as written (nbsup may add its own marker lines): read as supervisord does
    out, err = log_bytes(p), log_bytes(p, "stderr")
    size = len(out)
    assert out.endswith(b"hello world\n") and err.endswith(b"oops\n")
    assert rpc.readProcessStdoutLog("p", 0, 0) == out.decode()
    assert rpc.readProcessLog("p", 0, 5) == out[:5].decode()
    assert rpc.readProcessStdoutLog("p", -6, 0) == "world\n"
    assert rpc.readProcessStdoutLog("p", size - 6, 0) == "world\n"
    assert rpc.readProcessStdoutLog("p", size - 12, 5) == "hello"
    assert rpc.readProcessStdoutLog("p", -size - 100, 0) == out.decode()
    assert rpc.readProcessStdoutLog("p", size + 100, 0) == ""
    assert rpc.readProcessStderrLog("p", 0, 0) == err.decode()
    assert fault(rpc.readProcessStdoutLog, "p", -1, 1) == (3, "BAD_ARGUMENTS")
    assert fault(rpc.readProcessStdoutLog, "p", 0, -1) == (3, "BAD_ARGUMENTS")
    assert fault(rpc.readProcessStderrLog, "r", 0, 0)[0] == 20  # stderr goes to stdout
    assert fault(rpc.readProcessStdoutLog, "nosuch", 0, 0) == (10, "BAD_NAME: nosuch")

    assert rpc.tailProcessStdoutLog("p", 0, size + 100) == [out.decode(), size, False]
    assert rpc.tailProcessLog("p", 0, 5) == ["orld\n", size, True]  # overflow: the end
    assert rpc.tailProcessStdoutLog("p", size, 100) == ["", size, False]
    # supervisord's tailFile reads from 0 when fewer than length bytes follow offset
    assert rpc.tailProcessStderrLog("p", len(err) - 3, 100) == [err.decode(), len(err), False]
    assert rpc.tailProcessStderrLog("p", len(err) - 3, 2) == ["s\n", len(err), True]
    assert rpc.tailProcessStderrLog("r", 0, 100) == ["", 0, False]

    log = rpc.readLog(0, 0)
    assert f"spawned: 'p' with pid {p.pid}" in log
    assert rpc.readMainLog(-20, 0) == log[-20:]

    assert rpc.clearProcessLogs("p") is True
    assert b"hello" not in log_bytes(p) and b"oops" not in log_bytes(p, "stderr")
    assert rpc.readProcessStdoutLog("p", 0, 0) == log_bytes(p).decode()
    assert rpc.readProcessStderrLog("p", 0, 0) == log_bytes(p, "stderr").decode()
    assert rpc.clearProcessLog("r") is True
    assert fault(rpc.clearProcessLogs, "nosuch") == (10, "BAD_NAME: nosuch")
    assert rpc.clearAllProcessLogs() == [
        {"name": "p", "group": "p", "status": 80, "description": "OK"},
        {"name": "r", "group": "r", "status": 80, "description": "OK"},
    ]


def test_output_that_is_not_xml_safe(served):
    body = "printf 'a\\033[31mred\\033[0m\\001\\377z\\n'; exec sleep 30"
    p = served.sup.add_program("p", command=f'sh -c "{body}"', startsecs=0.1)
    wait_output(p, "z\n")
    text = served.proxy().supervisor.readProcessStdoutLog("p", -17, 0)
    assert text == "a\ufffd[31mred\ufffd[0m\ufffd\ufffdz\n"
    assert served.lines("tail", "p")[-2:] == ["a\ufffd[31mred\ufffd[0m\ufffd\ufffdz", ""]


def test_no_log_file(served):
    p = served.sup.add_program("p", command=SLEEP, stdout_logfile="NONE", startsecs=0.1)
    p.wait_for("RUNNING", timeout=5)
    rpc = served.proxy().supervisor
    assert p.output_channel().path is None
    assert fault(rpc.readProcessStdoutLog, "p", 0, 0)[0] == 20
    assert rpc.tailProcessStdoutLog("p", 0, 100) == ["", 0, False]
    info = rpc.getProcessInfo("p")
    assert info["stdout_logfile"] == info["logfile"] == ""
    assert served.lines("tail", "p") == ["p: ERROR (no log file)"]


def test_multicall(served):
    web = served.sup.add_program("web", command=SLEEP, startsecs=0.1)
    web.wait_for("RUNNING", timeout=5)
    rpc = served.proxy()
    results = rpc.system.multicall(
        [
            {"methodName": "supervisor.getPID", "params": []},
            {"methodName": "supervisor.getProcessInfo", "params": ["web"]},
            {"methodName": "supervisor.nope", "params": []},
            {"methodName": "supervisor.stopProcess", "params": ["nosuch"]},
            {"methodName": "system.multicall", "params": [[]]},
            {"params": []},
            {"methodName": "supervisor.getPID", "params": [1]},
        ]
    )
    # as supervisord: values themselves (not wrapped in a list), faults as structs
    assert results[0] == os.getpid()
    assert results[1]["pid"] == web.pid
    assert results[2:] == [
        {"faultCode": 1, "faultString": "UNKNOWN_METHOD"},
        {"faultCode": 10, "faultString": "BAD_NAME: nosuch"},
        {
            "faultCode": 2,
            "faultString": "INCORRECT_PARAMETERS: Recursive system.multicall forbidden",
        },
        {"faultCode": 2, "faultString": "INCORRECT_PARAMETERS: No methodName"},
        {"faultCode": 2, "faultString": "INCORRECT_PARAMETERS"},
    ]
