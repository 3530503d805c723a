# ruleid: hardcoded-private-key
SIGNING_PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIDummyDummyDummy\n-----END EC PRIVATE KEY-----\n"
# ok: hardcoded-private-key
PUBLIC_PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
# ok: hardcoded-private-key
MARKER = "PRIVATE KEY"
