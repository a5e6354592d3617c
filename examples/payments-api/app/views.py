import sqlite3

from flask import Flask, abort, jsonify, request

from app.auth import current_user_id, is_admin
from app.models import Currency, Invoice, db

app = Flask(__name__)


@app.get("/invoices/<int:invoice_id>")
def get_invoice(invoice_id):
    user_id = current_user_id()
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    return jsonify(id=invoice.id, amount=invoice.amount_cents, memo=invoice.memo)


@app.delete("/invoices/<int:invoice_id>")
def delete_invoice(invoice_id):
    user_id = current_user_id()
    invoice = Invoice.query.filter_by(id=invoice_id, owner_id=user_id).first_or_404()
    db.session.delete(invoice)
    db.session.commit()
    return "", 204


@app.get("/currencies/<code>")
def get_currency(code):
    currency = db.session.get(Currency, code)
    return jsonify(code=currency.code, name=currency.name)


@app.get("/reports/search")
def search_reports():
    if not is_admin():
        abort(403)
    term = request.args.get("q", "")
    conn = sqlite3.connect("reports.db")
    rows = conn.execute("SELECT * FROM reports WHERE title LIKE '%" + term + "%'").fetchall()
    return jsonify(rows=rows)


if __name__ == "__main__":
    app.run(debug=True)
