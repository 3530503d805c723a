import hashlib


def sign(order: bytes) -> str:
    # ruleid: weak-hash
    a = hashlib.md5(order).hexdigest()
    # ruleid: weak-hash
    b = hashlib.sha1(order).hexdigest()
    # ruleid: weak-hash
    c = hashlib.new("md5", order)
    # ok: weak-hash
    d = hashlib.sha256(order).hexdigest()
    # ok: weak-hash
    e = hashlib.md5(order, usedforsecurity=False).hexdigest()
    return a + b + c.hexdigest() + d + e
