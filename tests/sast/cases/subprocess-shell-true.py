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
