import socket

import uvicorn


def serve(app):
    # ruleid: bind-all-interfaces
    uvicorn.run(app, host="0.0.0.0", port=8080)
    sock = socket.socket()
    # ruleid: bind-all-interfaces
    sock.bind(("0.0.0.0", 9000))
    # ok: bind-all-interfaces
    uvicorn.run(app, host="127.0.0.1", port=8080)
    # ok: bind-all-interfaces
    sock.bind(("10.0.0.5", 9000))
