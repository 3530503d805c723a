from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def encrypt(key: bytes, iv: bytes):
    # ruleid: weak-cipher
    a = Cipher(algorithms.TripleDES(key), modes.CBC(iv))
    # ruleid: weak-cipher
    b = Cipher(algorithms.AES(key), modes.ECB())
    # ruleid: weak-cipher
    c = algorithms.ARC4(key)
    # ok: weak-cipher
    d = Cipher(algorithms.AES(key), modes.GCM(iv))
    return a, b, c, d
