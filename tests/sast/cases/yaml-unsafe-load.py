import yaml
from yaml import SafeLoader


def read_config(text: str):
    # ruleid: yaml-unsafe-load
    a = yaml.load(text)
    # ruleid: yaml-unsafe-load
    b = yaml.load(text, Loader=yaml.Loader)
    # ruleid: yaml-unsafe-load
    c = yaml.unsafe_load(text)
    # ok: yaml-unsafe-load
    d = yaml.safe_load(text)
    # ok: yaml-unsafe-load
    e = yaml.load(text, Loader=yaml.SafeLoader)
    # ok: yaml-unsafe-load
    f = yaml.load(text, Loader=SafeLoader)
    return a, b, c, d, e, f


def read_all(text: str):
    # ruleid: yaml-unsafe-load
    a = yaml.load_all(text, Loader=yaml.Loader)
    # ruleid: yaml-unsafe-load
    b = yaml.unsafe_load_all(text)
    # ruleid: yaml-unsafe-load
    c = yaml.full_load_all(text)
    # ok: yaml-unsafe-load
    d = yaml.load_all(text, Loader=yaml.SafeLoader)
    # ok: yaml-unsafe-load
    e = yaml.safe_load_all(text)
    return a, b, c, d, e
