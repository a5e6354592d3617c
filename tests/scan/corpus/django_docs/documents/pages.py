from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.utils.decorators import method_decorator
from django.views.generic import DeleteView, DetailView, UpdateView

from documents.models import Document, Folder, License


class DocumentPage(LoginRequiredMixin, DetailView):  # expect: BOLA001
    model = Document
    template_name = "documents/page.html"


class FolderRename(LoginRequiredMixin, UpdateView):  # expect: BOLA002
    queryset = Folder.objects.all()
    fields = ["name"]


class MyDocumentPage(LoginRequiredMixin, DetailView):
    model = Document

    def get_queryset(self):
        return Document.objects.filter(created_by=self.request.user)


class DocumentRemove(LoginRequiredMixin, UserPassesTestMixin, DeleteView):
    model = Document

    def test_func(self):
        return self.get_object().created_by == self.request.user


@method_decorator(permission_required("documents.delete_folder"), name="dispatch")
@method_decorator(login_required, name="dispatch")
class FolderPurge(DeleteView):
    model = Folder


class LicensePage(LoginRequiredMixin, DetailView):
    model = License


class PublicDocumentPage(DetailView):
    model = Document
