import jinja2


def renderer():
    # ruleid: jinja2-autoescape-off
    a = jinja2.Environment(loader=jinja2.FileSystemLoader("t"))
    # ruleid: jinja2-autoescape-off
    b = jinja2.Environment(autoescape=False)
    # ok: jinja2-autoescape-off
    c = jinja2.Environment(autoescape=jinja2.select_autoescape())
    return a, b, c
