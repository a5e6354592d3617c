"""Invoices and statements, for the API (bearer tokens) and the dashboard (session)."""

from flask import Blueprint, abort, jsonify, request

from billing.auth import (
    authenticated_user,
    current_account,
    get_user_id,
    is_support_agent,
    partner_claims,
    preferred_currency,
    require_admin,
    token_roles,
)
from billing.models import Currency, Invoice, Statement, db

bp = Blueprint("billing", __name__)


@bp.get("/api/invoices/<int:invoice_id>")
def get_invoice(invoice_id):
    user_id = get_user_id()
    invoice = db.session.get(Invoice, invoice_id)  # expect: BOLA001
    if invoice is None:
        abort(404)
    return jsonify(id=invoice.id, amount=invoice.amount_cents, status=invoice.status)


@bp.get("/api/me/invoices/<int:invoice_id>")
def get_my_invoice(invoice_id):
    invoice = Invoice.query.filter_by(id=invoice_id, owner_id=get_user_id()).first_or_404()
    return jsonify(id=invoice.id, amount=invoice.amount_cents, status=invoice.status)


@bp.post("/api/invoices/<int:invoice_id>/void")
def void_invoice(invoice_id):
    user_id = get_user_id()
    invoice = db.get_or_404(Invoice, invoice_id)
    if invoice.owner_id != user_id:
        abort(404)
    invoice.status = "void"
    db.session.commit()
    return jsonify(id=invoice.id, status=invoice.status)


@bp.get("/invoices/<int:invoice_id>/preview")
def preview_invoice(invoice_id):
    # Shared links: the unguessable token in the link is the authorisation.
    currency = preferred_currency()
    invoice = Invoice.query.filter_by(id=invoice_id, share_token=request.args["t"]).first_or_404()
    return jsonify(id=invoice.id, amount=invoice.amount_cents, currency=currency)


@bp.route("/statements/<int:statement_id>")
def show_statement(statement_id):
    user = authenticated_user()
    statement = Statement.query.get_or_404(statement_id)  # expect: BOLA001
    return jsonify(id=statement.id, period=statement.period, viewer=user.email)


@bp.route("/statements/<int:statement_id>/download")
def download_statement(statement_id):
    user = authenticated_user()
    statement = Statement.query.filter_by(id=statement_id, account_id=user.account_id).first_or_404()
    return statement.pdf


@bp.delete("/statements/<int:statement_id>")
def delete_statement(statement_id):
    account = current_account()
    statement = db.session.get(Statement, statement_id)  # expect: BOLA002
    db.session.delete(statement)
    db.session.commit()
    return "", 204


@bp.post("/statements/<int:statement_id>/archive")
def archive_statement(statement_id):
    account = current_account()
    statement = Statement.query.filter_by(id=statement_id, account_id=account.id).first_or_404()
    statement.period = None
    db.session.commit()
    return "", 204


@bp.get("/currencies/<code>")
def get_currency(code):
    get_user_id()
    currency = db.get_or_404(Currency, code)
    return jsonify(code=currency.code, name=currency.name)


@bp.get("/admin/invoices/<int:invoice_id>")
def admin_invoice(invoice_id):
    if "billing-admin" not in token_roles():  # expect: JWT013
        abort(403)
    invoice = db.get_or_404(Invoice, invoice_id)
    return jsonify(id=invoice.id, owner=invoice.owner_id)


@bp.get("/admin/invoices")
def admin_invoices():
    require_admin()
    invoices = Invoice.query.order_by(Invoice.id.desc()).limit(100).all()
    return jsonify(ids=[i.id for i in invoices])


@bp.post("/support/invoices/<int:invoice_id>/refund")
def refund_invoice(invoice_id):
    if not is_support_agent():
        abort(403)
    invoice = db.get_or_404(Invoice, invoice_id)
    invoice.status = "refunded"
    db.session.commit()
    return jsonify(id=invoice.id, status=invoice.status)


@bp.get("/partners/invoices")
def partner_invoices():
    claims = partner_claims(request.headers["Authorization"].removeprefix("Bearer "))
    invoices = Invoice.query.filter_by(owner_id=int(claims["sub"])).all()
    return jsonify(ids=[i.id for i in invoices])
