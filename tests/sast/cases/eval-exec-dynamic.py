import ast


def handle(payload: str, env: dict) -> object:
    # ruleid: eval-exec-dynamic
    result = eval(payload)
    # ruleid: eval-exec-dynamic
    exec(payload, env)
    # ok: eval-exec-dynamic
    value = ast.literal_eval(payload)
    # ok: eval-exec-dynamic
    eval("1 + 1")
    return result, value
