"""Back-office admin service (deliberately vulnerable: SAST demo)."""

import sqlite3
import subprocess

from flask import Flask, request

app = Flask(__name__)


@app.route("/orders")
def orders():
    account = request.args["account"]
    conn = sqlite3.connect("orders.db")
    rows = conn.execute(f"SELECT * FROM orders WHERE account = '{account}'").fetchall()
    return {"orders": rows}


@app.route("/restart")
def restart():
    service = request.args["service"]
    subprocess.run("systemctl restart " + service, shell=True, check=False)
    subprocess.run("systemctl daemon-reload", shell=True, check=False)  # nosec B602 -- a constant command
    return {"restarted": service}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080, debug=True)
