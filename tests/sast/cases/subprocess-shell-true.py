import os
import subprocess


def restart(service: str) -> None:
    # ruleid: subprocess-shell-true
    subprocess.run("systemctl restart " + service, shell=True)
    # ruleid: subprocess-shell-true
    subprocess.check_output(f"ls {service}", shell=True)
    # ruleid: subprocess-shell-true
    os.system("kill " + service)
    # ruleid: subprocess-shell-true
    os.popen(service)
    # ok: subprocess-shell-true
    subprocess.run(["systemctl", "restart", service], check=True)
    # ok: subprocess-shell-true
    subprocess.run(["ls"], shell=False)
    # ok: subprocess-shell-true
    os.system("sync")
    # ok: subprocess-shell-true
    subprocess.run("systemctl daemon-reload", shell=True)


def indirect(x: str) -> None:
    import asyncio
    import sys
    from subprocess import Popen

    # ruleid: subprocess-shell-true
    os.popen(cmd=x)
    # ruleid: subprocess-shell-true
    subprocess.getoutput(cmd=x)
    # ruleid: subprocess-shell-true
    subprocess.call(x, **{"shell": True})
    # ruleid: subprocess-shell-true
    Popen(["/bin/sh", "-c", x])
    # ruleid: subprocess-shell-true
    Popen(x, shell=True)
    # ruleid: subprocess-shell-true
    asyncio.create_subprocess_shell(x)
    # ruleid: subprocess-shell-true
    os.spawnlp(os.P_WAIT, "sh", "sh", "-c", x)
    # ok: subprocess-shell-true
    Popen(["/bin/sh", "-c", "sync"])
    # ok: subprocess-shell-true
    subprocess.call(["ls", x], **{"shell": False})
    # ok: subprocess-shell-true
    os.spawnlp(os.P_WAIT, "ls", "ls", "-l", x)
    # ok: subprocess-shell-true
    subprocess.run([sys.executable, "-c", x], check=True)
