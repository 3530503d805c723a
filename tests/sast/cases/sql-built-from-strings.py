import sqlite3

import sqlalchemy
from sqlalchemy import text


def orders_for(conn: sqlite3.Connection, account: str, side: str):
    cur = conn.cursor()
    # ruleid: sql-built-from-strings
    cur.execute(f"SELECT * FROM orders WHERE account = '{account}'")
    # ruleid: sql-built-from-strings
    cur.execute("SELECT * FROM orders WHERE side = '%s'" % side)
    # ruleid: sql-built-from-strings
    cur.execute("DELETE FROM orders WHERE id = " + account)
    # ruleid: sql-built-from-strings
    conn.executemany("UPDATE fills SET qty = {} WHERE id = ?".format(side), [])
    # ruleid: sql-built-from-strings
    sqlalchemy.text(f"SELECT * FROM t WHERE a = {account}")
    # ok: sql-built-from-strings
    cur.execute("SELECT * FROM orders WHERE account = ?", (account,))
    # ok: sql-built-from-strings
    cur.execute("SELECT count(*) FROM orders")
    # ok: sql-built-from-strings
    text("SELECT * FROM t WHERE a = :a")
    # ok: sql-built-from-strings
    print(f"SELECT {account}")


def joined(cur, name: str):
    # ruleid: sql-built-from-strings
    cur.execute(" ".join(["SELECT * FROM t WHERE n =", name]))
    # ok: sql-built-from-strings
    cur.execute(" ".join(["SELECT * FROM t", "WHERE n = ?"]), (name,))
