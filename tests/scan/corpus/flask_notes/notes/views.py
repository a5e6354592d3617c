from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from notes.extensions import db
from notes.models import Note, Notebook, Tag

bp = Blueprint("notes", __name__)


def get_notebook_or_404(notebook_id):
    notebook = db.get_or_404(Notebook, notebook_id)
    if notebook.user_id != current_user.id:
        abort(403)
    return notebook


@bp.route("/notebooks/<int:notebook_id>")
@login_required
def show_notebook(notebook_id):
    notebook = Notebook.query.get_or_404(notebook_id)  # expect: BOLA001
    return render_template("notebook.html", notebook=notebook)


@bp.route("/notebooks/<int:notebook_id>/edit", methods=["GET", "POST"])
@login_required
def edit_notebook(notebook_id):
    notebook = Notebook.query.filter_by(id=notebook_id, user_id=current_user.id).first_or_404()
    if request.method == "POST":
        notebook.title = request.form["title"]
        db.session.commit()
        return redirect(url_for("notes.show_notebook", notebook_id=notebook.id))
    return render_template("edit_notebook.html", notebook=notebook)


@bp.route("/notebooks/<int:notebook_id>", methods=["DELETE"])
@login_required
def delete_notebook(notebook_id):
    notebook = get_notebook_or_404(notebook_id)
    db.session.delete(notebook)
    db.session.commit()
    return "", 204


@bp.route("/notebooks/<int:notebook_id>/rename", methods=["POST"])
@login_required
def rename_notebook(notebook_id):
    notebook = db.session.get(Notebook, notebook_id)  # expect: BOLA002
    if notebook is None:
        abort(404)
    notebook.title = request.form.get("title", notebook.title)
    db.session.commit()
    flash("Renamed")
    return redirect(url_for("notes.show_notebook", notebook_id=notebook_id))


@bp.route("/notebooks/<int:notebook_id>/notes/<int:note_id>")
@login_required
def show_note(notebook_id, note_id):
    notebook = get_notebook_or_404(notebook_id)
    note = Note.query.get_or_404(note_id)  # expect: BOLA004
    return render_template("note.html", notebook=notebook, note=note)


@bp.route("/notebooks/<int:notebook_id>/notes/<int:note_id>/raw")
@login_required
def raw_note(notebook_id, note_id):
    notebook = get_notebook_or_404(notebook_id)
    note = notebook.notes.filter_by(id=note_id).first_or_404()
    return note.body


@bp.route("/notes/<int:note_id>", methods=["DELETE"])
@login_required
def delete_note(note_id):
    note = Note.query.get_or_404(note_id)
    if note.notebook.user_id != current_user.id:
        abort(403)
    db.session.delete(note)
    db.session.commit()
    return "", 204


@bp.route("/notes/move", methods=["POST"])
@login_required
def move_note():
    payload = request.get_json()
    note = Note.query.filter_by(id=payload["note_id"]).first()  # expect: BOLA002
    note.notebook_id = payload["notebook_id"]
    db.session.commit()
    return jsonify(ok=True)


@bp.route("/notebooks", methods=["POST"])
@login_required
def create_notebook():
    data = request.get_json() or {}
    notebook = Notebook(title=data.get("title", "Untitled"), user_id=data.get("user_id", current_user.id))  # expect: BOLA003
    db.session.add(notebook)
    db.session.commit()
    return jsonify(id=notebook.id), 201


@bp.route("/notebooks/new", methods=["POST"])
@login_required
def new_notebook():
    notebook = Notebook(title=request.form["title"], user_id=current_user.id)
    db.session.add(notebook)
    db.session.commit()
    return redirect(url_for("notes.show_notebook", notebook_id=notebook.id))


@bp.route("/tags/<int:tag_id>")
@login_required
def show_tag(tag_id):
    tag = Tag.query.get_or_404(tag_id)
    return jsonify(id=tag.id, name=tag.name)


@bp.route("/search")
@login_required
def search():
    q = request.args.get("q", "")
    notebook_id = request.args.get("notebook", type=int)
    notebook = current_user.notebooks.filter_by(id=notebook_id).first_or_404()
    results = notebook.notes.filter(Note.body.contains(q)).all()
    return render_template("search.html", results=results)
