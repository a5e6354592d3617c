"""DRF views scoped the way multi-tenant Django projects scope them."""

from django.forms import modelformset_factory
from django.shortcuts import get_object_or_404, render
from rest_framework import generics, viewsets
from rest_framework.response import Response

from documents.models import Document, Folder
from documents.serializers import DocumentSerializer, FolderSerializer


class FolderDocumentsAPI(generics.ListAPIView):
    # Checked by the project's permission mixin against the caller's organisation.
    permission_required = "documents.view_document"
    serializer_class = DocumentSerializer
    queryset = Document.objects.all()


class OrganizerFoldersViewSet(viewsets.ModelViewSet):
    serializer_class = FolderSerializer
    queryset = Folder.objects.none()

    def get_queryset(self):
        # The organiser is resolved and authorised by middleware from the token.
        return Folder.objects.filter(owner__organizer=self.request.organizer)


class FolderMemberAPI(generics.RetrieveAPIView):
    serializer_class = FolderSerializer
    queryset = Folder.objects.none()

    def get_queryset(self):
        return Folder.objects.filter(owner=self.request.user)

    def get(self, request, pk, user_pk):
        folder = get_object_or_404(self.get_queryset(), owner=user_pk)
        self.check_object_permissions(request, folder)
        return Response(FolderSerializer(folder).data)


def bulk_new_documents(request):
    formset_class = modelformset_factory(Document, fields=["title"])
    formset = formset_class(request.POST or None, queryset=Document.objects.none())
    if request.method == "POST" and formset.is_valid():
        for form in formset:
            form.instance.created_by = request.user
        formset.save()
    return render(request, "documents/bulk.html", {"formset": formset})
