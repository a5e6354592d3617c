"""Patterns met in published web projects and JWT libraries, written from scratch.

Each test names the shape of real code it mirrors; none copies it. The fixtures
are as small as the rule needs: the finding or its absence is the point.
"""

from __future__ import annotations

from pathlib import Path

from ledger.scan import scan


def _findings(root: Path, **files: str) -> set[tuple[str, int, str]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return {(f.path, f.line, f.rule.id) for f in scan([root]).active}


UNVERIFIED_PEEK = """\
import jwt
from jwt import PyJWKClient


def test_issued_token_carries_the_user():
    claims = jwt.decode(issued["access"], options={"verify_signature": False})
    assert claims["role"] == "admin"
    assert jwt.decode(issued["access"], public_key)["sub"] == "1"
    client = PyJWKClient(url, cache_keys=True)
"""


def test_test_code_is_not_reported(tmp_path: Path) -> None:
    # Library and application test suites decode the tokens they issued without
    # verification to look at the claims, decode without pinning algorithms, and
    # build key clients with caching on; none of it runs in a service.
    found = _findings(
        tmp_path,
        **{"tests/test_tokens.py": UNVERIFIED_PEEK, "app/tokens.py": UNVERIFIED_PEEK},
    )
    assert found
    assert {path for path, _, _ in found} == {"app/tokens.py"}


def test_settings_of_test_configuration_are_not_reported(tmp_path: Path) -> None:
    # A test configuration switches token expiry off to keep fixtures valid.
    app = "from flask_jwt_extended import JWTManager\n\napp.config['JWT_SECRET_KEY'] = key()\n"
    conf = "def app():\n    app.config['JWT_ACCESS_TOKEN_EXPIRES'] = False\n"
    assert _findings(tmp_path, **{"svc/app.py": app, "tests/conftest.py": conf}) == set()


OPTIONAL_VERIFICATION = """\
import jwt
from authlib.jose import JsonWebKey, jwt as authlib_jwt


class Security:
    def azure_claims(self, id_token):
        # The verified decode runs only when the deployment switches it on.
        if self.verify_signature:
            keyset = JsonWebKey.import_key_set(self.jwks())
            claims = authlib_jwt.decode(id_token, keyset, claims_options=self.claims_options)
            claims.validate()
            return claims
        return jwt.decode(id_token, options={"verify_signature": False})  # expect JWT001

    def picked_key(self, token):
        # Unverified claims choose the issuer's key; every arm then verifies.
        unverified = jwt.decode(token, options={"verify_signature": False})
        if unverified["iss"] == self.first_issuer:
            return jwt.decode(token, self.k1, algorithms=["RS256"], audience="api", issuer="a")
        elif unverified["iss"] == self.second_issuer:
            return jwt.decode(token, self.k2, algorithms=["RS256"], audience="api", issuer="b")
        else:
            return jwt.decode(token, self.k3, algorithms=["RS256"], audience="api", issuer="c")

    def returned_first(self, token, verify):
        if not verify:
            return jwt.decode(token, options={"verify_signature": False})  # expect JWT001
        return jwt.decode(token, self.key, algorithms=["HS256"])
"""


def test_verified_decode_must_run_on_the_unverified_decode_path(tmp_path: Path) -> None:
    # Mirrors SSO integrations that verify an identity-provider token only behind a
    # configuration switch and otherwise hand back the unverified claims.
    found = _findings(tmp_path, **{"auth/security.py": OPTIONAL_VERIFICATION})
    lines = OPTIONAL_VERIFICATION.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect JWT001" in text}
    assert {line for _, line, rule in found if rule == "JWT001"} == expected


EXPIRY_CHECKED_ELSEWHERE = """\
import time

import jwt

NO_EXP = {"verify_exp": False}


class Guard:
    def extract(self, token):
        # The library checks the expiry itself, to tell expired access from refresh.
        data = jwt.decode(token, self.key, algorithms=["HS256"], options={"verify_exp": False})
        self._validate(data)
        return data

    def _validate(self, data):
        if time.time() > data["exp"]:
            raise PermissionError("expired")

    def unchecked(self, token):
        data = jwt.decode(token, KEY, algorithms=["HS256"], options=NO_EXP)  # expect JWT008
        self._log(data)
        return data

    def _log(self, data):
        print(data["sub"])


def decode_token(token, key, allow_expired=False):
    # A library helper whose caller asks for expired tokens to be read (for refresh).
    options = {"verify_aud": False}
    if allow_expired:
        options["verify_exp"] = False
    return jwt.decode(token, key, algorithms=["HS256"], options=options)


def decode_legacy(token, key):
    options = {}
    if LEGACY:
        options["verify_exp"] = False
    return jwt.decode(token, key, algorithms=["HS256"], options=options)  # expect JWT008
"""


def test_time_claims_checked_by_a_helper_or_disabled_by_the_caller(tmp_path: Path) -> None:
    # Mirrors a Flask auth extension that validates 'exp' in its own helper, and one
    # whose decode function lets its caller accept expired tokens.
    found = _findings(tmp_path, **{"ext/base.py": EXPIRY_CHECKED_ELSEWHERE})
    lines = EXPIRY_CHECKED_ELSEWHERE.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect JWT008" in text}
    assert {line for _, line, rule in found if rule == "JWT008"} == expected


HAND_DECODED = """\
import base64
import json

from authlib.jose import JsonWebKey, jwt as authlib_jwt


def token_info(id_token, jwks, verify_signature):
    # An SSO login that verifies the identity token only when configured to.
    if verify_signature:
        claims = authlib_jwt.decode(id_token, JsonWebKey.import_key_set(jwks))
        claims.validate()
        return claims
    parts = id_token.split(".")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))  # expect JWT013


def expiry(token):
    parts = token.split(".")
    return json.loads(base64.urlsafe_b64decode(parts[1] + "=="))["exp"]
"""


def test_payload_split_into_a_local_then_decoded_by_hand(tmp_path: Path) -> None:
    found = _findings(tmp_path, **{"auth/sso.py": HAND_DECODED})
    lines = HAND_DECODED.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect JWT013" in text}
    assert {line for _, line, rule in found if rule == "JWT013"} == expected


FORUM_MODELS = """\
from app.extensions import db


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)


class Forum(db.Model):
    __tablename__ = "forums"
    id = db.Column(db.Integer, primary_key=True)
    last_post_user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    last_post_id = db.Column(db.Integer, db.ForeignKey("drafts.id"))
    moderated_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))


class Draft(db.Model):
    __tablename__ = "drafts"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    last_edited_by = db.Column(db.Integer, db.ForeignKey("users.id"))
"""
FORUM_VIEWS = """\
from flask import render_template
from flask.views import MethodView
from flask_login import login_required

from app.models import Draft, Forum


class NewTopic(MethodView):
    decorators = [login_required]

    def get(self, forum_id):
        forum = Forum.query.filter_by(id=forum_id).first_or_404()
        return render_template("forum.html", forum=forum)


class EditDraft(MethodView):
    decorators = [login_required]

    def get(self, draft_id):
        draft = Draft.query.filter_by(id=draft_id).first_or_404()  # expect BOLA001
        return render_template("draft.html", draft=draft)
"""


def test_last_actor_columns_do_not_make_a_model_owned(tmp_path: Path) -> None:
    # Mirrors a forum whose boards record their last poster: reading a board by id is
    # no one's private object, while a draft with a user_id still is.
    found = _findings(tmp_path, **{"app/models.py": FORUM_MODELS, "app/views.py": FORUM_VIEWS})
    lines = FORUM_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA001" in text}
    assert {line for path, line, _ in found if path == "app/views.py"} == expected


DRF_MODELS = """\
from django.conf import settings
from django.db import models


class Report(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""
DRF_BASE = """\
from rest_framework.viewsets import ModelViewSet as DrfModelViewSet


class RestrictedMixin:
    def restrict_queryset(self, request):
        self.queryset = self.queryset.restrict(request.user, request.method)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.restrict_queryset(request)


class ModelViewSet(RestrictedMixin, DrfModelViewSet):
    pass


class LoggedModelViewSet(DrfModelViewSet):
    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
"""
DRF_VIEWS = """\
from core.api.views import LoggedModelViewSet, ModelViewSet
from reports.models import Report


class ReportViewSet(ModelViewSet):
    queryset = Report.objects.all()


class LoggedReportViewSet(LoggedModelViewSet):  # expect BOLA005
    queryset = Report.objects.all()
"""


def test_drf_views_on_a_project_base_that_restricts_the_queryset(tmp_path: Path) -> None:
    # Mirrors a network inventory whose own ModelViewSet restricts every queryset to the
    # requesting user in initial(); views built on it are scoped. A base that only
    # stamps the owner on create scopes nothing.
    found = _findings(
        tmp_path,
        **{
            "reports/models.py": DRF_MODELS,
            "core/api/views.py": DRF_BASE,
            "reports/api/views.py": DRF_VIEWS,
        },
    )
    lines = DRF_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA005" in text}
    assert {line for _, line, rule in found if rule == "BOLA005"} == expected


LABEL_MODELS = """\
from django.conf import settings
from django.db import models


class Task(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""
LABEL_VIEWS = """\
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks.models import Task


class ResolveMixin:
    def resolve(self, request, uri, instance):
        if not instance.has_permission(request.user):
            return Response(status=403)
        return Response({"url": uri})

    def describe(self, request, uri, instance):
        return Response({"url": uri, "id": instance.id})


class TaskResolve(ResolveMixin, APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request, *args, **kwargs):
        task = Task.objects.get(pk=kwargs.get("task_id"))
        return self.resolve(request, request.GET.get("uri"), task)


class TaskDescribe(ResolveMixin, APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request, *args, **kwargs):
        task = Task.objects.get(pk=kwargs.get("task_id"))  # expect BOLA001
        return self.describe(request, request.GET.get("uri"), task)
"""


def test_object_checked_in_a_helper_it_is_handed_to(tmp_path: Path) -> None:
    # Mirrors an annotation tool whose views load a task by id and pass it to a shared
    # mixin method that refuses unless the task grants the requesting user access.
    found = _findings(tmp_path, **{"tasks/models.py": LABEL_MODELS, "storage/api.py": LABEL_VIEWS})
    lines = LABEL_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA001" in text}
    assert {line for _, line, rule in found if rule == "BOLA001"} == expected


MESSAGE_MODELS = """\
from uuid import UUID

from sqlmodel import Field, SQLModel


class Note(SQLModel, table=True):
    id: UUID = Field(primary_key=True)
    text: str
    user_id: UUID = Field(foreign_key="user.id")
"""
MESSAGE_ROUTES = """\
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException
from sqlmodel import Session

from app.deps import get_current_active_user, get_session
from app.models import Note

router = APIRouter()


@router.put("/notes/{note_id}")
def update_note(note_id: UUID, body: dict, session: Session = Depends(get_session),
                user=Depends(get_current_active_user)):
    note = session.get(Note, note_id)  # expect BOLA002
    if not note:
        raise HTTPException(status_code=404)
    note.sqlmodel_update(body)
    session.add(note)
    session.commit()
    return note


@router.delete("/notes/{note_id}")
def delete_note(note_id: UUID, session: Session = Depends(get_session),
                user=Depends(get_current_active_user)):
    note = session.get(Note, note_id)  # expect BOLA002
    session.delete(note)
    session.commit()


@router.get("/notes/{note_id}")
def read_note(note_id: UUID, session: Session = Depends(get_session),
              user=Depends(get_current_active_user)):
    note = session.get(Note, note_id)  # expect BOLA001
    seen = set()
    seen.add(note)
    return note
"""


def test_row_changed_through_the_session_is_a_write(tmp_path: Path) -> None:
    # Mirrors SQLModel services whose update routes load a row by id, apply the body
    # with ``sqlmodel_update`` and ``session.add`` it before committing, and whose delete
    # routes pass the row to ``session.delete``: changes, not reads.
    found = _findings(
        tmp_path, **{"app/models.py": MESSAGE_MODELS, "app/routes.py": MESSAGE_ROUTES}
    )
    lines = MESSAGE_ROUTES.splitlines()
    expected = {
        (i, text.split("# expect ")[1])
        for i, text in enumerate(lines, start=1)
        if "# expect " in text
    }
    assert {(line, rule) for path, line, rule in found if path == "app/routes.py"} == expected


OVERRIDE_BASE = """\
from rest_framework import permissions, viewsets


class IsReportOwner(permissions.BasePermission):
    def has_object_permission(self, request, view, obj):
        return obj.owner_id == request.user.id


class OwnedViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.IsAuthenticated, IsReportOwner]


class OwnedMiddleViewSet(OwnedViewSet):
    permission_classes = [permissions.IsAuthenticated]
"""
OVERRIDE_VIEWS = """\
from rest_framework import permissions

from core.api.base import OwnedMiddleViewSet, OwnedViewSet
from reports.models import Report


class ReportViewSet(OwnedViewSet):
    queryset = Report.objects.all()


class PublicReportViewSet(OwnedViewSet):  # expect BOLA005
    queryset = Report.objects.all()
    permission_classes = [permissions.IsAuthenticated]


class MiddleReportViewSet(OwnedMiddleViewSet):  # expect BOLA005
    queryset = Report.objects.all()
"""


def test_a_view_permission_classes_replace_those_of_its_base(tmp_path: Path) -> None:
    # Mirrors projects whose base viewset names an owner permission that most views
    # inherit, while some views (or an intermediate base) set their own list, which
    # DRF uses instead of the base's: the owner check no longer runs for them.
    found = _findings(
        tmp_path,
        **{
            "reports/models.py": DRF_MODELS,
            "core/api/base.py": OVERRIDE_BASE,
            "reports/api/views.py": OVERRIDE_VIEWS,
        },
    )
    lines = OVERRIDE_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA005" in text}
    assert {line for path, line, _ in found if path == "reports/api/views.py"} == expected


NOTE_MODELS = """\
from app.extensions import db


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)


class Note(db.Model):
    __tablename__ = "notes"
    id = db.Column(db.Integer, primary_key=True)
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id"))
"""
NOTE_VIEWS = """\
from flask import abort, jsonify, render_template
from flask_login import current_user, login_required

from app.audit import log_access
from app.models import Note
from app.sharing import user_can_view


@app.route("/notes/<int:note_id>")
@login_required
def show(note_id):
    note = Note.query.get_or_404(note_id)  # expect BOLA001
    return render_template("note.html", note=note, user=current_user)


@app.route("/notes/<int:note_id>/raw")
@login_required
def raw(note_id):
    note = Note.query.get_or_404(note_id)  # expect BOLA001
    log_access(note, current_user)
    return jsonify(text=note.text, mine=note.owner_id == current_user.id)


@app.route("/notes/<int:note_id>/shared")
@login_required
def shared(note_id):
    note = Note.query.get_or_404(note_id)
    if not note.readers.filter_by(id=current_user.id).first():
        abort(403)
    return render_template("note.html", note=note, user=current_user)


@app.route("/notes/<int:note_id>/view")
@login_required
def view(note_id):
    note = Note.query.get_or_404(note_id)
    if not user_can_view(current_user, note):
        abort(404)
    return render_template("note.html", note=note)


@app.route("/notes/<int:note_id>/members")
@login_required
def members(note_id):
    note = Note.query.get_or_404(note_id)
    member = note.readers.filter_by(id=current_user.id).count()
    if not member:
        return jsonify(error="not found"), 404
    return jsonify(text=note.text)


@app.route("/notes/<int:note_id>/follow", methods=["POST"])
@login_required
def follow(note_id):
    # The caller records its own relation to the note: the note is shared content.
    note = Note.query.get_or_404(note_id)
    current_user.follow_note(note)
    return jsonify(ok=True)


@app.route("/notes/<int:note_id>/unsubscribe/<secret>")
@login_required
def unsubscribe(note_id, secret):
    # An emailed link: the secret in it is the permission.
    note = Note.query.filter_by(id=note_id, unsubscribe_secret=secret).first_or_404()
    return jsonify(id=note.id, user=current_user.id)


@app.route("/notes/<int:note_id>/history")
@login_required
def history(note_id):
    # The note is checked; the revisions listed are found by the same id.
    note = Note.query.get_or_404(note_id)
    if not user_can_view(current_user, note):
        abort(404)
    return jsonify(revisions=Note.query.filter_by(parent_id=note_id).all())
"""


def test_handing_object_and_user_to_a_call_is_no_check(tmp_path: Path) -> None:
    # Mirrors Flask and Django views that pass the loaded row and the requesting user
    # together to a template or an audit log: neither decides access. A membership
    # query whose answer stops the request, or a can_* helper, does.
    found = _findings(tmp_path, **{"app/models.py": NOTE_MODELS, "app/views.py": NOTE_VIEWS})
    lines = NOTE_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA001" in text}
    assert {line for path, line, _ in found if path == "app/views.py"} == expected


SHOP_ABSTRACT = """\
from django.conf import settings
from django.db import models


class AbstractBasket(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        abstract = True


class AbstractReview(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        abstract = True
"""
SHOP_MODELS = """\
from shop.basket.abstract_models import AbstractBasket, AbstractReview


class Basket(AbstractBasket):
    pass


class Review(AbstractReview):
    pass
"""
SHOP_VIEWS = """\
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from shop.basket.models import Basket, Review


@login_required
def basket_total(request, pk):
    basket = Basket.objects.get(pk=pk)  # expect BOLA001
    return JsonResponse({"total": basket.total})


@login_required
def vote(request, pk):
    review = get_object_or_404(Review, pk=pk)
    review.vote_up(request.user)
    return JsonResponse({"ok": True})
"""


def test_concrete_models_inherit_the_owner_of_their_abstract_base(tmp_path: Path) -> None:
    # Mirrors django-oscar's apps, whose concrete models only subclass the abstract ones
    # that declare the user foreign key; voting on someone's review is a relation of the
    # caller's own to shared content, not a read of a private row.
    found = _findings(
        tmp_path,
        **{
            "shop/basket/abstract_models.py": SHOP_ABSTRACT,
            "shop/basket/models.py": SHOP_MODELS,
            "shop/basket/views.py": SHOP_VIEWS,
        },
    )
    lines = SHOP_VIEWS.splitlines()
    expected = {i for i, text in enumerate(lines, start=1) if "# expect BOLA001" in text}
    assert {line for path, line, _ in found if path == "shop/basket/views.py"} == expected


ROLE_VIEWS = """\
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from reports.models import Report


@permission_required("reports.change_report")
def retitle(request, pk):
    report = get_object_or_404(Report, pk=pk)
    report.title = request.POST["title"]
    report.save()
    return JsonResponse({"ok": True})


@login_required
def archive(request, pk):
    report = get_object_or_404(Report, pk=pk)
    if not request.user.has_perm("reports.delete_report"):
        raise PermissionDenied
    report.delete()
    return JsonResponse({"ok": True})


@login_required
def publish(request, pk):
    report = get_object_or_404(Report, pk=pk)  # expect BOLA002
    params = request.GET.copy()
    report.published = True
    report.save()
    return JsonResponse({"ok": True, "next": params.get("next")})
"""
ROLE_SERVICES = """\
from reports.models import Report


def copy(report_id):
    return Report.objects.get(pk=report_id)
"""
ROLE_API = """\
from typing import ClassVar

from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated

from reports.models import Report


class ReportViewSet(viewsets.ModelViewSet):
    queryset = Report.objects.all()
    permission_classes: ClassVar[list] = [IsAuthenticated]

    def visible_reports(self):
        return Report.objects.filter(owner=self.request.user)

    def get_queryset(self):
        return self.visible_reports().order_by("-id")


class StorageDetailAPI(generics.RetrieveUpdateDestroyAPIView):
    permission_required = "reports.change_report"


class ReportStorageDetailAPI(StorageDetailAPI):
    queryset = Report.objects.all()
"""


def test_role_gated_views_and_scoping_through_a_method(tmp_path: Path) -> None:
    # Mirrors CMS and helpdesk views gated by a Django model permission (granted to a
    # role for every row), DRF viewsets whose get_queryset filters through a method of
    # their own, and storage views inheriting a declared permission from their base. A
    # project function named ``copy`` says nothing of ``request.GET.copy()``.
    found = _findings(
        tmp_path,
        **{
            "reports/models.py": DRF_MODELS,
            "reports/views.py": ROLE_VIEWS,
            "reports/services.py": ROLE_SERVICES,
            "reports/api.py": ROLE_API,
        },
    )
    lines = ROLE_VIEWS.splitlines()
    expected = {
        ("reports/views.py", i) for i, text in enumerate(lines, start=1) if "# expect" in text
    }
    assert {(path, line) for path, line, _ in found} == expected


CBV_MODELS = """\
from django.conf import settings
from django.db import models


class Invoice(models.Model):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)


class Product(models.Model):
    title = models.CharField(max_length=80)
"""
CBV_MIXINS = """\
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views.generic import DetailView


class CustomerPageView(LoginRequiredMixin, DetailView):
    template_name = "billing/page.html"


class SignedInMixin:
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect("login")
        return super().dispatch(request, *args, **kwargs)


class CustomerInvoiceMixin:
    def get_queryset(self):
        return super().get_queryset().filter(customer=self.request.user)
"""
CBV_VIEWS = """\
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)
from django.core.exceptions import PermissionDenied
from django.utils.decorators import method_decorator
from django.views import generic
from django.views.generic import DeleteView, DetailView, UpdateView

from billing.mixins import CustomerInvoiceMixin, CustomerPageView, SignedInMixin
from billing.models import Invoice, Post, Product


class InvoiceDetail(LoginRequiredMixin, DetailView):  # expect BOLA001
    model = Invoice


class InvoiceEdit(LoginRequiredMixin, generic.UpdateView):  # expect BOLA002
    queryset = Invoice.objects.select_related("customer").all()
    fields = ["note"]

    def form_valid(self, form):
        form.instance.edited_by = self.request.user
        return super().form_valid(form)


@method_decorator(login_required, name="dispatch")
class InvoiceDelete(DeleteView):  # expect BOLA002
    model = Invoice


class InvoiceVoid(SignedInMixin, DeleteView):  # expect BOLA002
    model = Invoice


class InvoicePrint(DetailView):  # expect BOLA001
    model = Invoice


class InvoiceCard(CustomerPageView):  # expect BOLA001
    model = Invoice


class SharedInvoice(LoginRequiredMixin, DetailView):
    model = Invoice
    slug_field = "share_token"


class StaffInvoiceDetail(LoginRequiredMixin, DetailView):
    model = Invoice


class InvoiceList(LoginRequiredMixin, DetailView):  # expect BOLA001
    def get_queryset(self):
        return Invoice.objects.select_related("customer")


class MyInvoice(LoginRequiredMixin, DetailView):
    model = Invoice

    def get_queryset(self):
        return Invoice.objects.filter(customer=self.request.user)


class MyInvoiceByManager(LoginRequiredMixin, DetailView):
    model = Invoice

    def get_queryset(self):
        return Invoice.objects.for_user(self.request.user)


class MyInvoiceThroughMixin(LoginRequiredMixin, CustomerInvoiceMixin, UpdateView):
    model = Invoice


class CheckedInvoice(LoginRequiredMixin, DetailView):
    model = Invoice

    def get_object(self, queryset=None):
        invoice = super().get_object(queryset)
        if invoice.customer != self.request.user:
            raise PermissionDenied
        return invoice


class TestedInvoice(LoginRequiredMixin, UserPassesTestMixin, UpdateView):
    model = Invoice

    def test_func(self):
        return self.get_object().customer == self.request.user


class ClerkInvoice(LoginRequiredMixin, PermissionRequiredMixin, UpdateView):
    model = Invoice
    permission_required = "billing.change_invoice"


@method_decorator(permission_required("billing.delete_invoice"), name="dispatch")
@method_decorator(login_required, name="dispatch")
class ClerkInvoiceDelete(DeleteView):
    model = Invoice


class GuardedInvoice(LoginRequiredMixin, DeleteView):
    model = Invoice

    def dispatch(self, request, *args, **kwargs):
        if self.get_object().customer_id != request.user.pk:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PublicPost(DetailView):
    model = Post


class PublishedPost(LoginRequiredMixin, DetailView):
    queryset = Post.objects.filter(published=True)


class ProductEdit(LoginRequiredMixin, UpdateView):
    model = Product
"""
CBV_URLS = """\
from django.contrib.auth.decorators import login_required
from django.urls import path

from billing import views

urlpatterns = [
    path("print/<int:pk>/", login_required(views.InvoicePrint.as_view())),
]
"""
CBV_MESSAGES = """\
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import View

from billing.models import Invoice


class DeleteView(LoginRequiredMixin, View):
    def post(self, request, *args, **kwargs):
        Invoice.objects.filter(customer=request.user, pk__in=request.POST.getlist("pks")).delete()


class ArchiveView(DeleteView):
    model = Invoice


class DetailView(LoginRequiredMixin, View):
    def get(self, request, *args, **kwargs):
        return None
"""


def test_django_generic_views_serving_owned_rows(tmp_path: Path) -> None:
    # Mirrors billing, blog and webshop apps built on Django's generic views: a signed-in
    # detail, edit or delete page whose lookup is the class's own ``model``. Scoped views
    # filter get_queryset by the user (directly, through a manager or a project mixin),
    # check in get_object, dispatch or test_func, or are gated by a model permission;
    # public posts, filtered querysets and catalogue models are no one's private rows. A
    # messaging app's own ``DeleteView(View)`` is not Django's generic one, and does not
    # hide that a project base imports Django's ``DetailView`` of the same name. A row
    # looked up by a share token is reached by whoever holds the link.
    found = _findings(
        tmp_path,
        **{
            "billing/models.py": CBV_MODELS,
            "billing/mixins.py": CBV_MIXINS,
            "billing/views.py": CBV_VIEWS,
            "billing/urls.py": CBV_URLS,
            "messages/views.py": CBV_MESSAGES,
        },
    )
    lines = CBV_VIEWS.splitlines()
    expected = {
        ("billing/views.py", i, text.split("# expect ")[1])
        for i, text in enumerate(lines, start=1)
        if "# expect " in text
    }
    assert found == expected


MANAGED_MODELS = """\
from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from core.tenancy import current_tenant


class TenantManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(tenant=current_tenant())


class LiveManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Talk(models.Model):
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE)
    speaker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    objects = ScopedManager(event="event")


class Ticket(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE)
    objects = TenantManager()


class Note(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    objects = LiveManager()
"""
MANAGED_VIEWS = """\
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import DeleteView, DetailView, UpdateView

from notes.models import Note, Talk, Ticket


class TalkDetail(LoginRequiredMixin, DetailView):
    model = Talk


class TicketEdit(LoginRequiredMixin, UpdateView):
    model = Ticket


class NoteDelete(LoginRequiredMixin, DeleteView):  # expect BOLA002
    model = Note


class NoteReview(LoginRequiredMixin, DetailView):
    model = Note
"""
MANAGED_STAFF = """\
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import UpdateView

from notes.models import Note


class NoteEdit(LoginRequiredMixin, UpdateView):
    model = Note
"""
MANAGED_URLS = """\
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import path

from notes.views import NoteReview

urlpatterns = [path("review/<int:pk>/", staff_member_required(NoteReview.as_view()))]
"""


def test_generic_views_on_scoped_managers_and_role_gated_urls(tmp_path: Path) -> None:
    # Mirrors conference and helpdesk apps whose models' default manager scopes every
    # query to the active event or tenant (django-scopes, a thread-local tenant), and
    # views wrapped in a staff decorator where the URLs are declared. A manager that
    # only hides soft-deleted rows scopes nothing. The staff module's views are gated
    # as a whole where its URLs are included.
    found = _findings(
        tmp_path,
        **{
            "notes/models.py": MANAGED_MODELS,
            "notes/views.py": MANAGED_VIEWS,
            "notes/urls.py": MANAGED_URLS,
            "notes/staff.py": MANAGED_STAFF,
        },
    )
    lines = MANAGED_VIEWS.splitlines()
    expected = {
        ("notes/views.py", i, text.split("# expect ")[1])
        for i, text in enumerate(lines, start=1)
        if "# expect " in text
    }
    assert found == expected
