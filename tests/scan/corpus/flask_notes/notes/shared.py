"""Class-based views written the way Flask forum and wiki projects write them."""

from flask import jsonify, request
from flask.views import MethodView
from flask_allows import Permission, requires
from flask_login import current_user, login_required

from notes.extensions import db
from notes.models import Notebook
from notes.permissions import CanEditNotebook, IsModerator


class EditNotebook(MethodView):
    # The permission reads the notebook id from the view arguments and checks its owner.
    decorators = [login_required, requires(CanEditNotebook)]

    def post(self, notebook_id):
        notebook = Notebook.query.filter_by(id=notebook_id).first_or_404()
        notebook.title = request.form["title"]
        db.session.commit()
        return jsonify(id=notebook.id)


class ModerateNotebooks(MethodView):
    decorators = [login_required, requires(IsModerator)]

    def post(self):
        for notebook in Notebook.query.filter(Notebook.id.in_(request.form.getlist("ids"))):
            notebook.archived = True
        db.session.commit()
        return jsonify(ok=True)


class UnfollowNotebooks(MethodView):
    decorators = [login_required]

    def post(self):
        chosen = Notebook.query.filter(Notebook.id.in_(request.form.getlist("ids"))).all()
        for notebook in chosen:
            current_user.unfollow(notebook)
        db.session.commit()
        return jsonify(ok=True)


def share_with(notebook_id):
    if not Permission(CanEditNotebook):
        return jsonify(error="forbidden"), 403
    return jsonify(id=notebook_id)
