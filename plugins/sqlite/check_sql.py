#!/usr/bin/env python3
"""Runs the plugin's catalog queries (src/sql/*.sql) against the demo
database and a few awkward schemas, with Python's sqlite3 module.

The plugin itself only runs inside the host, so this is how its SQL is
checked on its own: every query must run, and return what the plugin
expects. Usage: python3 plugins/sqlite/check_sql.py  (from anywhere).
Needs SQLite >= 3.38 (json_each built in, pragma table-valued functions).
"""

import json
import pathlib
import sqlite3
import sys

HERE = pathlib.Path(__file__).resolve().parent
SQL = {p.stem: p.read_text() for p in (HERE / "src" / "sql").glob("*.sql")}
DEMO = (HERE / ".." / ".." / "examples" / "demo" / "demo.sql").read_text()


def run(conn, name, names=None):
    params = () if names is None else (json.dumps(names),)
    cur = conn.execute(SQL[name], params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def check(condition, message):
    if not condition:
        sys.exit(f"FAILED: {message}")


def demo():
    conn = sqlite3.connect(":memory:")
    conn.executescript(DEMO)

    tables = run(conn, "discover_tables")
    names = [t["name"] for t in tables]
    check(len(names) >= 8 and not any(n.startswith("sqlite_") for n in names), f"discover: {names}")
    check(all(isinstance(t["cost"], int) and t["cost"] >= 1 for t in tables), "discover: cost")

    objects = run(conn, "objects", names + ["no_such_table"])
    check(sorted(o["name"] for o in objects) == sorted(names), "objects: exactly the existing ones")

    columns = run(conn, "columns", names)
    by_table = {}
    for c in columns:
        by_table.setdefault(c["tbl"], []).append(c)
    check(set(by_table) == set(names), "columns: every table and view")
    check([c["name"] for c in by_table["order_items"]][:2] == ["order_id", "line_no"], "columns: order")

    indexes = run(conn, "indexes", names)
    unique = {(i["tbl"], i["idx"]) for i in indexes if i["origin"] == "u"}
    check(("order_items", "sqlite_autoindex_order_items_2") in unique, f"indexes: {unique}")
    check(not any(i["tbl"] == "customers" and i["origin"] == "pk" for i in indexes), "INTEGER PRIMARY KEY has no index")

    fks = run(conn, "foreign_keys", names)
    composite = [(f["col"], f["ref_col"]) for f in fks if f["tbl"] == "orders" and f["ref_table"] == "addresses"]
    check(composite == [("customer_id", "customer_id"), ("shipping_address_no", "address_no")], f"composite FK: {composite}")
    implicit = [f for f in fks if f["tbl"] == "product_categories" and f["ref_table"] == "categories"]
    check([f["ref_col"] for f in implicit] == ["id"], "FK to the implicit primary key resolved")
    print(f"demo: {len(names)} objects, {len(columns)} columns, {len(indexes)} index rows, {len(fks)} FK rows")


def awkward():
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        """
        CREATE TABLE Parent (A INT, B INT, PRIMARY KEY (A, B));
        CREATE TABLE child (x INT, y INT, FOREIGN KEY (X, Y) REFERENCES PARENT);
        CREATE TABLE other (p INT REFERENCES parent (a));
        CREATE TABLE gen (k INT PRIMARY KEY, g INT AS (k * 2)) WITHOUT ROWID;
        CREATE TABLE src (a INT);
        CREATE VIEW broken AS SELECT a FROM src;
        DROP TABLE src;
        """
    )
    names = [t["name"] for t in run(conn, "discover_tables")]
    check("broken" in names, "discover survives a broken view")

    fks = run(conn, "foreign_keys", ["child", "other"])
    got = [(f["tbl"], f["col"], f["ref_table"], f["ref_col"]) for f in fks]
    check(
        got == [("child", "x", "Parent", "A"), ("child", "y", "Parent", "B"), ("other", "p", "Parent", "A")],
        f"names resolved to their declared case: {got}",
    )
    gen = [c["name"] for c in run(conn, "columns", ["gen"])]
    check(gen == ["k", "g"], f"generated columns included: {gen}")
    try:
        run(conn, "columns", ["broken", "gen"])
        check(False, "a broken view should fail the batch query (the plugin then retries per object)")
    except sqlite3.OperationalError:
        pass
    check(run(conn, "indexes", ["broken", "gen"]) != [], "indexes ignore views")
    print("awkward schemas: ok")


if __name__ == "__main__":
    print(f"SQLite {sqlite3.sqlite_version}")
    demo()
    awkward()
