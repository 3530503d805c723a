"""Order entry: validation and persistence of limit orders."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

MAX_QTY = Decimal("1000000")


@dataclass(frozen=True)
class Order:
    account: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal


def validate(order: Order) -> None:
    if order.side not in ("buy", "sell"):
        raise ValueError("side must be buy or sell")
    if not (Decimal(0) < order.qty <= MAX_QTY):
        raise ValueError("quantity out of range")
    if order.price <= 0:
        raise ValueError("price must be positive")


def save(conn: sqlite3.Connection, order: Order) -> int:
    validate(order)
    cur = conn.execute(
        "INSERT INTO orders (account, symbol, side, qty, price) VALUES (?, ?, ?, ?, ?)",
        (order.account, order.symbol, order.side, str(order.qty), str(order.price)),
    )
    return int(cur.lastrowid or 0)


def open_orders(conn: sqlite3.Connection, account: str) -> list[tuple[str, ...]]:
    rows = conn.execute(
        "SELECT symbol, side, qty, price FROM orders WHERE account = ? AND filled = 0",
        (account,),
    )
    return [tuple(r) for r in rows]
