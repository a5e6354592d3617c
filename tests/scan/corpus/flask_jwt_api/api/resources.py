from flask import Blueprint, abort, jsonify, request
from flask_jwt_extended import create_access_token, get_jwt_identity, jwt_required

from api.extensions import db
from api.models import Account, Invoice, Plan

bp = Blueprint("api", __name__)


@bp.post("/login")
def login():
    body = request.get_json()
    account = Account.query.filter_by(email=body["email"]).one_or_none()
    if account is None or not account.verify(body["password"]):
        return jsonify(msg="bad credentials"), 401
    return jsonify(access_token=create_access_token(identity=str(account.id)))


@bp.get("/invoices/<int:invoice_id>")
@jwt_required()
def get_invoice(invoice_id):
    invoice = Invoice.query.get(invoice_id)  # expect: BOLA001
    if invoice is None:
        abort(404)
    return jsonify(id=invoice.id, amount=invoice.amount_cents)


@bp.get("/me/invoices/<int:invoice_id>")
@jwt_required()
def get_my_invoice(invoice_id):
    account_id = int(get_jwt_identity())
    invoice = Invoice.query.filter_by(id=invoice_id, account_id=account_id).first()
    if invoice is None:
        abort(404)
    return jsonify(id=invoice.id, amount=invoice.amount_cents)


@bp.post("/invoices/<int:invoice_id>/pay")
@jwt_required()
def pay_invoice(invoice_id):
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.account_id != int(get_jwt_identity()):
        return jsonify(msg="not found"), 404
    invoice.paid = True
    db.session.commit()
    return jsonify(paid=True)


@bp.delete("/invoices/<int:invoice_id>")
@jwt_required()
def delete_invoice(invoice_id):
    Invoice.query.filter_by(id=invoice_id).delete()  # expect: BOLA002
    db.session.commit()
    return "", 204


@bp.get("/accounts/<int:account_id>/invoices")
@jwt_required()
def list_invoices(account_id):
    invoices = Invoice.query.filter_by(account_id=account_id).all()  # expect: BOLA003
    return jsonify([{"id": i.id} for i in invoices])


@bp.get("/accounts/<int:account_id>/invoices/export")
@jwt_required()
def export_invoices(account_id):
    if account_id != int(get_jwt_identity()):
        abort(403)
    invoices = Invoice.query.filter_by(account_id=account_id).all()
    return jsonify([{"id": i.id, "amount": i.amount_cents} for i in invoices])


@bp.get("/plans/<int:plan_id>")
@jwt_required()
def get_plan(plan_id):
    plan = Plan.query.get_or_404(plan_id)
    return jsonify(id=plan.id, name=plan.name)


@bp.get("/invoices/lookup")
@jwt_required()
def lookup_invoice():
    invoice_id = request.args.get("id", type=int)
    invoice = Invoice.query.filter(Invoice.id == invoice_id).first()  # expect: BOLA001
    return jsonify(id=invoice.id) if invoice else ("", 404)
